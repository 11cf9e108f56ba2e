#!/usr/bin/env bash
# A real pg_cron job, made by schedule_sweep(), fails a stale session.
#
#   1. In the cron database ("postgres"): schedule_sweep() makes the job
#      agent_sessions_sweep; scheduling again replaces it.  It refuses a
#      role that could not run the sweep or would see no sessions.
#   2. From another database, schedule_sweep() refuses with a hint; the
#      statement in the hint, run in the cron database, schedules a job that
#      sweeps that other database.
#   3. Within about two minutes both stale sessions are failed with
#      end_reason inactivity_timeout, and cron.job_run_details records the
#      runs as succeeded.  (The sweep's effect is what counts: pg_cron can
#      record success for a statement that did not do its work.)
#   4. unschedule_sweep() removes the job, and a second call finds nothing.
#   5. A server without pg_cron: schedule_sweep() raises a clear error and
#      unschedule_sweep() returns false.
#
# Everything made here is removed again: the jobs and their run records, the
# other database, and the extensions this script created.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
other_db=agent_sessions_cron_other
nocron_dir=
jobids=()

q() {	# q DB SQL: one value, unaligned
	psql -X -v ON_ERROR_STOP=1 -qtA -d "$1" -c "$2"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

had_cron=$(q postgres "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")
had_agent_sessions=$(q postgres "SELECT count(*) FROM pg_extension WHERE extname = 'agent_sessions'")

cleanup() {
	set +e
	if [ "$(q postgres "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" = 1 ]; then
		q postgres "SELECT cron.unschedule(jobid) FROM cron.job
		             WHERE jobname IN ('agent_sessions_sweep', 'agent_sessions_sweep_$other_db')" >/dev/null
		for id in "${jobids[@]}"; do
			q postgres "DELETE FROM cron.job_run_details WHERE jobid = $id" >/dev/null
		done
	fi
	q postgres "DROP DATABASE IF EXISTS $other_db" >/dev/null
	q postgres "DROP OWNED BY agent_sessions_cron_tenant; DROP ROLE agent_sessions_cron_tenant" >/dev/null 2>&1
	q postgres "DELETE FROM agent_sessions.sessions WHERE agent_id = 'cron_sweep_test'" >/dev/null 2>&1
	[ "$had_agent_sessions" = 0 ] && q postgres "DROP EXTENSION IF EXISTS agent_sessions" >/dev/null
	[ "$had_cron" = 0 ] && q postgres "DROP EXTENSION IF EXISTS pg_cron" >/dev/null
	if [ -n "$nocron_dir" ]; then
		"$top/scripts/cluster.sh" stop "$nocron_dir"
		rm -rf "$nocron_dir"
	fi
}
trap cleanup EXIT

# a running session with a one-second inactivity timeout, quiet for two
stale_session() {
	q "$1" "SELECT (agent_sessions.start_session((agent_sessions.create_session(
	            user_id => 'cron', agent_id => 'cron_sweep_test',
	            inactivity_timeout => '1 second')).id)).id"
}

q postgres "CREATE EXTENSION IF NOT EXISTS agent_sessions" >/dev/null

# without pg_cron in this database, scheduling says what is missing
if [ "$had_cron" = 0 ]; then
	out=$(q postgres "SELECT agent_sessions.schedule_sweep()" 2>&1) && fail "scheduled without pg_cron"
	grep -q 'pg_cron is not installed in database "postgres"' <<<"$out" || fail "unexpected error: $out"
	[ "$(q postgres "SELECT agent_sessions.unschedule_sweep()")" = f ] || fail "unschedule without pg_cron"
	q postgres "CREATE EXTENSION pg_cron" >/dev/null
fi

# 1. the job in the cron database, scheduled twice: one job
here_id=$(stale_session postgres)
jobid=$(q postgres "SELECT agent_sessions.schedule_sweep('*/5 * * * *')")
jobids+=("$jobid")
again=$(q postgres "SELECT agent_sessions.schedule_sweep('* * * * *')")
[ "$again" = "$jobid" ] || fail "scheduling again made job $again besides $jobid"
job=$(q postgres "SELECT schedule || '|' || command || '|' || database FROM cron.job
                   WHERE jobname = 'agent_sessions_sweep'")
[ "$job" = '* * * * *|SELECT * FROM agent_sessions.sweep()|postgres' ] || fail "job is: $job"
echo "job $jobid: $job"

# a role that may not run sweep(), then one that row-level security limits
q postgres "CREATE ROLE agent_sessions_cron_tenant;
            GRANT USAGE ON SCHEMA cron TO agent_sessions_cron_tenant;
            GRANT EXECUTE ON FUNCTION agent_sessions.schedule_sweep(text) TO agent_sessions_cron_tenant" >/dev/null
out=$(q postgres "SET ROLE agent_sessions_cron_tenant; SELECT agent_sessions.schedule_sweep()" 2>&1) &&
	fail "scheduled for a role without EXECUTE on sweep()"
grep -q 'which may not execute agent_sessions.sweep()' <<<"$out" || fail "unexpected error: $out"
q postgres "GRANT EXECUTE ON FUNCTION agent_sessions.sweep(integer, integer, boolean)
            TO agent_sessions_cron_tenant" >/dev/null
out=$(q postgres "SET ROLE agent_sessions_cron_tenant; SELECT agent_sessions.schedule_sweep()" 2>&1) &&
	fail "scheduled for a role under row-level security"
grep -q 'for which row-level security hides the sessions' <<<"$out" || fail "unexpected error: $out"
q postgres "REVOKE ALL ON FUNCTION agent_sessions.sweep(integer, integer, boolean),
                               agent_sessions.schedule_sweep(text) FROM agent_sessions_cron_tenant;
            REVOKE ALL ON SCHEMA cron FROM agent_sessions_cron_tenant;
            DROP ROLE agent_sessions_cron_tenant" >/dev/null

# 2. another database: the error's hint, run in the cron database
q postgres "CREATE DATABASE $other_db" >/dev/null
q "$other_db" "CREATE EXTENSION agent_sessions" >/dev/null
there_id=$(stale_session "$other_db")
out=$(psql -X -qtA -v VERBOSITY=default -d "$other_db" -c "SELECT agent_sessions.schedule_sweep()" 2>&1) &&
	fail "scheduled from a database that is not the cron database"
hint=$(sed -n 's/^HINT:  In database "postgres", run as a superuser: //p' <<<"$out")
[ -n "$hint" ] || fail "no hint in: $out"
echo "hint: $hint"
other_jobid=$(q postgres "$hint")
jobids+=("$other_jobid")
[ "$(q postgres "SELECT database FROM cron.job WHERE jobid = $other_jobid")" = "$other_db" ] ||
	fail "the hinted job does not run in $other_db"

# 3. wait for a run of each job to fail its database's stale session
sleep 2
state() {
	q "$1" "SELECT status || '/' || coalesce(end_reason, '') || '/' || coalesce(error ->> 'type', '')
	          FROM agent_sessions.sessions WHERE id = '$2'"
}
succeeded() {
	q postgres "SELECT count(*) FROM cron.job_run_details WHERE jobid = $1 AND status = 'succeeded'"
}
deadline=$((SECONDS + 130))
while :; do
	here_state=$(state postgres "$here_id")
	there_state=$(state "$other_db" "$there_id")
	if [ "$here_state" = failed/inactivity_timeout/timeout ] &&
		[ "$there_state" = failed/inactivity_timeout/timeout ] &&
		[ "$(succeeded "$jobid")" -gt 0 ] && [ "$(succeeded "$other_jobid")" -gt 0 ]; then
		break
	fi
	if [ $SECONDS -ge $deadline ]; then
		q postgres "SELECT jobid, status, return_message FROM cron.job_run_details
		             WHERE jobid IN ($jobid, $other_jobid)" >&2
		fail "after 130 s: postgres $here_state, $other_db $there_state"
	fi
	sleep 5
done
echo "swept by pg_cron: postgres $here_state, $other_db $there_state"
q postgres "SELECT 'event: ' || from_status || ' -> ' || to_status || ' (' || reason || ')'
              FROM agent_sessions.session_events WHERE session_id = '$here_id' AND to_status = 'failed'"

# 4. unscheduling, twice
[ "$(q postgres "SELECT agent_sessions.unschedule_sweep()")" = t ] || fail "unschedule_sweep() found no job"
[ "$(q postgres "SELECT agent_sessions.unschedule_sweep()")" = f ] || fail "second unschedule_sweep() not false"
out=$(psql -X -qtA -v VERBOSITY=default -d "$other_db" -c "SELECT agent_sessions.unschedule_sweep()" 2>&1) &&
	fail "unscheduled from a database that is not the cron database"
hint=$(sed -n 's/^HINT:  In database "postgres", run as a superuser: //p' <<<"$out")
[ "$(q postgres "$hint")" = t ] || fail "the unschedule hint removed nothing: $hint"
[ "$(q postgres "SELECT count(*) FROM cron.job WHERE jobid IN ($jobid, $other_jobid)")" = 0 ] ||
	fail "jobs left in cron.job"

# 5. a server without pg_cron
nocron_dir=$(mktemp -d /tmp/agent_sessions-nocron.XXXXXX)
"$top/scripts/cluster.sh" start "$nocron_dir" "shared_preload_libraries = 'agent_sessions'"
out=$(PGHOST=$nocron_dir psql -X -qtA -v VERBOSITY=default -d postgres \
	-c "CREATE EXTENSION agent_sessions" -c "SELECT agent_sessions.schedule_sweep()" 2>&1) &&
	fail "scheduled without pg_cron"
grep -q 'ERROR:  pg_cron is not available' <<<"$out" || fail "unexpected error: $out"
grep -q 'HINT:  Add pg_cron to shared_preload_libraries' <<<"$out" || fail "no hint: $out"
[ "$(PGHOST=$nocron_dir q postgres "SELECT agent_sessions.unschedule_sweep()")" = f ] ||
	fail "unschedule_sweep() without pg_cron is not false"

echo "cron_sweep: ok"
