-- agent_sessions_api: what PostgREST exposes, how, and who may call it.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
SELECT plan(43);

-- ----- only views and functions, and the views apply the caller's RLS -----

SELECT is(
    (SELECT array_agg(DISTINCT c.relkind::text) FROM pg_class c
      WHERE c.relnamespace = 'agent_sessions_api'::regnamespace AND c.relkind <> 'c'),
    ARRAY['v'],
    'agent_sessions_api holds no relation but views');
SELECT is(
    (SELECT count(*)::integer FROM pg_type t
      WHERE t.typnamespace = 'agent_sessions_api'::regnamespace AND t.typrelid = 0 AND t.typelem = 0),
    0,
    'agent_sessions_api holds no type of its own');
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
      WHERE c.relnamespace = 'agent_sessions_api'::regnamespace AND c.relkind = 'v'
        AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)),
    NULL,
    'every view is security_invoker');
SELECT is(
    (SELECT array_agg(p.proname::text) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND p.prokind <> 'f'),
    NULL,
    'every routine is a function (no procedures, aggregates or window functions)');
SELECT ok(
    (SELECT bool_and(d.deptype = 'e') FROM pg_depend d
      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = 'agent_sessions_api'::regnamespace
        AND d.refclassid = 'pg_extension'::regclass),
    'the schema belongs to the extension');

-- ----- PostgREST-friendly functions -----

SELECT is(
    (SELECT array_agg(p.proname::text) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
      GROUP BY p.proname HAVING count(*) > 1),
    NULL,
    'no overloaded function');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
        AND (p.pronargs <> p.pronargdefaults
             OR p.proargnames IS NULL
             OR array_position(p.proargnames[1:p.pronargs], '') IS NOT NULL)),
    NULL,
    'every parameter is named and has a default (a missing one is a 400 naming it)');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
        AND (p.prosecdef OR NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false))),
    NULL,
    'every function is SECURITY INVOKER with search_path pinned');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND p.provolatile = 'v'),
    ARRAY['cancel_session', 'complete_session', 'create_agent_session', 'fail_session',
          'get_agent_session', 'heartbeat', 'start_session'],
    'writes, and the long-poll get, are VOLATILE');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND p.provolatile = 's'),
    ARRAY['get_session', 'list_sessions', 'project_agent_sessions'],
    'the other reads are STABLE');

-- ----- comments: the OpenAPI document -----

SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
        AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''),
    NULL,
    'every function has a comment');
SELECT is(
    (SELECT array_agg(c.relname || '.' || a.attname ORDER BY c.relname, a.attnum) FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
      WHERE c.relnamespace = 'agent_sessions_api'::regnamespace
        AND coalesce(col_description(c.oid, a.attnum), '') = ''),
    NULL,
    'every view column has a comment');
SELECT is(
    (SELECT count(*)::integer FROM pg_class c
      WHERE c.relnamespace = 'agent_sessions_api'::regnamespace
        AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''),
    0,
    'every view has a comment');
SELECT ok(obj_description('agent_sessions_api'::regnamespace, 'pg_namespace') LIKE 'agent_sessions API' || chr(10) || '%',
          'the schema comment gives the API a title line');
SELECT is(
    (SELECT count(*)::integer FROM (
        SELECT obj_description(p.oid, 'pg_proc') AS c FROM pg_proc p
         WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
        UNION ALL
        SELECT obj_description(c.oid, 'pg_class') FROM pg_class c
         WHERE c.relnamespace = 'agent_sessions_api'::regnamespace AND c.relkind = 'v'
        UNION ALL
        SELECT col_description(a.attrelid, a.attnum) FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'agent_sessions_api'::regnamespace AND a.attnum > 0) AS d
      WHERE d.c ~ '(^|\n)\s*@'),
    0,
    'no comment carries PostGraphile smart-comment lines (@...)');

-- ----- privileges -----

SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p, aclexplode(p.proacl) a
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND a.grantee = 0),
    NULL,
    'no API function is executable by PUBLIC');
SELECT is(
    (SELECT count(*)::integer FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND p.proacl IS NULL),
    0,
    'every API function has explicit privileges (not the PUBLIC default)');
SELECT is(
    (SELECT count(*)::integer FROM pg_namespace n, aclexplode(n.nspacl) a
      WHERE n.oid = 'agent_sessions_api'::regnamespace AND a.grantee = 0),
    0,
    'PUBLIC may not use the API schema');

CREATE ROLE api_test_role NOLOGIN;
SELECT agent_sessions.grant_api('api_test_role');

SELECT ok(has_schema_privilege('api_test_role', 'agent_sessions_api', 'USAGE')
          AND has_schema_privilege('api_test_role', 'agent_sessions', 'USAGE'),
          'grant_api: usage of both schemas');
SELECT ok(has_table_privilege('api_test_role', 'agent_sessions_api.agent_sessions', 'SELECT')
          AND has_table_privilege('api_test_role', 'agent_sessions_api.sessions', 'SELECT'),
          'grant_api: SELECT on the views');
SELECT ok(NOT has_table_privilege('api_test_role', 'agent_sessions_api.sessions', 'INSERT, UPDATE, DELETE')
          AND NOT has_table_privilege('api_test_role', 'agent_sessions_api.agent_sessions', 'INSERT, UPDATE, DELETE'),
          'grant_api: no writes through the views (PostgREST offers no POST, PATCH or DELETE on them)');
SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions_api'::regnamespace
        AND NOT has_function_privilege('api_test_role', p.oid, 'EXECUTE')),
    NULL,
    'grant_api: EXECUTE on every API function');
SELECT is(
    ARRAY[has_table_privilege('api_test_role', 'agent_sessions.sessions', 'SELECT'),
          has_table_privilege('api_test_role', 'agent_sessions.sessions', 'INSERT'),
          has_table_privilege('api_test_role', 'agent_sessions.sessions', 'UPDATE'),
          has_table_privilege('api_test_role', 'agent_sessions.sessions', 'DELETE'),
          has_table_privilege('api_test_role', 'agent_sessions.sessions', 'TRUNCATE')],
    ARRAY[true, true, true, false, false],
    'grant_api: SELECT, INSERT, UPDATE on sessions, no DELETE or TRUNCATE');
SELECT is(
    ARRAY[has_table_privilege('api_test_role', 'agent_sessions.session_events', 'SELECT'),
          has_table_privilege('api_test_role', 'agent_sessions.session_events', 'INSERT'),
          has_table_privilege('api_test_role', 'agent_sessions.session_events', 'UPDATE'),
          has_table_privilege('api_test_role', 'agent_sessions.session_events', 'DELETE'),
          has_sequence_privilege('api_test_role', 'agent_sessions.session_events_event_id_seq', 'USAGE')],
    ARRAY[true, true, false, false, true],
    'grant_api: SELECT, INSERT on session_events (append-only) and its sequence');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions'::regnamespace
        AND has_function_privilege('api_test_role', p.oid, 'EXECUTE')
        AND p.proname IN ('grant_api', 'transition', 'add_usage', 'sessions_guard', 'list_sessions', 'count_sessions')),
    NULL,
    'grant_api: nothing the API does not call (no grant_api, transition, add_usage, list_sessions)');
SELECT is(
    (SELECT count(*)::integer FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.relnamespace IN ('agent_sessions'::regnamespace, 'agent_sessions_api'::regnamespace)
        AND a.grantee = 0),
    0,
    'grant_api: no table, view or sequence privilege for PUBLIC');

SELECT throws_ok($$SELECT agent_sessions.grant_api('public')$$, '22023', NULL,
                 'grant_api refuses PUBLIC');
SELECT throws_ok($$SELECT agent_sessions.grant_api('no_such_role_here')$$, '42704', NULL,
                 'grant_api refuses a role that does not exist');
SELECT ok(NOT has_function_privilege('api_test_role', 'agent_sessions.grant_api(name)', 'EXECUTE'),
          'grant_api itself stays with the owner');

-- ----- row-level security in the forms Citus evaluates on its workers -----

SELECT is(
    (SELECT count(*)::integer FROM pg_policies p
      WHERE p.schemaname = 'agent_sessions' AND p.tablename IN ('sessions', 'session_events')),
    2,
    'one tenant policy on each table');
SELECT is(
    (SELECT array_agg(p.policyname::text) FROM pg_policies p
      WHERE p.schemaname = 'agent_sessions'
        AND (coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')) ~* '(exists|select|is (not )?(true|false|unknown)|current_setting)'),
    NULL,
    'the policies use no subquery, no IS TRUE/FALSE and no current_setting');
SELECT is(
    (SELECT array_agg(p.policyname::text) FROM pg_policies p
      WHERE p.schemaname = 'agent_sessions'
        AND regexp_replace(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''),
                           '\(organization_id IS NULL\)', '', 'g') ~* 'is (not )?null'),
    NULL,
    'IS NULL appears only on a column (organization_id), never on a function result');
SELECT ok(
    (SELECT bool_and(p.qual = p.with_check) FROM pg_policies p WHERE p.schemaname = 'agent_sessions'),
    'what a caller may write is what it may read');
SELECT ok(
    (SELECT bool_and(c.relrowsecurity) FROM pg_class c
      WHERE c.oid IN ('agent_sessions.sessions'::regclass, 'agent_sessions.session_events'::regclass)),
    'row-level security is on for both tables');

-- ----- what the seed vocabularies derive from status, activity and time -----

SET LOCAL timezone = 'Pacific/Chatham';
CREATE TEMP TABLE t AS
SELECT (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS queued,
       (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS starting,
       (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS busy,
       (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS idle,
       (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS stale,
       (agent_sessions.create_session(user_id => 'u', organization_id => 'o', prompt => 'p')).id AS ended;
SELECT agent_sessions.transition(starting, 'starting') FROM t \g /dev/null
SELECT agent_sessions.start_session(busy), agent_sessions.start_session(idle),
       agent_sessions.start_session(stale), agent_sessions.start_session(ended) FROM t \g /dev/null
SELECT agent_sessions.heartbeat(idle, 'idle'), agent_sessions.cancel_session(ended) FROM t \g /dev/null
SET LOCAL session_replication_role = replica;
UPDATE agent_sessions.sessions SET last_activity_at = now() - interval '16 minutes'
 WHERE id = (SELECT stale FROM t);
SET LOCAL session_replication_role = origin;

SELECT is(
    ARRAY(SELECT agent_sessions_api.get_session(x::text) ->> 'status'
            FROM t, unnest(ARRAY[queued, starting, busy, idle, ended]) AS x),
    ARRAY['started', 'started', 'active', 'idle', 'idle'],
    '001 status: queued and starting are started, running busy is active, running idle and ended are idle');
SELECT is(
    ARRAY(SELECT v."hasWorker" FROM t, unnest(ARRAY[queued, starting, busy, idle, stale, ended]) AS x
            JOIN agent_sessions_api.agent_sessions v ON v.id = x),
    ARRAY[false, true, true, true, false, false],
    '000 hasWorker: starting or running with activity within the inactivity timeout (15 minutes)');
SET LOCAL agent_sessions.inactivity_timeout = '20min';
SELECT is((SELECT v."hasWorker" FROM t JOIN agent_sessions_api.agent_sessions v ON v.id = t.stale), true,
          '000 hasWorker follows agent_sessions.inactivity_timeout');
RESET agent_sessions.inactivity_timeout;
SELECT is(
    ARRAY(SELECT v.is_running FROM t, unnest(ARRAY[queued, starting, busy, idle, ended]) AS x
            JOIN agent_sessions_api.sessions v ON v.id = x),
    ARRAY[false, true, true, false, false],
    '002 is_running: starting or running, and busy');
SELECT is(
    (SELECT count(*)::integer FROM agent_sessions.sessions s
       JOIN agent_sessions_api.agent_sessions v ON v.id = s.id
      WHERE v."createdAt"::timestamptz <> s.created_at OR v."updatedAt"::timestamptz <> s.updated_at
         OR v."lastActivityAt"::timestamptz <> s.last_activity_at),
    0,
    'Z timestamps are the stored instants to the microsecond, whatever the session time zone');
SELECT ok(
    (SELECT bool_and(v."createdAt" ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$') FROM agent_sessions_api.agent_sessions v),
    'Z timestamps are written in UTC ending in Z');
SELECT is(
    (SELECT count(*)::integer FROM agent_sessions.sessions s
       JOIN agent_sessions_api.sessions v ON v.id = s.id
      WHERE v.finished_at IS DISTINCT FROM to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
         OR v.started_at::timestamptz IS DISTINCT FROM s.started_at),
    0,
    'the snake_case view renders its timestamps the same way (NULL stays NULL)');
SELECT is(agent_sessions_api.get_agent_session((SELECT ended::text FROM t)) ->> 'endReason', 'cancelled',
          'get_agent_session reads a session (as its owner here)');
SELECT throws_ok($$SELECT agent_sessions_api.get_agent_session('0190a000-0000-7000-8000-000000000000')$$,
                 'PT404', NULL, 'get_agent_session of an unknown id is PT404');

SELECT * FROM finish();
ROLLBACK;
