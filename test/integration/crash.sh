#!/usr/bin/env bash
# Crash: the soak workload on a cluster of its own, the postmaster and every
# server process killed with SIGKILL in the middle of it, the cluster started
# again (crash recovery replays the WAL), then the invariants over every
# session and event and every create a client saw acknowledged: each id
# pgbench wrote to its file after the commit returned must be there.  The
# workload then runs again on the recovered cluster and everything is
# checked once more.
#
# CRASH_CLIENTS (4), CRASH_SECONDS (12: the crash comes half-way), CRASHES (1)
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

clients=${CRASH_CLIENTS:-4}
seconds=${CRASH_SECONDS:-12}
rounds=${CRASHES:-1}
db=agent_sessions_crash
dir=$(mktemp -d /tmp/agent_sessions-crash.XXXXXX)
work=$(mktemp -d)
cleanup() {
	"$rel_top/scripts/cluster.sh" stop "$dir" || true
	rm -rf "$dir" "$work"
}
trap cleanup EXIT

# cluster.sh stages PostgreSQL and makes the cluster; the postmaster itself
# runs as a child of this script, so that once killed it is reaped at once
# (an init that reaps late would leave it looking alive to pg_ctl and to
# the socket lock file, and the restart would be refused).
"$rel_top/scripts/cluster.sh" start "$dir"
"$rel_top/scripts/cluster.sh" stop "$dir"
bin=$(dirname "$(find "$dir/pg" -path '*/bin/postgres' | head -n 1)")
export PGHOST=$dir PGPORT=5432 PGUSER=postgres

start_server() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$bin/postgres" -D "$dir/data" >>"$dir/server.log" 2>&1 &
	else
		"$bin/postgres" -D "$dir/data" >>"$dir/server.log" 2>&1 &
	fi
	rel_wait_ready
}
start_server
rel_fresh_db "$db"
rel_soak_setup "$db"

# The state letter of process $1 (R, S, D, Z, ...), empty when it is gone
state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# The ids of the children of process $1
children_of() {
	local status
	for status in /proc/[0-9]*/status; do
		if grep -q "^PPid:[[:space:]]*$1\$" "$status" 2>/dev/null; then
			basename "$(dirname "$status")"
		fi
	done
}

# kill -9 the postmaster, then its remaining children, by their ids
crash() {
	local pm children pid alive
	pm=$(head -n 1 "$dir/data/postmaster.pid")
	children=$(children_of "$pm")
	kill -KILL "$pm"
	for pid in $children; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	echo "killed the postmaster ($pm) and $(echo $children | wc -w) server processes with SIGKILL"

	# wait until they are gone (the children may stay unreaped zombies)
	for _ in $(seq 1 60); do
		alive=0
		for pid in $pm $children; do
			case "$(state "$pid")" in
			"" | Z) ;;
			*) alive=1 ;;
			esac
		done
		[ "$alive" -eq 0 ] && [ -z "$(state "$pm")" ] && break
		sleep 0.5
	done
	if [ -n "$(state "$pm")" ]; then
		echo "the killed postmaster is still there"
		return 1
	fi
}

ok=0
for round in $(seq 1 "$rounds"); do
	echo "crash $round of $rounds: $clients clients for $seconds s, SIGKILL after $((seconds / 2)) s"
	rel_workload "$db" "$clients" "$seconds" "$work/acks" "$work/pgbench-$round.log" &
	bench=$!
	sleep $((seconds / 2))
	crash
	wait "$bench" || true          # its clients lost their server: expected
	echo "operations before the crash: $(rel_workload_summary "$work/pgbench-$round.log")"

	start_server
	recoveries=$(grep -c 'database system was not properly shut down; automatic recovery in progress' "$dir/server.log" || true)
	if [ "$recoveries" -ne "$round" ]; then
		echo "the restart did not go through crash recovery"
		ok=1
	else
		echo "crash recovery: $(grep -o 'redo done at [0-9A-F/]*' "$dir/server.log" | tail -n 1)"
	fi
	echo "after restart:"
	rel_check "$db" "$work/acks" || ok=1
done

echo "after the crashes, $clients clients for 5 s more:"
status=0
rel_workload "$db" "$clients" 5 "$work/acks" "$work/pgbench-after.log" || status=$?
if [ "$status" -ne 0 ]; then
	echo "pgbench failed on the recovered cluster (exit $status)"
	grep -E 'error|abort' "$work/pgbench-after.log" "$work/pgbench-after.log.waiters" | head -n 20
	ok=1
fi
echo "operations: $(rel_workload_summary "$work/pgbench-after.log")"
rel_check "$db" "$work/acks" || ok=1
crashes=$(rel_crash_count "$dir")
echo "crashed backends: $crashes"
[ "$ok" -eq 0 ] && [ "$crashes" -eq 0 ]
