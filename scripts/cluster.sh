#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for agent_sessions.
#
#   scripts/cluster.sh start DIR [name=value ...]   stage, initdb (once), start
#   scripts/cluster.sh stop DIR                     fast shutdown
#   scripts/cluster.sh env DIR                      print the libpq variables
#
# DIR receives a private copy of the installed PostgreSQL 15 tree with this
# extension installed into it (PostgreSQL finds its share and lib directories
# relative to its own binaries), the data directory, the server log and the
# socket.  Nothing is installed into the system and nothing listens on TCP,
# so several clusters can run side by side.  As root the server runs as the
# "postgres" user.  Extra arguments are appended to postgresql.conf.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
cmd=${1:?usage: cluster.sh start|stop|env DIR}
dir=${2:?usage: cluster.sh start|stop|env DIR}
shift 2

pg_bindir=$(pg_config --bindir)
pg_libdir=$(dirname "$pg_bindir")            # /usr/lib/postgresql/15
pg_sharedir=$(pg_config --sharedir)          # /usr/share/postgresql/15
stage="$dir/pg"
bin="$stage$pg_bindir"

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

print_env() {
	echo "export PGHOST='$dir' PGPORT=5432 PGUSER=postgres"
}

start() {
	mkdir -p "$dir"
	chmod 755 "$dir"
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi

	# Stage a fresh copy of PostgreSQL with the current build installed.
	rm -rf "$stage"
	mkdir -p "$stage$(dirname "$pg_libdir")" "$stage$(dirname "$pg_sharedir")"
	cp -a "$pg_libdir" "$stage$(dirname "$pg_libdir")/"
	cp -a "$pg_sharedir" "$stage$(dirname "$pg_sharedir")/"
	make -C "$top" --no-print-directory -s install DESTDIR="$stage" >/dev/null
	if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$stage"; fi

	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$dir/data/postgresql.conf" <<CONF

# agent_sessions private cluster
listen_addresses = ''
port = 5432
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron,agent_sessions'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
max_connections = 200
log_min_messages = warning
CONF
		for setting in "$@"; do
			echo "$setting" >>"$dir/data/postgresql.conf"
		done
	fi

	if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	fi
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$dir/server.log" >&2; exit 1; }
}

stop() {
	[ -d "$dir/data" ] || return 0
	if [ -x "$bin/pg_ctl" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	else
		as_owner "$pg_bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

case "$cmd" in
start) start "$@" ;;
stop) stop ;;
env) print_env ;;
*) echo "usage: cluster.sh start|stop|env DIR" >&2; exit 2 ;;
esac
