#!/usr/bin/env bash
# Bad input: every function of the schemas agent_sessions and
# agent_sessions_api, read from pg_proc, called with NULL in each argument,
# empty and 1 MB strings (100 MB too with FUZZ_HUGE=1, as make soak does),
# malformed and wrong-typed ids, malformed and hostile JSON, extreme numbers,
# intervals, timeouts and timestamps; as a tenant under row-level security
# with good and hostile JWT claims, as a role without privileges and in a
# read-only transaction; and direct UPDATEs of every column of sessions
# through the guard trigger (test/reliability/fuzz.sql).
#
# Passes when no backend crashed and every error carries a SQLSTATE of the
# documented set below.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

db=agent_sessions_fuzz
huge=$([ "${FUZZ_HUGE:-0}" = 1 ] && echo true || echo false)
log_dir=${AGENT_SESSIONS_TEST_DIR:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The SQLSTATEs a call may end with, and why each is documented:
documented=(
	00000   # success
	PT404   # session missing or not visible to the caller (README, Errors)
	PT409   # illegal move, stale version, idempotency conflict
	PT429   # too many waiters
	22023   # invalid argument; the detail names the field
	22P02   # malformed id, or a malformed literal rejected by its type's input function
	428C9   # direct UPDATE of an id, version or timestamp
	42501   # no privilege on the function, or a row-level security policy refused the row
	25006   # a write in a read-only transaction
	39P01   # a trigger function called directly
	0A000   # a feature PostgreSQL does not support in that place
	22004   # NULL where the SQL standard forbids it
	23502   # a direct UPDATE setting a NOT NULL column to NULL
	23514   # a direct UPDATE breaking a CHECK constraint of sessions
	22P05   # JSON jsonb cannot store (\u0000), refused by jsonb's input function
	54001   # JSON nested deeper than the stack allows (in an argument or the claims)
	57014   # a wait cancelled by statement_timeout
	55000   # Citus or pg_cron is not there, or not reachable from this database (README, Errors)
	42704   # grant_api() of a role that does not exist
)

crashes_before=$(rel_crash_count "$log_dir")
rel_psql -d postgres -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
	-c "DROP ROLE IF EXISTS fuzz_tenant" -c "DROP ROLE IF EXISTS fuzz_nobody" \
	-c "CREATE DATABASE $db"
rel_psql -d "$db" -f "$rel_dir/fuzz.sql" >/dev/null
planned=$(psql -X -At -d "$db" -c "SELECT fuzz.build_plan($huge)")
echo "bad input: $planned calls over $(psql -X -At -d "$db" -c 'SELECT count(*) FROM fuzz.functions') functions (100 MB strings: $huge)"

# Run the plan; when a call takes the backend down, record it as a crash and
# go on with the next one once the server has recovered.
crashed=0
for attempt in $(seq 1 "$planned"); do
	done_upto=$(psql -X -At -d "$db" -c 'SELECT coalesce(max(n), 0) FROM fuzz.result')
	if psql -X -q -d "$db" -c "SET synchronous_commit = off" \
		-c "CALL fuzz.run($done_upto)" 2>"$work/run.err"; then
		break
	fi
	cat "$work/run.err"
	rel_wait_ready
	why=$([ "$(rel_crash_count "$log_dir")" -gt "$crashes_before" ] && echo crash || echo escaped)
	psql -X -q -d "$db" -v why="$why" -v msg="$(head -c 300 "$work/run.err")" <<'SQL'
INSERT INTO fuzz.result
SELECT min(n), :'why', :'msg' FROM fuzz.plan WHERE n > (SELECT coalesce(max(n), 0) FROM fuzz.result);
SQL
	crashed=$((crashed + 1))
done

allowed=$(printf "'%s'," "${documented[@]}")
psql -X -q -d "$db" <<SQL
\pset footer off
\echo SQLSTATEs raised:
SELECT r.sqlstate, count(*) AS calls, count(DISTINCT p.fn) AS functions
  FROM fuzz.result r JOIN fuzz.plan p USING (n)
 GROUP BY 1 ORDER BY 2 DESC;
SQL
undocumented=$(psql -X -At -d "$db" -c \
	"SELECT count(*) FROM fuzz.result WHERE sqlstate NOT IN (${allowed%,})")
unrun=$(psql -X -At -d "$db" -c \
	"SELECT count(*) FROM fuzz.plan p WHERE NOT EXISTS (SELECT FROM fuzz.result r WHERE r.n = p.n)")
if [ "$undocumented" -gt 0 ]; then
	echo "calls ending in an undocumented SQLSTATE or a crash:"
	psql -X -q -d "$db" -c "\\pset footer off" -c \
		"SELECT r.sqlstate, p.fn::text AS function, p.arg, p.label, p.role, left(r.message, 120) AS message
		   FROM fuzz.result r JOIN fuzz.plan p USING (n)
		  WHERE r.sqlstate NOT IN (${allowed%,}) ORDER BY p.n LIMIT 40"
fi
crashes=$(( $(rel_crash_count "$log_dir") - crashes_before ))
echo "calls: $planned, not run: $unrun, undocumented SQLSTATEs: $undocumented, crashed backends: $crashes"

rel_psql -d postgres -c "DROP DATABASE $db WITH (FORCE)" \
	-c "DROP ROLE fuzz_tenant" -c "DROP ROLE fuzz_nobody"
[ "$undocumented" -eq 0 ] && [ "$unrun" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "$crashed" -eq 0 ]
