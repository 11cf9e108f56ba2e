#!/usr/bin/env bash
# wait_for_session across sessions: woken by another session's commit, with
# the library preloaded (latch wake-ups, waiter table, cap) and without it
# (polling).  Waiters run as background psql processes; sleeps and polls
# only order events, and the one duration checked is the timeout (±1 s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
db=wait_integration
work=$(mktemp -d /tmp/agent_sessions-wait-it.XXXXXX)
extra=()
failures=0

cleanup() {
	local d
	for d in "${extra[@]}"; do "$top/scripts/cluster.sh" stop "$d" || true; rm -rf "$d"; done
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# Start a background waiter named $1 running the SQL $2; output in $work/$1.
start_waiter() {
	PGAPPNAME=$1 psql -X -A -t -q -v VERBOSITY=sqlstate -d "$db" <<<"$2" \
		>"$work/$1" 2>&1 &
	echo $! >"$work/$1.pid"
}

# Until the waiter named $1 sleeps in the wait (at most 20 s).
await_sleeping() {
	local i
	for i in $(seq 200); do
		[ "$(q -c "SELECT count(*) FROM pg_stat_activity
		            WHERE application_name = '$1' AND wait_event_type = 'Extension'")" = 1 ] && return 0
		sleep 0.1
	done
	fail "$1 never started waiting: $(cat "$work/$1")"
}

# Whether the waiter named $1 holds a slot of the waiter table.
registered() {
	q -c "SELECT count(*) FROM agent_sessions.waiters() w
	        JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '$1'"
}

# Until the waiter named $1 has returned (at most $2 s, well under its own
# timeout, so a wait that was not woken fails here).
await_return() {
	local pid i
	pid=$(cat "$work/$1.pid")
	for i in $(seq $(($2 * 10))); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; return 0; }
		sleep 0.1
	done
	fail "$1 was not woken within $2 s"
	return 1
}

still_waiting() {
	kill -0 "$(cat "$work/$1.pid")" 2>/dev/null
}

expect_output() {
	local got
	got=$(cat "$work/$1")
	if [ "$got" = "$2" ]; then pass "$3"; else fail "$3: expected '$2', got '$got'"; fi
}

# Waiter $1 runs $2 and holds a slot of the waiter table while it sleeps;
# committing $3 must wake it with the output $4 (test name $5).
woken_by() {
	start_waiter "$1" "$2"
	await_sleeping "$1"
	[ "$(registered "$1")" = 1 ] || fail "$1 holds no slot"
	q -c "$3" >/dev/null
	await_return "$1" 30 && expect_output "$1" "$4" "$5"
}

new_session() {	# $1: busy | idle | completed; prints id and version
	case "$1" in
	busy) q -c "SELECT id || ' ' || version FROM agent_sessions.start_session(
	                (agent_sessions.create_session(user_id => 'u', prompt => 'p')).id)" ;;
	idle) q -c "SELECT id || ' ' || version FROM agent_sessions.heartbeat(
	                (agent_sessions.start_session(
	                    (agent_sessions.create_session(user_id => 'u', prompt => 'p')).id)).id, 'idle')" ;;
	esac
}

setup_db() {
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	q -c "CREATE EXTENSION agent_sessions" >/dev/null
}

# ---------------------------------------------------------------------------
echo "== preloaded: the cluster of the test run =="
setup_db

# 1. a transition wakes a waiter, which runs inside a READ COMMITTED
#    transaction block and still sees the new row
read -r s v < <(new_session busy)
woken_by w_transition "BEGIN; SELECT 1 FROM pg_catalog.pg_class LIMIT 0;
SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60); COMMIT;" \
	"SELECT agent_sessions.complete_session('$s')" \
	"completed|idle|$((v + 1))" "woken by a transition"

# 2. busy -> idle
read -r s v < <(new_session busy)
woken_by w_idle "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60)" \
	"SELECT agent_sessions.heartbeat('$s', 'idle')" \
	"running|idle|$((v + 1))" "woken by busy -> idle"

# 3. an idle session with since_version = its version waits for the next one
read -r s v < <(new_session idle)
woken_by w_since "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60, $v)" \
	"SELECT agent_sessions.add_usage('$s', '{\"input_tokens\": 5}')" \
	"running|idle|$((v + 1))" "woken by a version past since_version"

# 4. a direct UPDATE of content (a PostgREST PATCH) bumps the version and wakes
read -r s v < <(new_session idle)
woken_by w_patch "SELECT title, version FROM agent_sessions.wait_for_session('$s', 60, $v)" \
	"UPDATE agent_sessions.sessions SET title = 'renamed' WHERE id = '$s'" \
	"renamed|$((v + 1))" "woken by a direct UPDATE"

# 4b. the sweep failing a quiet session wakes its waiter
s=$(q -c "SELECT id FROM agent_sessions.start_session(
            (agent_sessions.create_session(user_id => 'u', prompt => 'p',
                                           inactivity_timeout => '1 second')).id)")
v=$(q -c "SELECT version FROM agent_sessions.sessions WHERE id = '$s'")
sleep 1.5
woken_by w_sweep "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60)" \
	"SELECT swept FROM agent_sessions.sweep()" \
	"failed|idle|$((v + 1))" "woken by the sweep"

# 5. the timeout: the current row after the requested seconds (±1 s)
read -r s v < <(new_session busy)
t0=$(date +%s.%N)
out=$(q -c "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 2)")
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
if [ "$out" = "running|busy|$v" ] && awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.9 && e <= 3.0) }'; then
	pass "times out after 2 s (took ${elapsed}s) with the current row"
else
	fail "timeout: got '$out' after ${elapsed}s"
fi

# 6. writers that roll back (whole, or a subtransaction) wake nobody with
#    their row; the next committed change does, also when it was made in a
#    released savepoint
read -r s v < <(new_session busy)
start_waiter w_rollback "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60)"
await_sleeping w_rollback
q <<SQL >/dev/null
BEGIN;
SELECT agent_sessions.heartbeat('$s', 'idle');
SELECT agent_sessions.complete_session('$s');
ROLLBACK;
BEGIN;
SAVEPOINT a;
SELECT agent_sessions.heartbeat('$s', 'idle');
ROLLBACK TO SAVEPOINT a;
COMMIT;
SQL
sleep 0.5
if still_waiting w_rollback && [ "$(registered w_rollback)" = 1 ]; then
	pass "rolled-back writes leave the waiter waiting"
else
	fail "a rolled-back write ended the wait: $(cat "$work/w_rollback")"
fi
q <<SQL >/dev/null
BEGIN;
SAVEPOINT b;
SELECT agent_sessions.add_usage('$s', '{"output_tokens": 1}');
RELEASE SAVEPOINT b;
COMMIT;
SQL
await_return w_rollback 30 &&
	expect_output w_rollback "running|busy|$((v + 1))" "then woken by a commit (of a released savepoint), with the committed row"

# 7. pg_cancel_backend ends a wait with 57014 and frees its slot
read -r s v < <(new_session busy)
start_waiter w_cancel "SELECT version FROM agent_sessions.wait_for_session('$s', 60)"
await_sleeping w_cancel
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'w_cancel'" >/dev/null
await_return w_cancel 30 && expect_output w_cancel "ERROR:  57014" "pg_cancel_backend ends the wait (57014)"
[ "$(registered w_cancel)" = 0 ] && [ "$(q -c "SELECT count(*) FROM agent_sessions.waiters()")" = 0 ] &&
	pass "a cancelled wait leaves no slot" || fail "a cancelled wait left a slot"

# 8. statement_timeout ends a wait with 57014; caught in a subtransaction the
#    slot is still freed at once; later waits in the same session work
read -r s v < <(new_session busy)
read -r i iv < <(new_session idle)
out=$(q -v VERBOSITY=sqlstate 2>&1 <<SQL || true
\\set ON_ERROR_STOP 0
SET statement_timeout = '1s';
SELECT version FROM agent_sessions.wait_for_session('$s', 60);
BEGIN;
\\set VERBOSITY default
DO \$\$
BEGIN
    PERFORM agent_sessions.wait_for_session('$s', 60);
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END \$\$;
SELECT 'slots in the open transaction: ' || count(*) FROM agent_sessions.waiters() WHERE pid = pg_backend_pid();
COMMIT;
RESET statement_timeout;
SELECT 'again: ' || activity FROM agent_sessions.wait_for_session('$i', 60);
SQL
)
expected="ERROR:  57014
NOTICE:  caught 57014
slots in the open transaction: 0
again: idle"
if [ "$out" = "$expected" ]; then pass "statement_timeout ends the wait (57014), slot freed"; else fail "statement_timeout: got '$out'"; fi

# 9. a terminated waiter frees its slot at exit
read -r s v < <(new_session busy)
start_waiter w_term "SELECT version FROM agent_sessions.wait_for_session('$s', 60)"
await_sleeping w_term
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'w_term'" >/dev/null
await_return w_term 30 || true
for _ in $(seq 100); do [ "$(q -c "SELECT count(*) FROM agent_sessions.waiters()")" = 0 ] && break; sleep 0.1; done
[ "$(q -c "SELECT count(*) FROM agent_sessions.waiters()")" = 0 ] &&
	pass "a terminated wait leaves no slot" || fail "a terminated wait left a slot"

# 10. after all that, a wait is still woken
read -r s v < <(new_session busy)
woken_by w_after "SELECT activity, version FROM agent_sessions.wait_for_session('$s', 60)" \
	"SELECT agent_sessions.heartbeat('$s', 'idle')" \
	"idle|$((v + 1))" "later waits are still woken"

psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null

# ---------------------------------------------------------------------------
echo "== preloaded, agent_sessions.max_waiters = 2 =="
cap=$(mktemp -d /tmp/agent_sessions-wait-cap.XXXXXX)
extra+=("$cap")
"$top/scripts/cluster.sh" start "$cap" 'agent_sessions.max_waiters = 2'
(
	export PGHOST=$cap
	failures=0
	setup_db
	[ "$(q -c "SHOW agent_sessions.max_waiters")" = 2 ] || fail "max_waiters is not 2"
	read -r s v < <(new_session busy)
	start_waiter cap1 "SELECT version FROM agent_sessions.wait_for_session('$s', 60)"
	start_waiter cap2 "SELECT version FROM agent_sessions.wait_for_session('$s', 60)"
	await_sleeping cap1
	await_sleeping cap2
	out=$(psql -X -A -t -q -d "$db" -c "SELECT agent_sessions.wait_for_session('$s', 60)" 2>&1 || true)
	expected="ERROR:  too many concurrent waits for sessions
DETAIL:  All 2 wait slots (agent_sessions.max_waiters) are in use.
HINT:  Retry in a second, or raise agent_sessions.max_waiters and restart the server."
	[ "$out" = "$expected" ] && pass "the third wait is refused" || fail "cap: got '$out'"
	out=$(psql -X -A -t -q -v VERBOSITY=sqlstate -d "$db" -c "SELECT agent_sessions.wait_for_session('$s', 60)" 2>&1 || true)
	[ "$out" = "ERROR:  PT429" ] && pass "with SQLSTATE PT429" || fail "cap: got '$out'"
	# an immediate answer needs no slot
	read -r i iv < <(new_session idle)
	[ "$(q -c "SELECT activity FROM agent_sessions.wait_for_session('$i', 60)")" = idle ] &&
		pass "a settled session is answered while the table is full" || fail "settled session refused when full"
	# a commit wakes both waiters of one session
	q -c "SELECT agent_sessions.heartbeat('$s', 'idle')" >/dev/null
	await_return cap1 30 && expect_output cap1 "$((v + 1))" "both waiters of a session are woken (1)"
	await_return cap2 30 && expect_output cap2 "$((v + 1))" "both waiters of a session are woken (2)"
	[ "$(q -c "SELECT count(*) FROM agent_sessions.waiters()")" = 0 ] &&
		pass "the slots are free again" || fail "slots still taken"
	exit "$failures"
) || failures=$((failures + $?))

# ---------------------------------------------------------------------------
echo "== not preloaded: the polling fallback =="
poll=$(mktemp -d /tmp/agent_sessions-wait-poll.XXXXXX)
extra+=("$poll")
"$top/scripts/cluster.sh" start "$poll" "shared_preload_libraries = 'pg_cron'"
(
	export PGHOST=$poll
	failures=0
	setup_db
	[ "$(q -c "SHOW shared_preload_libraries")" = pg_cron ] || fail "agent_sessions is preloaded"
	out=$(psql -X -A -t -q -d "$db" -c "SHOW agent_sessions.max_waiters" 2>&1 || true)
	[ "$out" = 'ERROR:  unrecognized configuration parameter "agent_sessions.max_waiters"' ] &&
		pass "no waiter table without the preload" || fail "max_waiters: got '$out'"

	read -r s v < <(new_session busy)
	start_waiter p_idle "SELECT status, activity, version FROM agent_sessions.wait_for_session('$s', 60)"
	start_waiter p_since "SELECT version FROM agent_sessions.wait_for_session('$s', 60, $((v + 1)))"
	start_waiter p_cancel "SELECT version FROM agent_sessions.wait_for_session('$s', 60)"
	await_sleeping p_idle
	await_sleeping p_since
	await_sleeping p_cancel
	[ "$(q -c "SELECT count(*) FROM agent_sessions.waiters()")" = 0 ] &&
		pass "polling waits hold no slot" || fail "polling waits in the waiter table"

	q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'p_cancel'" >/dev/null
	await_return p_cancel 30 && expect_output p_cancel "ERROR:  57014" "a polling wait is cancelled (57014)"

	q -c "SELECT agent_sessions.heartbeat('$s', 'idle')" >/dev/null
	await_return p_idle 30 && expect_output p_idle "running|idle|$((v + 1))" "a polling wait sees busy -> idle"
	sleep 0.5
	still_waiting p_since && pass "a polling wait for a later version keeps waiting" ||
		fail "p_since returned early: $(cat "$work/p_since")"
	q -c "SELECT agent_sessions.complete_session('$s')" >/dev/null
	await_return p_since 30 && expect_output p_since "$((v + 2))" "a polling wait sees a version past since_version"

	out=$(q -v VERBOSITY=sqlstate 2>&1 <<SQL || true
\\set ON_ERROR_STOP 0
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT agent_sessions.wait_for_session('$s', 1);
ROLLBACK;
SQL
)
	[ "$out" = "ERROR:  0A000" ] && pass "REPEATABLE READ is refused here too" || fail "isolation: got '$out'"
	exit "$failures"
) || failures=$((failures + $?))

echo "wait: $failures failure(s)"
[ "$failures" -eq 0 ]
