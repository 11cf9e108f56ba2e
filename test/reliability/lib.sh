# Shared by the reliability suites (test/integration/*.sh, scripts/soak.sh).
# Source it; it expects PGHOST, PGPORT and PGUSER to point at a cluster.

rel_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rel_dir="$rel_top/test/reliability"

# psql that stops at the first error and prints nothing it was not asked for
rel_psql() {
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# a fresh database with nothing in it
rel_fresh_db() {
	rel_psql -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

# The number of crashed backends the server log of cluster directory $1 records
rel_crash_count() {
	grep -c 'terminated by signal' "$1/server.log" 2>/dev/null || true
}

# Wait until the server accepts connections again (after a crash restart)
rel_wait_ready() {
	local i
	for i in $(seq 1 120); do
		if psql -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "the server did not come back within 60 s" >&2
	return 1
}

# rel_soak_setup DB: the soak's client-side helpers, and short timeouts so
# the sweep has work
rel_soak_setup() {
	rel_psql -d "$1" -f "$rel_dir/soak_setup.sql"
	rel_psql -d postgres \
		-c "ALTER DATABASE $1 SET agent_sessions.inactivity_timeout = '5s'" \
		-c "ALTER DATABASE $1 SET agent_sessions.start_timeout = '5s'" \
		-c "ALTER DATABASE $1 SET agent_sessions.heartbeat_granularity = '100ms'"
}

# rel_workload DB CLIENTS SECONDS ACKFILE LOG: the mixed workload with
# pgbench: CLIENTS clients racing on the same sessions, and beside them one
# client in four (at least one) that only waits on those sessions, with its
# own log in LOG.waiters.  A wait blocks its client for up to a second, so
# taking turns in the mix it would leave the racing clients idle most of the
# time.  Returns non-zero when either pgbench failed.
rel_workload() {
	local db=$1 clients=$2 seconds=$3 ackfile=$4 log=$5
	local w="$rel_dir/workload"
	local jobs=$((clients < 2 ? clients : 2))
	local waiters=$(((clients + 3) / 4))
	local waiting status=0 waited=0

	pgbench -n -c "$waiters" -j 1 -T "$seconds" -f "$w/wait.pgbench" \
		"$db" >"$log.waiters" 2>&1 &
	waiting=$!
	pgbench -n -c "$clients" -j "$jobs" -T "$seconds" -D ackfile="$ackfile" \
		-f "$w/create.pgbench@20" -f "$w/beat.pgbench@35" -f "$w/move.pgbench@30" \
		-f "$w/cancel.pgbench@4" -f "$w/sweep.pgbench@2" \
		"$db" >"$log" 2>&1 || status=$?
	wait "$waiting" || waited=$?
	[ "$status" -ne 0 ] || status=$waited
	return "$status"
}

# rel_workload_summary LOG: the per-script transaction counts pgbench printed
# (LOG, then the waiters' LOG.waiters)
rel_workload_summary() {
	{
		sed -n 's/^SQL script [0-9]*: .*\/\([a-z]*\)\.pgbench$/\1/p;
		        s/^ - \([0-9]*\) transactions .*/\1/p' "$1"
		if [ -f "$1.waiters" ]; then
			echo wait
			sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1.waiters" |
				grep . || echo 0
		fi
	} | paste -d' ' - - |
		awk '{ printf "%s %s, ", $1, $2; total += $2 } END { printf "total %d\n", total }'
}

# rel_check DB [ACKFILE]: the invariants over every session and event, and
# every acknowledged create (the soak.ack table and, when given, the ids the
# clients wrote to ACKFILE after their commits returned).  Prints the
# violations and a summary; returns non-zero when there is any.
rel_check() {
	local db=$1 ackfile=${2:-}
	local out violations missing_table missing_file=0 acked=0

	out=$(psql -X -At -F ' | ' -d "$db" -f "$rel_dir/invariants.sql") || return 1
	violations=$(printf '%s' "$out" | grep -c . || true)
	if [ "$violations" -gt 0 ]; then
		echo "invariant violations:"
		printf '%s\n' "$out" | head -n 50
	fi

	missing_table=$(psql -X -At -d "$db" -c \
		"SELECT count(*) FROM soak.ack a WHERE NOT EXISTS (SELECT FROM agent_sessions.sessions s WHERE s.id = a.id)")
	if [ -n "$ackfile" ] && [ -f "$ackfile" ]; then
		acked=$(grep -E '^[0-9a-f-]{36}$' "$ackfile" | sort -u | wc -l)
		missing_file=$(grep -E '^[0-9a-f-]{36}$' "$ackfile" | sort -u |
			psql -X -At -d "$db" -c "CREATE TEMP TABLE seen (id uuid)" \
				-c "\\copy seen FROM pstdin" \
				-c "SELECT count(*) FROM seen WHERE NOT EXISTS (SELECT FROM agent_sessions.sessions s WHERE s.id = seen.id)" |
			tail -n 1)
	fi

	psql -X -At -d "$db" -c "SELECT format('sessions %s (%s), events %s, PT409 caught %s, PT404 caught %s, sweeps %s, waits %s',
		(SELECT count(*) FROM agent_sessions.sessions),
		(SELECT string_agg(status || ' ' || n, ', ' ORDER BY status)
		   FROM (SELECT status, count(*) AS n FROM agent_sessions.sessions GROUP BY status) AS c),
		(SELECT count(*) FROM agent_sessions.session_events),
		(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.conflicts),
		(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.not_found),
		(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.sweeps),
		(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.waits))"
	echo "acknowledged creates: $acked sessions seen by clients, $missing_file of them missing; $missing_table missing from the ack table"
	echo "invariant violations: $violations"

	[ "$violations" -eq 0 ] && [ "$missing_table" -eq 0 ] && [ "$missing_file" -eq 0 ]
}
