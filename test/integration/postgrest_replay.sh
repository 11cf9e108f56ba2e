#!/usr/bin/env bash
# PostgREST replay: every seed endpoint, the worker calls, tenant isolation
# and read-only GETs, sent to PostgreSQL exactly as PostgREST sends them
# (research/postgrest.md 1.2-1.6), as the non-superuser roles PostgREST
# uses.  The SQL lives in postgrest_replay/:
#
#   setup.sql      superuser: extension, grant_api, replay helpers, fixtures
#   seeds.sql      authenticator: seeds 000-004 and the worker calls as tenant A
#   snapshot.sql   superuser: every session and the event count
#   isolation.sql  authenticator: tenant B, a token without organization,
#                  anonymous, and writes sent as GET; none may change anything
#   verify.sql     superuser: nothing changed
#
# Each check prints "ok - ..." or "not ok - ..." (shown when one fails, or
# with AGENT_SESSIONS_REPLAY_VERBOSE=1, together with the responses the README
# quotes).  The roles (authenticator,
# anon, authenticated) are cluster-wide, so the suite runs only on the
# throwaway cluster of make test, drops them before it starts and again when
# it ends.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sql="$here/postgrest_replay"
db=agent_sessions_replay

if [ -z "${AGENT_SESSIONS_TEST_DIR:-}" ]; then
	echo "postgrest_replay.sh creates and drops cluster-wide roles; run it through make test" >&2
	exit 2
fi

out=$(mktemp)
errors=$(mktemp)

drop_all() {
	psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<-SQL
		SET client_min_messages = warning;
		DROP DATABASE IF EXISTS $db;
		DROP ROLE IF EXISTS authenticator;
		DROP ROLE IF EXISTS anon;
		DROP ROLE IF EXISTS authenticated;
	SQL
}

cleanup() {
	drop_all || echo "postgrest_replay: could not drop the replay database and roles" >&2
	rm -f "$out" "$errors"
}
trap cleanup EXIT

drop_all
psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<-SQL
	CREATE ROLE authenticator LOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOSUPERUSER;
	CREATE ROLE anon NOLOGIN;
	CREATE ROLE authenticated NOLOGIN;
	GRANT anon, authenticated TO authenticator;
	CREATE DATABASE $db;
SQL

status=0
run() {
	local user=$1 file=$2
	if ! psql -X -q -At -v ON_ERROR_STOP=1 -U "$user" -d "$db" -f "$sql/$file" >>"$out" 2>>"$errors"; then
		echo "not ok - $file ran to the end as $user" >>"$out"
		status=1
	fi
}

run postgres setup.sql
run authenticator seeds.sql
run postgres snapshot.sql
run authenticator isolation.sql
run postgres verify.sql

passed=$(grep -c '^ok ' "$out" || true)
failed=$(grep -c '^not ok ' "$out" || true)
if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ] || [ -n "${AGENT_SESSIONS_REPLAY_VERBOSE:-}" ]; then
	# every check, and the responses (lines starting "# ")
	cat "$out"
	echo "--- psql errors (the replayed requests that fail on purpose are among them)"
	cat "$errors"
else
	grep '^# skipped' "$out" || true
fi
echo "postgrest_replay: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
