#!/usr/bin/env bash
# Dump and restore: a database filled by the soak workload (sessions in
# every status, events from every write path, direct UPDATEs included) plus
# a session with every column set, dumped with pg_dump in the custom format
# (restored with pg_restore) and in plain SQL (restored with psql) into new
# databases.  Every row of sessions and session_events and the events
# sequence must come back identical: compared as the md5 of all rows in key
# order, and row by row; and session_scopes, which is not dumped, must be
# written again, row for row, by the trigger as sessions is restored.  The rows are loaded with COPY, which the guard
# trigger (BEFORE UPDATE only) does not touch, so versions and timestamps
# survive as they were.  The restored databases then pass the invariants,
# and the extension works in them: a new session's creation event comes
# after every restored one, and the guard still holds direct UPDATEs.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

src=agent_sessions_dump
work=$(mktemp -d)
cleanup() {
	for d in "$src" "${src}_custom" "${src}_plain"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

rel_fresh_db "$src"
rel_soak_setup "$src"
rel_workload "$src" 2 "${DUMP_SOAK_SECONDS:-5}" "$work/acks" "$work/pgbench.log"
rel_psql -d "$src" >/dev/null <<'SQL'
SELECT (agent_sessions.create_session(
    user_id => 'user_full', prompt => E'every column \u00e9\u65e5 \t "quoted"', organization_id => 'org_full',
    workspace_id => 'ws', project_id => '01934b5a-0000-7000-8000-000000000001', agent_id => 'agent',
    agent_name => 'Agent', machine_id => 'machine', caller_role => 'role', caller_origin => 'origin',
    tenant_id => 'tenant', org_workspace_id => 'orgws', team_id => 'team', type => 'chat',
    model => 'model', model_id => 'model-1', title => 'title', preview => 'preview',
    workspace_element_type => 'doc', workspace_element_id => 'doc-1', is_external => true,
    source => 'api', source_schedule_id => 'sched', capabilities => '["a", {"b": [1, 2.50]}]',
    config => '{"k": null}', agent_state => '{"turns": [1, 2, 3]}', tags => '{x,"y z"}',
    metadata => '{"nested": {"deep": true}}', inactivity_timeout => '1 day 2 hours',
    start_timeout => '90 seconds', idempotency_key => 'full')).id AS full \gset
SELECT agent_sessions.start_session(:'full');
SELECT agent_sessions.heartbeat(:'full', 'idle');
SELECT agent_sessions.complete_session(:'full', output => '{"answer": 42}', summary => 'sum',
                                       output_preview => 'prev', usage => '{"input_tokens": 12}', cost => 0.000001);
SQL

snapshot() {                   # snapshot DB: one line per table and the sequence
	psql -X -At -d "$1" <<'SQL'
SELECT 'sessions ' || count(*) || ' ' || md5(coalesce(string_agg(s::text, E'\n' ORDER BY s.id), ''))
  FROM agent_sessions.sessions AS s;
SELECT 'session_events ' || count(*) || ' ' || md5(coalesce(string_agg(e::text, E'\n' ORDER BY e.event_id), ''))
  FROM agent_sessions.session_events AS e;
SELECT 'session_events_event_id_seq ' || last_value || ' ' || is_called
  FROM agent_sessions.session_events_event_id_seq;
-- not dumped: the restore of sessions writes it again, through the trigger
SELECT 'session_scopes ' || count(*) || ' ' || md5(coalesce(string_agg(sc::text, E'\n' ORDER BY sc.id), ''))
  FROM agent_sessions.session_scopes AS sc;
SQL
}

rows() {                       # rows DB TABLE KEY: every row as text, in key order
	psql -X -At -d "$1" -c "SELECT t::text FROM agent_sessions.$2 AS t ORDER BY $3"
}

snapshot "$src" >"$work/source.txt"
echo "source: $(tr '\n' ';' <"$work/source.txt")"

pg_dump -Fc -f "$work/dump.custom" "$src"
pg_dump -f "$work/dump.sql" "$src"

failed=0
for format in custom plain; do
	db="${src}_$format"
	rel_fresh_db "$db"
	if [ "$format" = custom ]; then
		pg_restore --exit-on-error -d "$db" "$work/dump.custom" || failed=1
	else
		rel_psql -d "$db" -f "$work/dump.sql" >/dev/null || failed=1
	fi
	snapshot "$db" >"$work/$format.txt"
	for t in "sessions id" "session_events event_id"; do
		set -- $t
		if ! cmp -s <(rows "$src" "$1" "$2") <(rows "$db" "$1" "$2"); then
			echo "$format: rows of $1 differ"
			diff <(rows "$src" "$1" "$2") <(rows "$db" "$1" "$2") | head -n 10
			failed=1
		fi
	done
	if cmp -s "$work/source.txt" "$work/$format.txt"; then
		echo "$format (pg_dump -F${format:0:1}): every row and the sequence identical"
	else
		echo "$format: the restore differs"
		diff "$work/source.txt" "$work/$format.txt" || true
		failed=1
	fi
	rel_check "$db" "$work/acks" | tail -n 2 | sed "s/^/$format: /" || failed=1
	after=$(psql -X -At -d "$db" <<'SQL'
SELECT (SELECT max(event_id) FROM agent_sessions.session_events) AS restored_max \gset
SELECT (agent_sessions.create_session(user_id => 'after_restore', prompt => 'p')).id AS new_id \gset
SELECT event_id > :restored_max FROM agent_sessions.session_events WHERE session_id = :'new_id';
SQL
	)
	guard=$(psql -X -At -d "$db" -c "UPDATE agent_sessions.sessions SET version = 99" 2>&1 || true)
	if [ "$after" != t ]; then
		echo "$format: a new session's event does not come after the restored ones"
		failed=1
	fi
	case "$guard" in
	*"can only be set by agent_sessions"*) ;;
	*) echo "$format: the guard let a direct UPDATE of version through: $guard"; failed=1 ;;
	esac
done
[ "$failed" -eq 0 ]
