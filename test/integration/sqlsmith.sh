#!/usr/bin/env bash
# sqlsmith: random SQL for SQLSMITH_SECONDS (default 30; make soak: 300)
# against a database with the extension and some sessions, on a cluster of
# its own.  It runs as a role with the privileges a PostgREST role would
# get (every function and table of the extension, under row-level security
# with a user claim), not as a superuser, so it cannot reach the
# superuser-only corners of PostgreSQL, and with the catalogs left out of
# its queries, so its SELECTs, INSERTs, UPDATEs and DELETEs land on
# sessions and session_events (through the guard trigger and the policies)
# and its expressions call the extension's functions among PostgreSQL's.
#
# Fails when a backend crashed running a statement that involves the
# extension; a crash elsewhere in PostgreSQL is reported, not counted.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

seconds=${SQLSMITH_SECONDS:-30}
seed=${SQLSMITH_SEED:-$RANDOM}

if ! command -v sqlsmith >/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing sqlsmith (Debian package)"
		export DEBIAN_FRONTEND=noninteractive
		timeout 300 apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1 ||
			{ timeout 300 apt-get update -qq >/dev/null 2>&1 &&
			  timeout 300 apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1; } ||
			true
	fi
	if ! command -v sqlsmith >/dev/null; then
		echo "sqlsmith is not installed (apt-get install sqlsmith as root): skipped"
		exit 0
	fi
fi

dir=$(mktemp -d /tmp/agent_sessions-sqlsmith.XXXXXX)
cleanup() {
	"$rel_top/scripts/cluster.sh" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
"$rel_top/scripts/cluster.sh" start "$dir" "restart_after_crash = on" "track_functions = all"
export PGHOST=$dir PGPORT=5432 PGUSER=postgres

rel_fresh_db smith
rel_psql -d smith >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION agent_sessions;
CREATE ROLE smith LOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions TO smith;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agent_sessions TO smith;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agent_sessions TO smith;
ALTER ROLE smith SET request.jwt.claims = '{"sub": "user_smith"}';
ALTER ROLE smith SET statement_timeout = '2s';
ALTER ROLE smith SET agent_sessions.heartbeat_granularity = 0;
-- sessions in every status, most of them the role's own
SELECT count(*) FROM (
    SELECT CASE i % 6
               WHEN 1 THEN agent_sessions.start_session(s.id)
               WHEN 2 THEN agent_sessions.complete_session(
                              (agent_sessions.start_session(s.id)).id, output => '{"ok": true}')
               WHEN 3 THEN agent_sessions.fail_session(s.id, message => 'smith')
               WHEN 4 THEN agent_sessions.cancel_session(s.id)
               ELSE s
           END
      FROM generate_series(1, 60) AS i,
           LATERAL agent_sessions.create_session(
               user_id => CASE WHEN i % 5 = 0 THEN 'someone_else' ELSE 'user_smith' END,
               prompt => 'sqlsmith ' || i, agent_id => 'agent_' || i % 3,
               tags => ARRAY['t' || i % 4], metadata => jsonb_build_object('i', i)) AS s) AS made;
SQL

psql -X -q -d smith -c 'SELECT pg_stat_reset()' >/dev/null
crashes_before=$(rel_crash_count "$dir")
echo "sqlsmith for $seconds s as a non-superuser (seed $seed)"
timeout -s INT "$seconds" sqlsmith --target="host=$dir port=5432 user=smith dbname=smith" \
	--exclude-catalog --verbose --seed="$seed" >"$dir/sqlsmith.log" 2>&1 || true
rel_wait_ready

queries=$(grep -oE 'queries: [0-9]+' "$dir/sqlsmith.log" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
sleep 1     # the backends' statistics reach the collector when they exit
echo "queries: $queries; $(psql -X -At -d smith -c "
	SELECT format('calls of the extension''s functions: %s (%s functions); sessions: %s scans, %s rows updated, %s inserted, %s deleted',
	       (SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'agent_sessions'),
	       (SELECT count(*) FROM pg_stat_user_functions WHERE schemaname = 'agent_sessions'),
	       seq_scan + coalesce(idx_scan, 0), n_tup_upd, n_tup_ins, n_tup_del)
	  FROM pg_stat_user_tables WHERE relid = 'agent_sessions.sessions'::regclass")"
grep -E '^error rate' "$dir/sqlsmith.log" | tail -n 1 || true

crashes=$(( $(rel_crash_count "$dir") - crashes_before ))
ours=0
if [ "$crashes" -gt 0 ]; then
	echo "crashed backends:"
	grep -A1 'terminated by signal' "$dir/server.log"
	ours=$(grep -A1 'terminated by signal' "$dir/server.log" | grep -c 'agent_sessions' || true)
fi
echo "crashed backends: $crashes, running the extension's code: $ours"
[ "$queries" -gt 0 ] && [ "$ours" -eq 0 ]
