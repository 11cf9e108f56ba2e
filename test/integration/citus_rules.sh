#!/usr/bin/env bash
# The rules that let distribute() run agent_sessions on Citus, checked where
# they can be checked without Citus (see citus_rules.pl for the list):
#   - the SQL strings of src/*.c, as text and as PostgreSQL parses them;
#   - the triggers and policies of the installed extension;
#   - that a direct UPDATE, which fires the guard trigger, sends no
#     notification while a function call does.
set -euo pipefail
export PGOPTIONS='-c client_min_messages=warning'

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
db=agent_sessions_citus_rules

cleanup() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
trap cleanup EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -X -q -d "$db" -c "CREATE EXTENSION agent_sessions" >/dev/null

status=0
perl "$here/citus_rules.pl" "$top/src" "$here/citus_rules.known" "$db" || status=1

# A trigger's NOTIFY would fire on the worker holding the shard and make every
# multi-shard transaction fail at PREPARE (research/citus.md rows 14-15).
out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL'
LISTEN agent_sessions;
SELECT id AS sid FROM agent_sessions.create_session(user_id => 'u1') \gset
\echo marker: created
UPDATE agent_sessions.sessions SET status = 'cancelled' WHERE id = :'sid';
\echo marker: updated directly
SELECT 'events recorded by the trigger: ' || count(*)
  FROM agent_sessions.session_events
 WHERE session_id = :'sid' AND to_status = 'cancelled';
SELECT agent_sessions.add_usage(:'sid', '{"input_tokens": 1}') IS NOT NULL AS ok \gset
\echo marker: done
SQL
)
notified_on_create=$(printf '%s\n' "$out" | sed -n '1,/^marker: created/p' | grep -c 'Asynchronous notification "agent_sessions"' || true)
notified_by_trigger=$(printf '%s\n' "$out" | sed -n '/^marker: created/,/^marker: updated directly/p' | grep -c 'Asynchronous notification' || true)
if [ "$notified_on_create" -ne 1 ] || ! grep -q 'events recorded by the trigger: 1' <<<"$out"; then
	echo "FAIL    trigger-notify: the check itself did not work (one notification on create, one event from the trigger expected):"
	printf '%s\n' "$out"
	status=1
elif [ "$notified_by_trigger" -ne 0 ]; then
	echo "FAIL    trigger-notify: a direct UPDATE (the guard trigger) sent a notification:"
	printf '%s\n' "$out"
	status=1
else
	echo "ok      trigger-notify: a direct UPDATE recorded its event and sent no notification"
fi

exit $status
