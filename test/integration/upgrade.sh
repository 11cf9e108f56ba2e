#!/usr/bin/env bash
# Upgrade: for every earlier version with an update path to the current one
# (sql/agent_sessions--A--B.sql), install it, ALTER EXTENSION agent_sessions
# UPDATE, and compare with a fresh install of the current version:
#   - pg_dump -s (the database as pg_dump sees it)
#   - pg_dump -s --binary-upgrade, which writes out every member of the
#     extension (types, tables, columns in order, constraints, indexes,
#     triggers, policies, functions with their settings, grants, comments),
#     with the OIDs and transaction ids it pins filtered out
#   - the version and the configuration tables pg_dump keeps the data of
# Both dumps drop pg_dump's random \restrict / \unrestrict lines.  With no
# earlier version the test says so and still runs the comparison, on two
# fresh installs (which must match) and on a deliberately altered one
# (which must not), so the machinery is proven before it is needed.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

current=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$rel_top/agent_sessions.control")
work=$(mktemp -d)
dbs=()
cleanup() {
	for d in "${dbs[@]}"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

install() {                     # install DB [VERSION]
	dbs+=("$1")
	rel_fresh_db "$1"
	rel_psql -d "$1" -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION agent_sessions${2:+ VERSION '$2'}"
}

describe() {                    # describe DB > file
	pg_dump -s "$1" | grep -vE '^\\(un)?restrict '
	echo "-- members"
	pg_dump -s --binary-upgrade "$1" | grep -vE '^\\(un)?restrict |binary_upgrade_set_next_' |
		sed -E -e "s/(binary_upgrade_create_empty_extension\(.*, )'\{[0-9,]*\}'/\1'{config}'/" \
			-e "s/relfrozenxid = '[0-9]+', relminmxid = '[0-9]+'/relfrozenxid = 'xid', relminmxid = 'mxid'/" \
			-e "s/^WHERE oid = '[0-9]+';/WHERE oid = 'toast table';/"
	echo "-- extension"
	psql -X -At -d "$1" -c "SELECT extversion, extconfig::regclass[]::text, extcondition
	                          FROM pg_extension WHERE extname = 'agent_sessions'"
}

same() {                        # same DB_A DB_B: 0 when they describe alike
	describe "$1" >"$work/$1.txt"
	describe "$2" >"$work/$2.txt"
	diff -u "$work/$1.txt" "$work/$2.txt" >"$work/diff.txt"
}

install up_fresh
lines=$(describe up_fresh | wc -l)
earlier=$(psql -X -At -d up_fresh -c "
	SELECT source FROM pg_extension_update_paths('agent_sessions')
	 WHERE target = '$current' AND source <> '$current' AND path IS NOT NULL
	 ORDER BY string_to_array(source, '.')::int[]")

failed=0
if [ -z "$earlier" ]; then
	echo "no earlier version: $current is the only version of agent_sessions (no sql/agent_sessions--A--B.sql yet)"
	echo "exercising the comparison ($lines lines of schema) on two fresh installs of $current"
	install up_fresh2
	if same up_fresh up_fresh2; then
		echo "fresh vs fresh: identical"
	else
		echo "fresh vs fresh: DIFFERENT"
		cat "$work/diff.txt"
		failed=1
	fi
	rel_psql -d up_fresh2 -c "ALTER FUNCTION agent_sessions.uuid_v7() COST 2"
	if same up_fresh up_fresh2; then
		echo "the comparison missed a deliberate change (ALTER FUNCTION ... COST 2)"
		failed=1
	else
		echo "fresh vs deliberately altered: different, as it must be ($(grep -c '^[-+][^-+]' "$work/diff.txt") lines)"
	fi
else
	for v in $earlier; do
		db="up_from_$(echo "$v" | tr . _)"
		install "$db" "$v"
		# sessions made under the earlier version, one live and one
		# completed, must come through the update whole
		rel_psql -d "$db" -q >/dev/null <<-'SQL'
			SELECT agent_sessions.create_session(user_id => 'u1', organization_id => 'o1', agent_id => 'a1');
			SELECT agent_sessions.complete_session(id)
			  FROM agent_sessions.start_session(
			         (agent_sessions.create_session(user_id => 'u2', organization_id => 'o1')).id);
			CREATE TABLE before_update AS
			    SELECT s::text AS session FROM agent_sessions.sessions s
			    UNION ALL SELECT e::text FROM agent_sessions.session_events e;
		SQL
		rel_psql -d "$db" -c "ALTER EXTENSION agent_sessions UPDATE"
		kept=$(psql -X -At -d "$db" -c "
			SELECT count(*) FILTER (WHERE b.session IS NULL OR a.session IS NULL)
			  FROM before_update b
			  FULL JOIN (SELECT s::text AS session FROM agent_sessions.sessions s
			             UNION ALL SELECT e::text FROM agent_sessions.session_events e) a
			    USING (session)")
		active=$(psql -X -At -d "$db" -c "
			SELECT count(*) FROM agent_sessions.active_sessions(organization_id => 'o1')")
		# listed by scope (session_scopes, filled by the 0.3.0 update)
		listed=$(psql -X -At -d "$db" -c "
			SELECT (SELECT count(*) FROM agent_sessions.list_sessions(organization_id => 'o1'))
			       || ' ' || agent_sessions.count_sessions(agent_id => 'a1')
			       || ' ' || agent_sessions.count_sessions(user_id => 'u2')")
		if [ "$kept" != 0 ] || [ "$active" != 2 ] || [ "$listed" != "2 1 1" ]; then
			echo "$v -> $current: $kept rows differ after the update, $active of 2 sessions active, listed by organization, agent, user: $listed (expected 2 1 1)"
			failed=1
		else
			echo "$v -> $current: every session and event kept, both sessions in the active window and listed by scope"
		fi
		# the schema comparison below is of an empty database, like the fresh one
		rel_psql -d "$db" -c "DROP TABLE before_update" \
			-c "SET client_min_messages = warning" -c "TRUNCATE agent_sessions.sessions CASCADE" \
			-c "SELECT pg_catalog.setval('agent_sessions.session_events_event_id_seq', 1, false)" >/dev/null
		if same up_fresh "$db"; then
			echo "$v -> $current: identical to a fresh install of $current ($lines lines of schema)"
		else
			echo "$v -> $current: differs from a fresh install of $current:"
			cat "$work/diff.txt"
			failed=1
		fi
	done
fi
[ "$failed" -eq 0 ]
