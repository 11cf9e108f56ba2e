#!/usr/bin/env bash
# Long poll: wake latency from the writer's COMMIT returning to the waiter's
# row arriving, and the CPU that 50 idle waiters use; with the library
# preloaded (latch wake-ups, the cluster in PGHOST), without it (the polling
# fallback, an extra cluster started here) and in plain SQL (a PL/pgSQL loop
# polling every 100 ms, as pgmq's read_with_poll does).
#
# Env: PGHOST/PGPORT/PGUSER of a cluster with agent_sessions preloaded;
# BENCH_QUICK=1 for a reduced run.  Prints
#   RESULT|wait|<metric>|<value>|<unit>|<plain SQL value>|<value / plain>
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
db=bench_wait

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	wakes=200 poll_wakes=20 plain_wakes=40 cpu_seconds=3
else
	wakes=1000 poll_wakes=60 plain_wakes=120 cpu_seconds=5
fi
# A polling wait's latency depends on where in its backoff the write lands,
# so the polling fallback's writes come at a random point of the first
# second (its sleeps double from 10 ms to 500 ms, reached 1.13 s in); the
# plain loop sleeps 100 ms every time, so a random point of its first
# 200 ms is as good; a latch wait does not care, and its writes come
# within 5 ms.
poll_delay_ms=1000 plain_delay_ms=200 latch_delay_ms=5
idle_waiters=50

work=$(mktemp -d /tmp/agent_sessions-bench-wait.XXXXXX)
chmod 755 "$work"
main_host=$PGHOST
poll_dir=$work/no-preload
cleanup() {
	"$top/scripts/cluster.sh" stop "$poll_dir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

bin=$work/wait_latency
cc -O2 -Wall -I"$(pg_config --includedir)" -o "$bin" "$here/../wait_latency.c" \
	-L"$(pg_config --libdir)" -lpq

setup_db() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION agent_sessions;
-- the same wait written in plain SQL: re-read, sleep 100 ms, repeat
CREATE FUNCTION public.plain_wait(id uuid, timeout_s integer, since_version bigint)
RETURNS agent_sessions.sessions
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
    s agent_sessions.sessions;
BEGIN
    LOOP
        SELECT * INTO s FROM agent_sessions.sessions AS x WHERE x.id = plain_wait.id;
        EXIT WHEN s.version > since_version OR clock_timestamp() >= deadline;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN s;
END $$;
SQL
}

field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p"; }

result() {	# metric value unit twin
	local ratio=-
	if [ "$4" != - ] && awk -v t="$4" 'BEGIN { exit !(t > 0) }'; then
		ratio=$(awk -v v="$2" -v t="$4" 'BEGIN { printf "%.3f", v / t }')
	fi
	echo "RESULT|wait|$1|$2|$3|$4|$ratio"
}

export PGDATABASE=$db

# preloaded, and its plain-SQL twin on the same cluster
if ! psql -X -A -t -d postgres -c "SHOW shared_preload_libraries" | grep -q agent_sessions; then
	echo "60_wait: the cluster in PGHOST must preload agent_sessions" >&2
	exit 1
fi
setup_db
latch_cpu=$("$bin" idle-cpu -n "$idle_waiters" -s "$cpu_seconds")
plain_cpu=$("$bin" idle-cpu -n "$idle_waiters" -s "$cpu_seconds" -f public.plain_wait)
latch=$("$bin" latency -n "$wakes" -d "$latch_delay_ms")
plain=$("$bin" latency -n "$plain_wakes" -d "$plain_delay_ms" -f public.plain_wait)
echo "preloaded:    $latch" >&2
echo "plain SQL:    $plain" >&2
psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null

# not preloaded: the polling fallback
"$top/scripts/cluster.sh" start "$poll_dir" "shared_preload_libraries = 'pg_cron'" >/dev/null
export PGHOST=$poll_dir PGPORT=5432
setup_db
poll_cpu=$("$bin" idle-cpu -n "$idle_waiters" -s "$cpu_seconds")
poll=$("$bin" latency -n "$poll_wakes" -d "$poll_delay_ms")
echo "not preloaded: $poll" >&2
"$top/scripts/cluster.sh" stop "$poll_dir" >/dev/null
export PGHOST=$main_host

p50() { field p50_ms <<<"$1"; }
p99() { field p99_ms <<<"$1"; }
cpu() { field cpu_ms_per_s <<<"$1"; }

echo "TITLE|wait|6. wait_for_session wake latency and idle waiters' CPU"
result wake_latency_p50 "$(p50 "$latch")" ms "$(p50 "$plain")"
result wake_latency_p99 "$(p99 "$latch")" ms "$(p99 "$plain")"
result wake_latency_p50_no_preload "$(p50 "$poll")" ms "$(p50 "$plain")"
result wake_latency_p99_no_preload "$(p99 "$poll")" ms "$(p99 "$plain")"
result idle_cpu_50_waiters "$(cpu "$latch_cpu")" ms_cpu_per_s "$(cpu "$plain_cpu")"
result idle_cpu_50_waiters_no_preload "$(cpu "$poll_cpu")" ms_cpu_per_s "$(cpu "$plain_cpu")"
echo "NOTE|wait|Wake latency: from the writer's heartbeat() returning to the waiter's wait_for_session() row arriving, both seen by one client (bench/wait_latency.c; 0 when the row came first); $wakes wakes with agent_sessions preloaded (each write within ${latch_delay_ms} ms of the waiter falling asleep), $poll_wakes with the polling fallback (an extra cluster without the preload; each write at a random point of the wait's first ${poll_delay_ms} ms, over its backoff from 10 ms to 500 ms) and $plain_wakes with the plain PL/pgSQL loop that reads the row every 100 ms (public.plain_wait; each write at a random point of its first ${plain_delay_ms} ms). The plain SQL column is that loop in every row."
echo "NOTE|wait|Idle CPU: $idle_waiters connections wait on a session that does not change; once all sleep and a polling wait has backed off to its longest interval (2 s), the CPU time of their backends over ${cpu_seconds} s (/proc/<pid>/schedstat), per second."
