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

"$rel_top/scripts/cluster.sh" start "$dir"
export PGHOST=$dir PGPORT=5432 PGUSER=postgres
rel_fresh_db "$db"
rel_soak_setup "$db"

# kill -9 the postmaster, then its remaining children, by their ids
crash() {
	local pm children
	pm=$(head -n 1 "$dir/data/postmaster.pid")
	children=$(ps -o pid= --ppid "$pm" || true)
	kill -KILL "$pm"
	for pid in $children; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	echo "killed the postmaster ($pm) and $(echo $children | wc -w) server processes with SIGKILL"

	# wait until they are gone (or dead but not yet reaped)
	for _ in $(seq 1 60); do
		alive=0
		for pid in $pm $children; do
			case "$(ps -o stat= -p "$pid" 2>/dev/null)" in
			"" | Z*) ;;
			*) alive=1 ;;
			esac
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.5
	done
	# An init that has not reaped the dead postmaster yet leaves its pid
	# alive to kill(pid, 0), and pg_ctl would take the cluster for running:
	# drop the stale pid file then, as an administrator would.
	if [ -n "$(ps -o stat= -p "$pm" 2>/dev/null)" ]; then
		echo "the dead postmaster is not reaped yet: removing its stale postmaster.pid"
		rm -f "$dir/data/postmaster.pid"
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

	"$rel_top/scripts/cluster.sh" start "$dir"
	rel_wait_ready
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
	grep -E 'error|abort' "$work/pgbench-after.log" | head -n 20
	ok=1
fi
echo "operations: $(rel_workload_summary "$work/pgbench-after.log")"
rel_check "$db" "$work/acks" || ok=1
crashes=$(rel_crash_count "$dir")
echo "crashed backends: $crashes"
[ "$ok" -eq 0 ] && [ "$crashes" -eq 0 ]
