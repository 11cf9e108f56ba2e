#!/usr/bin/env bash
# make run / make stop: a local PostgreSQL 15 with pg_cron and agent_sessions
# preloaded, kept between runs (the data directory survives `make stop`).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${AGENT_SESSIONS_RUN_DIR:-/tmp/agent_sessions-$(id -un)}

case "${1:-start}" in
stop)
	"$here/cluster.sh" stop "$dir"
	echo "stopped the server in $dir (data kept; rm -rf $dir to drop it)"
	exit 0
	;;
start) ;;
*) echo "usage: run.sh start|stop" >&2; exit 2 ;;
esac

"$here/cluster.sh" start "$dir"
export PGHOST="$dir" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS agent_sessions;
ALTER EXTENSION agent_sessions UPDATE;
SQL

echo
echo "== a short session lifecycle =="
psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
SELECT id AS demo_id
  FROM agent_sessions.create_session(user_id => 'user_demo', agent_name => 'membrane',
                                      prompt => 'Summarise the open issues',
                                      title => 'Demo session') \gset
SELECT agent_sessions.format_session_id(id) AS session, status, activity, version
  FROM agent_sessions.start_session(:'demo_id');
SELECT status, activity, version, cancel_requested
  FROM agent_sessions.heartbeat(:'demo_id', activity => 'idle');
SELECT status, activity, version, finished_at IS NOT NULL AS finished
  FROM agent_sessions.complete_session(:'demo_id', output => '{"answer": 42}', summary => 'Done');
SELECT from_status, to_status, from_activity, to_activity, version
  FROM agent_sessions.session_events
 WHERE session_id = :'demo_id'
 ORDER BY event_id;
SQL

cat <<MSG

PostgreSQL 15 is running with pg_cron and agent_sessions preloaded.
Connect:   psql -h $dir -p 5432 -U postgres postgres
Stop:      make stop
MSG
