#!/usr/bin/env bash
# Notifications: a client LISTENing on "agent_sessions" gets one JSON payload
# {"id", "status", "activity", "version"} per committed status or activity
# change, none for time-only heartbeats, usage or rolled-back work, and none
# at all while agent_sessions.notify is off.
#
# The listener is one psql session; each change is made and committed by a
# separate psql connection (\!), after which the listener polls with a query
# and psql prints the notifications it received.
set -euo pipefail

db=agent_sessions_notify
psql_cmd=(psql -X -q -v ON_ERROR_STOP=1)

cleanup() { "${psql_cmd[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${psql_cmd[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
"${psql_cmd[@]}" -d "$db" -c "CREATE EXTENSION agent_sessions" >/dev/null

# A writer statement, committed on its own connection; :sid is the session.
write() {
	printf '%s\n' "\\! ${psql_cmd[*]} -d $db -o /dev/null -c \"$1\"" "SELECT 1 AS poll \\gset" "\\echo -- end of $2"
}
sid="(SELECT id FROM agent_sessions.sessions WHERE user_id = 'notify')"

script=$(
	echo "LISTEN agent_sessions;"
	write "SELECT agent_sessions.create_session(user_id => 'notify')" "create"
	write "SELECT agent_sessions.start_session($sid)" "start from queued"
	write "SET agent_sessions.heartbeat_granularity = 0; SELECT agent_sessions.heartbeat($sid)" "time-only heartbeat"
	write "SET agent_sessions.heartbeat_granularity = 0; SELECT agent_sessions.heartbeat($sid, 'busy')" "heartbeat, still busy"
	write "SELECT agent_sessions.heartbeat($sid, 'idle')" "flip to idle"
	write "SELECT agent_sessions.add_usage($sid, '{\\\"input_tokens\\\": 5}', 0.1)" "usage"
	write "BEGIN; SELECT agent_sessions.cancel_session($sid); ROLLBACK;" "rolled-back cancel"
	write "SELECT agent_sessions.complete_session($sid, summary => 'done')" "complete"
	write "SELECT agent_sessions.complete_session($sid)" "complete again"
	write "SET agent_sessions.heartbeat_granularity = 0; SELECT agent_sessions.heartbeat($sid, 'busy')" "heartbeat after the end"
	write "SET agent_sessions.notify = off; SELECT agent_sessions.start_session(s.id) FROM agent_sessions.create_session(user_id => 'quiet') AS s; SELECT agent_sessions.cancel_session(id) FROM agent_sessions.sessions WHERE user_id = 'quiet'" "notify off"
)

actual=$("${psql_cmd[@]}" -d "$db" 2>&1 <<<"$script")
id=$("${psql_cmd[@]}" -d "$db" -At -c "SELECT id FROM agent_sessions.sessions WHERE user_id = 'notify'")
actual=$(sed -e "s/$id/<id>/g" -e 's/ received from server process with PID [0-9]*\././' <<<"$actual")

expected=$(cat <<'OUT'
Asynchronous notification "agent_sessions" with payload "{"id": "<id>", "status": "queued", "activity": "busy", "version": 1}".
-- end of create
Asynchronous notification "agent_sessions" with payload "{"id": "<id>", "status": "starting", "activity": "busy", "version": 2}".
Asynchronous notification "agent_sessions" with payload "{"id": "<id>", "status": "running", "activity": "busy", "version": 3}".
-- end of start from queued
-- end of time-only heartbeat
-- end of heartbeat, still busy
Asynchronous notification "agent_sessions" with payload "{"id": "<id>", "status": "running", "activity": "idle", "version": 4}".
-- end of flip to idle
-- end of usage
-- end of rolled-back cancel
Asynchronous notification "agent_sessions" with payload "{"id": "<id>", "status": "completed", "activity": "idle", "version": 6}".
-- end of complete
-- end of complete again
-- end of heartbeat after the end
-- end of notify off
OUT
)

if [ "$actual" != "$expected" ]; then
	echo "notify: unexpected notifications"
	diff <(echo "$expected") <(echo "$actual") || true
	exit 1
fi

# Each payload is a JSON object with exactly those four keys and their types.
payloads=$(grep -o 'payload ".*"' <<<"$actual" | sed -e 's/^payload "//' -e 's/"$//' -e "s/<id>/$id/")
bad=$(while IFS= read -r p; do
	"${psql_cmd[@]}" -d "$db" -At -v p="$p" <<'SQL'
SELECT :'p' FROM (SELECT :'p'::jsonb AS j) AS x
 WHERE NOT (j ?& ARRAY['id', 'status', 'activity', 'version']
            AND (SELECT count(*) FROM jsonb_object_keys(j)) = 4
            AND (j->>'id')::uuid IS NOT NULL
            AND (j->>'status')::agent_sessions.session_status IS NOT NULL
            AND (j->>'activity')::agent_sessions.session_activity IS NOT NULL
            AND jsonb_typeof(j->'version') = 'number')
SQL
done <<<"$payloads")
if [ -n "$bad" ]; then
	echo "notify: malformed payloads:"
	echo "$bad"
	exit 1
fi

# The payloads match the session as it now is
last=$(tail -n 1 <<<"$payloads")
match=$("${psql_cmd[@]}" -d "$db" -At -v p="$last" <<'SQL'
SELECT (:'p'::jsonb) = jsonb_build_object('id', id, 'status', status, 'activity', activity, 'version', version)
  FROM agent_sessions.sessions WHERE user_id = 'notify'
SQL
)
if [ "$match" != "t" ]; then
	echo "notify: the last payload ($last) is not the session's state"
	exit 1
fi

echo "notify: $(grep -c '^Asynchronous' <<<"$actual") notifications, as expected"
