#!/usr/bin/env bash
# Security checks that fail the build:
#   - an extension function without search_path pinned to pg_catalog, pg_temp,
#     apart from the C functions on the allow-list below that run no SQL
#   - a SECURITY DEFINER function that is not on the allow-list below
#   - PUBLIC able to execute a function that writes, or to touch a table
#   - a table holding tenant data without row-level security, or a view
#     that is not security_invoker (it would read as its owner, past RLS)
#   - CREATE OR REPLACE or IF NOT EXISTS in an install or upgrade script
#   - an object planted in the installer's search_path before
#     CREATE EXTENSION that captures a name the extension uses
# The catalog checks read pg_proc, pg_class and pg_depend, so objects added
# later are covered as they come.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

db=agent_sessions_security
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# SECURITY DEFINER functions allowed, each with why it must be one.  Empty:
# every function runs as its caller, so row-level security applies to it.
definer_allowed=()

# C functions that need no pinned search_path, each with why: they look up
# no name, and any SQL they run names every table, type, function and
# operator in full, so the caller's search_path cannot reach them (the
# hostile search_path check below calls each of them).  A SET clause would
# cost each call a GUC save and restore.  Each must be LANGUAGE c; anything
# else on the list fails.
unpinned_allowed=(
	"agent_sessions.sessions_guard()"           # compares the old and new row; its one statement (the history row of a direct UPDATE) is fully qualified and calls no function or operator
	"agent_sessions.uuid_v7()"                  # the clock and random bytes
	"agent_sessions.format_session_id(uuid)"    # formats 16 bytes as hex
	"agent_sessions.parse_session_id(text)"     # parses hex
	"agent_sessions.session_scopes_guard()"     # trigger: compares the writer with the table's owner; runs no SQL
	"agent_sessions.sessions_scopes()"          # trigger: its statements on session_scopes are fully qualified, name their operator (OPERATOR(pg_catalog.=)) and call no function
	# the hot path: their statements and the history rows they record name
	# every table, type, function and operator in full (OPERATOR(pg_catalog.=))
	"agent_sessions.create_session(text,text,text,text,uuid,text,text,text,text,text,text,text,text,text,text,text,text,text,text,text,boolean,text,text,jsonb,jsonb,jsonb,text[],jsonb,interval,interval,text)"
	"agent_sessions.get_session(uuid)"
	"agent_sessions.get_session(text)"
	"agent_sessions.heartbeat(uuid,agent_sessions.session_activity)"
	"agent_sessions.transition(uuid,agent_sessions.session_status,bigint,text,jsonb,jsonb,text,text,text)"
	"agent_sessions.start_session(uuid,text,bigint,text)"
	"agent_sessions.complete_session(uuid,jsonb,text,text,jsonb,numeric,bigint,text)"
	"agent_sessions.fail_session(uuid,jsonb,text,text,bigint,text)"
	"agent_sessions.cancel_session(uuid,text,bigint)"
	"agent_sessions.add_usage(uuid,jsonb,numeric)"
)

# Functions PUBLIC may execute although they are VOLATILE: they write
# nothing.  (Every other function PUBLIC can execute must be STABLE or
# IMMUTABLE, which cannot write.)
public_volatile_allowed=(
	"agent_sessions.uuid_v7()"     # makes an id from the clock and randomness
)

# 1. Install and upgrade scripts: no IF NOT EXISTS, and no OR REPLACE in
#    the install script (a planted object of the same name would be kept or
#    replaced silently).  The DDL form names an object next; PL/pgSQL's IF
#    NOT EXISTS (SELECT ...) is fine.  An update script A--B may CREATE OR
#    REPLACE only a function or view that version A's script creates: it
#    replaces the extension's own object, and PostgreSQL refuses to replace
#    one that is not a member of the extension.
scripts=$(ls "$rel_top"/sql/install/*.sql "$rel_top"/sql/agent_sessions--*--*.sql 2>/dev/null || true)
for f in $scripts; do
	if sed 's/--.*$//' "$f" | grep -inE 'IF[[:space:]]+NOT[[:space:]]+EXISTS[[:space:]]+[^([:space:]]' >/dev/null; then
		fail "$(basename "$f") uses IF NOT EXISTS:"
		sed 's/--.*$//' "$f" | grep -inE 'IF[[:space:]]+NOT[[:space:]]+EXISTS[[:space:]]+[^([:space:]]' | head -n 5
	fi
	replaced=$(sed 's/--.*$//' "$f" | grep -ioE 'OR[[:space:]]+REPLACE[[:space:]]+[A-Z]+[[:space:]]+[^[:space:](]+' || true)
	[ -n "$replaced" ] || continue
	case $(basename "$f") in
	agent_sessions--*--*.sql)
		from=$(basename "$f" | sed -E 's/^agent_sessions--([^-]+)--.*$/\1/')
		while read -r _ _ kind name; do
			if ! grep -qE "^CREATE $kind $name( |\(|$)" "$rel_top/sql/agent_sessions--$from.sql"; then
				fail "$(basename "$f") replaces $kind $name, which version $from does not create"
			fi
		done <<<"$replaced"
		;;
	*)
		fail "$(basename "$f") uses CREATE OR REPLACE:"
		echo "$replaced" | head -n 5
		;;
	esac
done
echo "install and upgrade scripts checked: $(echo "$scripts" | wc -w)"

# 2. The catalog of an installed extension
rel_fresh_db "$db"
rel_psql -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION agent_sessions"

definers=$(printf "'%s'," "${definer_allowed[@]}" "")
volatiles=$(printf "'%s'," "${public_volatile_allowed[@]}")
unpinned=$(printf "'%s'," "${unpinned_allowed[@]}")
violations=$(psql -X -At -F ' | ' -d "$db" <<SQL
WITH ext AS (
    SELECT objid FROM pg_depend
     WHERE refclassid = 'pg_extension'::regclass
       AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'agent_sessions')
       AND deptype = 'e'
),
fn AS (
    SELECT p.oid, p.oid::regprocedure::text AS name, p.prosecdef, p.provolatile, p.proconfig,
           coalesce(p.proacl, acldefault('f', p.proowner)) AS acl
      FROM pg_proc p
     WHERE p.pronamespace::regnamespace::text IN ('agent_sessions', 'agent_sessions_api')
),
rel AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.relrowsecurity, c.reloptions,
           coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl
      FROM pg_class c
     WHERE c.relnamespace::regnamespace::text IN ('agent_sessions', 'agent_sessions_api')
       AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
)
SELECT 'search_path not pinned', name, coalesce(array_to_string(proconfig, ', '), 'no SET clause')
  FROM fn WHERE NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
               AND name NOT IN (${unpinned%,})
UNION ALL
SELECT 'unpinned search_path allowed for a function that is not C', name, l.lanname
  FROM fn JOIN pg_proc p USING (oid) JOIN pg_language l ON l.oid = p.prolang
 WHERE name IN (${unpinned%,}) AND l.lanname <> 'c'
UNION ALL
SELECT 'SECURITY DEFINER without a reason', name, ''
  FROM fn WHERE prosecdef AND name NOT IN (${definers%,})
UNION ALL
SELECT 'PUBLIC can execute a function that may write', name,
       CASE provolatile WHEN 'v' THEN 'VOLATILE' ELSE provolatile::text END
  FROM fn
 WHERE provolatile = 'v' AND name NOT IN (${volatiles%,})
   AND EXISTS (SELECT FROM aclexplode(acl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
UNION ALL
SELECT 'PUBLIC has a privilege on a relation', name, string_agg(a.privilege_type, ', ')
  FROM rel, aclexplode(acl) a
 WHERE a.grantee = 0
 GROUP BY name
UNION ALL
SELECT 'tenant data without row-level security', name, ''
  FROM rel
 WHERE relkind IN ('r', 'p') AND NOT relrowsecurity
   AND EXISTS (SELECT FROM pg_attribute a
                WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
                  AND a.attname IN ('user_id', 'organization_id'))
UNION ALL
SELECT 'view not security_invoker', name, coalesce(array_to_string(reloptions, ', '), '')
  FROM rel
 WHERE relkind = 'v' AND NOT coalesce('security_invoker=true' = ANY (reloptions), false)
UNION ALL
SELECT 'object of the schema not owned by the extension', name, ''
  FROM (SELECT oid, name FROM fn UNION ALL SELECT oid, name FROM rel WHERE relkind <> 'S') AS o
 WHERE o.oid NOT IN (SELECT objid FROM ext)
   AND o.oid NOT IN (SELECT d.objid FROM pg_depend d JOIN ext ON d.refobjid = ext.objid WHERE d.deptype IN ('i', 'a'))
ORDER BY 1, 2;
SQL
)
counts=$(psql -X -At -d "$db" -c "
    SELECT format('%s functions (%s SECURITY DEFINER, %s executable by PUBLIC), %s tables with row-level security, %s views',
        count(*) FILTER (WHERE kind = 'f'), count(*) FILTER (WHERE definer),
        count(*) FILTER (WHERE kind = 'f' AND public_exec),
        count(*) FILTER (WHERE kind = 'r' AND rls), count(*) FILTER (WHERE kind = 'v'))
      FROM (SELECT 'f' AS kind, p.prosecdef AS definer, false AS rls,
                   has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
              FROM pg_proc p WHERE p.pronamespace::regnamespace::text IN ('agent_sessions', 'agent_sessions_api')
            UNION ALL
            SELECT c.relkind::text, false, c.relrowsecurity, false
              FROM pg_class c WHERE c.relnamespace::regnamespace::text IN ('agent_sessions', 'agent_sessions_api')
               AND c.relkind IN ('r', 'v')) AS o")
echo "catalog: $counts"
if [ -n "$violations" ]; then
	while IFS= read -r line; do fail "$line"; done <<<"$violations"
fi

# 3. A hostile search_path: before CREATE EXTENSION, a user who may create
#    objects in public plants functions and operators under names the
#    extension uses (now, nextval, md5, pg_notify, jsonb and text functions,
#    =, <>, <, >=, ||, + for the types it compares).  The superuser installs
#    with public ahead of pg_catalog and walks sessions through every
#    operation; each planted object records any call in public.captured.
rel_fresh_db "$db"
rel_psql -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP ROLE IF EXISTS mallory;
CREATE ROLE mallory;
GRANT CREATE ON SCHEMA public TO mallory;
CREATE TABLE public.captured (name text);
GRANT INSERT ON public.captured TO PUBLIC;
SET ROLE mallory;
DO $plant$
DECLARE
    f record;
BEGIN
    -- functions: name, argument types, and the pg_catalog function to delegate to
    FOR f IN SELECT * FROM (VALUES
        ('now', '', 'pg_catalog.now()', 'timestamptz'),
        ('nextval', 'regclass', 'pg_catalog.nextval($1)', 'bigint'),
        ('md5', 'text', 'pg_catalog.md5($1)', 'text'),
        ('pg_notify', 'text, text', 'pg_catalog.pg_notify($1, $2)', 'void'),
        ('jsonb_typeof', 'jsonb', 'pg_catalog.jsonb_typeof($1)', 'text'),
        ('to_jsonb', 'numeric', 'pg_catalog.to_jsonb($1)', 'jsonb'),
        ('current_setting', 'text, boolean', 'pg_catalog.current_setting($1, $2)', 'text'),
        ('gen_random_uuid', '', 'pg_catalog.gen_random_uuid()', 'uuid'),
        ('uuid_v7', '', 'pg_catalog.gen_random_uuid()', 'uuid'),
        ('format_session_id', 'uuid', '''session_'' OPERATOR(pg_catalog.||) pg_catalog.replace($1::text, ''-'', '''')', 'text'),
        ('caller_user_id', '', '''''::text', 'text'),
        ('caller_organization_id', '', '''''::text', 'text'),
        ('texteq', 'text, text', 'pg_catalog.texteq($1, $2)', 'boolean'),
        ('array_length', 'anyarray, integer', 'pg_catalog.array_length($1, $2)', 'integer'),
        ('lower', 'text', 'pg_catalog.lower($1)', 'text'),
        ('length', 'text', 'pg_catalog.length($1)', 'integer'),
        ('jsonb_build_object', 'text, text', 'pg_catalog.jsonb_build_object($1, $2)', 'jsonb'))
        AS t(name, args, body, rettype)
    LOOP
        EXECUTE format($f$
            CREATE FUNCTION public.%1$I(%2$s) RETURNS %4$s LANGUAGE sql AS
            $body$ INSERT INTO public.captured VALUES (%5$L); SELECT %3$s $body$$f$,
            f.name, f.args, f.body, f.rettype, f.name || '(' || f.args || ')');
    END LOOP;

    -- operators on the types the extension compares
    FOR f IN SELECT * FROM (VALUES
        ('=', 'uuid', 'uuid', 'uuid_eq'), ('<', 'uuid', 'uuid', 'uuid_lt'),
        ('=', 'text', 'text', 'texteq'), ('<>', 'text', 'text', 'textne'),
        ('||', 'text', 'text', 'textcat'), ('=', 'bigint', 'bigint', 'int8eq'),
        ('+', 'bigint', 'bigint', 'int8pl'), ('>', 'bigint', 'bigint', 'int8gt'),
        ('+', 'numeric', 'numeric', 'numeric_add'),
        ('<=', 'timestamptz', 'timestamptz', 'timestamptz_le'),
        ('>=', 'timestamptz', 'timestamptz', 'timestamptz_ge'),
        ('<', 'timestamptz', 'timestamptz', 'timestamptz_lt'),
        ('-', 'timestamptz', 'interval', 'timestamptz_mi_interval'),
        ('+', 'timestamptz', 'interval', 'timestamptz_pl_interval'),
        ('>', 'interval', 'interval', 'interval_gt'),
        ('||', 'jsonb', 'jsonb', 'jsonb_concat'), ('->', 'jsonb', 'text', 'jsonb_object_field'),
        ('->>', 'jsonb', 'text', 'jsonb_object_field_text'), ('@>', 'text[]', 'text[]', 'arraycontains'),
        ('&&', 'text[]', 'text[]', 'arrayoverlap'))
        AS t(op, lt, rt, impl)
    LOOP
        EXECUTE format($f$
            CREATE FUNCTION public.%1$I(%2$s, %3$s) RETURNS %5$s LANGUAGE sql AS
            $body$ INSERT INTO public.captured VALUES (%6$L); SELECT pg_catalog.%4$I($1, $2) $body$$f$,
            'evil_' || f.impl, f.lt, f.rt, f.impl,
            (SELECT prorettype::regtype::text FROM pg_proc WHERE proname = f.impl AND pronamespace = 'pg_catalog'::regnamespace LIMIT 1),
            'operator ' || f.op || ' (' || f.lt || ', ' || f.rt || ')');
        EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.%I)',
                       f.op, f.lt, f.rt, 'evil_' || f.impl);
    END LOOP;
END
$plant$;
RESET ROLE;

-- the installer's search_path puts the planted objects first
SET search_path = public, pg_catalog;
CREATE EXTENSION agent_sessions;

-- every operation, as the owner and as a tenant under row-level security
SELECT (agent_sessions.create_session(user_id => 'user_a', prompt => 'p', organization_id => 'org',
                                      agent_id => 'agent', tags => '{a,b}', idempotency_key => 'k',
                                      metadata => '{"a": 1}')).id AS first \gset
SELECT agent_sessions.create_session(user_id => 'user_a', prompt => 'p', organization_id => 'org',
                                     agent_id => 'agent', tags => '{a,b}', idempotency_key => 'k',
                                     metadata => '{"a": 1}');
SELECT agent_sessions.start_session(:'first', machine_id => 'm');
SELECT agent_sessions.heartbeat(:'first', 'idle');
SELECT agent_sessions.heartbeat(:'first');
SET agent_sessions.heartbeat_granularity = 0;
SELECT agent_sessions.heartbeat(:'first');
SELECT agent_sessions.heartbeat(:'first', 'busy');
RESET agent_sessions.heartbeat_granularity;
SELECT agent_sessions.add_usage(:'first', '{"input_tokens": 5}', 0.5);
SELECT agent_sessions.add_usage(:'first');
SELECT agent_sessions.complete_session(:'first', output => '{"x": 1}', usage => '{"input_tokens": 1}', cost => 1);
SELECT agent_sessions.get_session(:'first');
SELECT agent_sessions.get_session(agent_sessions.format_session_id(:'first'));
SELECT agent_sessions.parse_session_id(agent_sessions.format_session_id(:'first'));
SELECT count(*) FROM agent_sessions.list_sessions(status => '{completed}', tags_any => '{a}', tags_all => '{a}',
                                                  created_after => '-infinity', active_before => 'infinity');
SELECT agent_sessions.count_sessions(user_id => 'user_a', agent_id => 'agent');
SELECT (agent_sessions.create_session(user_id => 'user_a', prompt => 'q')).id AS second \gset
SELECT agent_sessions.transition(:'second', 'starting', reason => 'r');
SELECT agent_sessions.fail_session(:'second', message => 'm', error => '{"type": "t"}');
SELECT (agent_sessions.create_session(user_id => 'user_a', prompt => 'q')).id AS third \gset
SELECT agent_sessions.cancel_session(:'third', reason => 'r');
SELECT (agent_sessions.create_session(user_id => 'user_a', prompt => 'q')).id AS fourth \gset
UPDATE agent_sessions.sessions SET status = 'starting', title = 't' WHERE id OPERATOR(pg_catalog.=) :'fourth';
UPDATE agent_sessions.sessions SET status = 'failed' WHERE id OPERATOR(pg_catalog.=) :'fourth';
INSERT INTO agent_sessions.sessions (id, user_id, created_at, updated_at, last_activity_at)
VALUES ('00000000-0000-7000-8000-000000000001', 'user_b', pg_catalog.now(), pg_catalog.now(), pg_catalog.now());
UPDATE agent_sessions.sessions SET agent_id = 'agent_b', project_id = '00000000-0000-4000-8000-000000000001'
 WHERE id OPERATOR(pg_catalog.=) '00000000-0000-7000-8000-000000000001';
DELETE FROM agent_sessions.session_events WHERE session_id OPERATOR(pg_catalog.=) '00000000-0000-7000-8000-000000000001';
DELETE FROM agent_sessions.sessions WHERE id OPERATOR(pg_catalog.=) '00000000-0000-7000-8000-000000000001';
SELECT agent_sessions.usage_add('{"a": 1}', '{"a": 2}');
SELECT set_config('request.jwt.claims', '{"sub": "user_a", "org_id": "org"}', false);
SELECT agent_sessions.caller_user_id(), agent_sessions.caller_organization_id();
CREATE ROLE mallory_tenant;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions TO mallory_tenant;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA agent_sessions TO mallory_tenant;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agent_sessions TO mallory_tenant;
SET ROLE mallory_tenant;
SELECT count(*) FROM agent_sessions.sessions;
SELECT count(*) FROM agent_sessions.session_events;
SELECT agent_sessions.create_session(prompt => 'as a tenant');
RESET ROLE;
SQL
captured=$(psql -X -At -d "$db" -c "SELECT string_agg(DISTINCT name, ', ') FROM public.captured")
planted=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
echo "hostile search_path: $planted planted functions and operators, calls captured: ${captured:-none}"
[ -z "$captured" ] || fail "a planted object captured a call: $captured"

rel_psql -d postgres -c "DROP DATABASE $db WITH (FORCE)" \
	-c "DROP ROLE mallory_tenant" -c "DROP ROLE mallory"
echo "security checks failed: $failures"
[ "$failures" -eq 0 ]
