#!/usr/bin/env bash
# make test: every suite against a throwaway cluster, torn down on any exit.
#
#   1. pg_regress (test/sql) and isolation (test/specs) through make installcheck
#   2. pgTAP (test/pgtap) through pg_prove
#   3. integration suites (test/integration/*.sh), which commit, restart or
#      connect as several roles
#
# Ends with one line "N passed, M failed" counting test files and suites.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
cd "$top"

dir=$(mktemp -d /tmp/agent_sessions-test.XXXXXX)
cleanup() {
	"$here/cluster.sh" stop "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
failures=()

note() { printf '\n== %s ==\n' "$*"; }

note "starting a throwaway PostgreSQL 15 in $dir"
if ! "$here/cluster.sh" start "$dir"; then
	echo "0 passed, 1 failed"
	exit 1
fi
export PGHOST="$dir" PGPORT=5432 PGUSER=postgres
export AGENT_SESSIONS_TEST_DIR="$dir"

# 1. pg_regress and isolation
if [ -n "$(ls test/sql/*.sql test/specs/*.spec 2>/dev/null)" ]; then
	note "pg_regress and isolation"
	rm -rf results output_iso regression.diffs regression.out
	make --no-print-directory -s installcheck >"$dir/installcheck.log" 2>&1
	status=$?
	cat "$dir/installcheck.log"
	ok=$(grep -cE '\.\.\. ok( |$)' "$dir/installcheck.log" || true)
	bad=$(grep -cE '\.\.\. (FAILED|failed)' "$dir/installcheck.log" || true)
	if [ "$status" -ne 0 ] || [ "$bad" -gt 0 ]; then
		[ -f regression.diffs ] && cat regression.diffs
		[ "$bad" -eq 0 ] && bad=1
		failures+=("pg_regress/isolation ($bad)")
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
fi

# 2. pgTAP
if [ -n "$(ls test/pgtap/*.sql 2>/dev/null)" ]; then
	note "pgTAP"
	psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS agent_sessions_tap' \
		-c 'CREATE DATABASE agent_sessions_tap' >/dev/null
	for f in test/pgtap/*.sql; do
		if pg_prove -d agent_sessions_tap --ext .sql "$f"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			failures+=("$f")
		fi
	done
fi

# 3. integration suites
for f in test/integration/*.sh; do
	[ -e "$f" ] || continue
	note "integration: $f"
	if bash "$f"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$f")
	fi
done

if grep -q 'terminated by signal' "$dir/server.log" 2>/dev/null; then
	note "the server log records a crashed backend"
	grep -B2 -A5 'terminated by signal' "$dir/server.log"
	failed=$((failed + 1))
	failures+=("server crash")
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
