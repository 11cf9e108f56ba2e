# agent_sessions: PGXS build, plus the project's run/test/bench targets.
EXTENSION    = agent_sessions
EXTVERSION   = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)
MODULE_big   = $(EXTENSION)
OBJS         = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is assembled from one fragment
# per concern (sql/install/NN_*.sql).  Released install scripts and the
# upgrade steps between versions (agent_sessions--A--B.sql) are committed
# as they shipped and never edited.
CURRENT_SCRIPT = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA_built   = $(CURRENT_SCRIPT)
DATA         = $(filter-out $(CURRENT_SCRIPT),$(wildcard sql/$(EXTENSION)--*.sql))
DOCS         = README.md

PG_CPPFLAGS  = -I$(srcdir)/src
PG_CFLAGS    = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(EXTRA_CFLAGS)

# pg_regress: test/sql/*.sql -> expected/*.out; isolation: test/specs/*.spec -> expected/*.out
REGRESS        = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS   = --inputdir=test --load-extension=$(EXTENSION)
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config
PGXS := $(shell command -v $(PG_CONFIG) >/dev/null 2>&1 && $(PG_CONFIG) --pgxs)
ifneq ($(PGXS),)
include $(PGXS)
endif

$(CURRENT_SCRIPT): $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

.PHONY: deps run stop test bench soak

# Install the Debian packages the project needs (as root), or print the command.
deps:
	@scripts/deps.sh

# Build, install into a private copy of PostgreSQL 15, start it, show a demo.
run: deps
	@$(MAKE) --no-print-directory -s all
	@scripts/run.sh start

stop:
	@scripts/run.sh stop

# Every suite on a throwaway cluster; the build is warning-free or fails.
test: deps
	@$(MAKE) --no-print-directory -s clean >/dev/null
	@$(MAKE) --no-print-directory -s all EXTRA_CFLAGS=-Werror
	@scripts/test.sh

bench: deps
	@$(MAKE) --no-print-directory -s all
	@BENCH_QUICK="$(QUICK)" BENCH_CASES="$(CASES)" bench/run.sh

soak: deps
	@$(MAKE) --no-print-directory -s all
	@scripts/soak.sh
