-- session_scopes: each session's id and scopes, which the listing indexes
-- are on, kept equal to sessions by create_session() and by the
-- sessions_scopes triggers for every other write
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(30);

-- session_scopes and sessions hold the same ids and scopes, row for row
CREATE FUNCTION pg_temp.scopes_differ()
RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*)
      FROM (SELECT id, organization_id, project_id, user_id, agent_id FROM agent_sessions.sessions) s
      FULL JOIN agent_sessions.session_scopes sc USING (id)
     WHERE s.id IS NULL OR sc.id IS NULL
        OR (s.organization_id, s.project_id, s.user_id, s.agent_id)
           IS DISTINCT FROM (sc.organization_id, sc.project_id, sc.user_id, sc.agent_id)
$$;

-- create_session() writes both rows in one statement
SELECT id AS s1 FROM agent_sessions.create_session(
    user_id => 'u1', organization_id => 'o1',
    project_id => '00000000-0000-0000-0000-0000000000a1', agent_id => 'a1') \gset
SELECT results_eq(
    format('SELECT organization_id, project_id, user_id, agent_id FROM agent_sessions.session_scopes WHERE id = %L', :'s1'),
    $$VALUES ('o1', '00000000-0000-0000-0000-0000000000a1'::uuid, 'u1', 'a1')$$,
    'create_session writes the session''s scopes row');
SELECT id AS s2 FROM agent_sessions.create_session(user_id => 'u2', idempotency_key => 'k') \gset
SELECT is((SELECT id FROM agent_sessions.create_session(user_id => 'u2', idempotency_key => 'k')), :'s2'::uuid,
          'a retried keyed create returns the first session');
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'and writes no second scopes row');
SELECT is((SELECT count(*) FROM agent_sessions.session_scopes), 2::bigint, 'two sessions, two scopes rows');

-- INSERTs made outside the extension's functions
INSERT INTO agent_sessions.sessions (user_id, organization_id, agent_id, created_at, updated_at, last_activity_at)
VALUES ('u3', 'o1', 'a3', now(), now(), now());
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'a direct INSERT gets its scopes row from the trigger');
INSERT INTO agent_sessions.sessions (user_id, organization_id, agent_id, created_at, updated_at, last_activity_at)
SELECT 'bulk', 'o2', 'a' || i % 3, now(), now(), now() FROM generate_series(1, 50) AS i;
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'an INSERT ... SELECT of 50 rows gets 50 scopes rows');
SELECT is(agent_sessions.count_sessions(organization_id => 'o2', agent_id => 'a1'), 17::bigint,
          'and they are listed by organization and agent');

-- Scopes changed by a direct UPDATE (a PostgREST PATCH)
UPDATE agent_sessions.sessions SET project_id = '00000000-0000-0000-0000-0000000000a2', agent_id = 'a9'
 WHERE id = :'s1';
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'a direct UPDATE of project_id and agent_id reaches session_scopes');
SELECT is(ARRAY(SELECT id FROM agent_sessions.list_sessions(project_id => '00000000-0000-0000-0000-0000000000a2')),
          ARRAY[:'s1'::uuid], 'the session is listed under its new project');
SELECT is(agent_sessions.count_sessions(project_id => '00000000-0000-0000-0000-0000000000a1'), 0::bigint,
          'and no longer under the old one');
SELECT is(agent_sessions.count_sessions(agent_id => 'a1', organization_id => 'o1'), 0::bigint,
          'nor under its old agent');
UPDATE agent_sessions.sessions SET organization_id = NULL WHERE user_id = 'u3';
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'a scope set to NULL reaches session_scopes');
SELECT is(agent_sessions.count_sessions(organization_id => 'o1'), 1::bigint,
          'and the session leaves its organization''s listing');

-- A scopes row that went missing (rows loaded with triggers off) comes
-- back with the next change of a scope
DELETE FROM agent_sessions.session_scopes WHERE id = :'s2';
SELECT is(agent_sessions.count_sessions(user_id => 'u2'), 0::bigint,
          'a session without its scopes row is not listed by scope');
UPDATE agent_sessions.sessions SET agent_id = 'a2' WHERE id = :'s2';
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'changing a scope writes the missing row again');
INSERT INTO agent_sessions.session_scopes (id, organization_id, user_id)
VALUES ('00000000-0000-7000-8000-0000000000e1', 'stale', 'stale');
INSERT INTO agent_sessions.sessions (id, user_id, organization_id, created_at, updated_at, last_activity_at)
VALUES ('00000000-0000-7000-8000-0000000000e1', 'u4', 'o1', now(), now(), now());
SELECT is(pg_temp.scopes_differ(), 0::bigint,
          'a direct INSERT replaces a stale scopes row left for its id');

-- Moves and heartbeats never touch session_scopes
SELECT n_tup_ins + n_tup_upd + n_tup_del AS writes_before FROM pg_stat_xact_user_tables
 WHERE relid = 'agent_sessions.session_scopes'::regclass \gset
SELECT agent_sessions.start_session(:'s1') IS NOT NULL AS started \gset
SELECT agent_sessions.heartbeat(:'s1') IS NOT NULL AS beat \gset
SELECT agent_sessions.complete_session(:'s1') IS NOT NULL AS completed \gset
SELECT is((SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables
            WHERE relid = 'agent_sessions.session_scopes'::regclass), :'writes_before'::bigint,
          'start, heartbeat and complete write nothing to session_scopes');

-- DELETE and TRUNCATE
DELETE FROM agent_sessions.session_events WHERE user_id = 'bulk';
DELETE FROM agent_sessions.sessions WHERE user_id = 'bulk';
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'a DELETE removes the scopes rows');
SELECT is((SELECT count(*) FROM agent_sessions.session_scopes), 4::bigint, 'four sessions are left');

-- An API role writes session_scopes with its own rights, under its own
-- row-level security
SELECT pg_temp.api_role('agent_sessions_tap_scopes') \gset
SET LOCAL ROLE agent_sessions_tap_scopes;
SET LOCAL request.jwt.claims = '{"sub": "w", "org_id": "o7"}';
SELECT lives_ok($$SELECT agent_sessions.create_session(agent_id => 'aw')$$, 'an API role creates a session');
SELECT lives_ok($$INSERT INTO agent_sessions.sessions (user_id, organization_id, created_at, updated_at, last_activity_at)
                  VALUES ('w', 'o7', now(), now(), now())$$,
                'and inserts one directly');
SELECT is(agent_sessions.count_sessions(organization_id => 'o7'), 2::bigint, 'both are listed in its organization');
SELECT is((SELECT count(*) FROM agent_sessions.session_scopes), 2::bigint,
          'it sees only its organization''s scopes rows');
SELECT is(pg_temp.sqlstate_of($$INSERT INTO agent_sessions.sessions (user_id, organization_id, created_at, updated_at, last_activity_at)
                                VALUES ('w', 'o8', now(), now(), now())$$),
          '42501', 'a session of another organization is refused, scopes row and all');
SELECT is(pg_temp.sqlstate_of($$UPDATE agent_sessions.session_scopes SET project_id = NULL$$), '42501',
          'it may not write session_scopes directly: UPDATE is 42501');
SELECT is(pg_temp.sqlstate_of($$INSERT INTO agent_sessions.session_scopes (id, organization_id, user_id)
                                VALUES (agent_sessions.uuid_v7(), 'o7', 'w')$$),
          '42501', 'nor INSERT');
RESET request.jwt.claims;
RESET ROLE;

-- A trigger of the user's that creates a session while create_session()
-- creates another (user triggers named before sessions_scopes fire first)
CREATE FUNCTION pg_temp.create_inner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM agent_sessions.create_session(user_id => 'inner', agent_id => 'ai');
    RETURN NULL;
END $$;
CREATE TRIGGER a_create_inner AFTER INSERT ON agent_sessions.sessions
    FOR EACH ROW WHEN (NEW.user_id = 'outer') EXECUTE FUNCTION pg_temp.create_inner();
SELECT lives_ok($$SELECT agent_sessions.create_session(user_id => 'outer', agent_id => 'ao')$$,
                'a create whose trigger creates another session succeeds');
SELECT is(pg_temp.scopes_differ(), 0::bigint, 'and both sessions have their one scopes row');
DROP TRIGGER a_create_inner ON agent_sessions.sessions;
SELECT is(agent_sessions.count_sessions(agent_id => 'ai') + agent_sessions.count_sessions(agent_id => 'ao'),
          2::bigint, 'both are listed by agent');

SET LOCAL client_min_messages = warning;
TRUNCATE agent_sessions.sessions CASCADE;
SELECT is((SELECT count(*) FROM agent_sessions.session_scopes), 0::bigint, 'TRUNCATE empties session_scopes');

SELECT * FROM finish();
ROLLBACK;
