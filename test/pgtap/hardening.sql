-- Inputs that once crashed a backend or ended in an undocumented SQLSTATE
-- (found by test/integration/bad_input.sh and the soak), each held to its
-- documented error now.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
SELECT plan(14);

SELECT (agent_sessions.create_session(user_id => 'u', prompt => 'p')).id AS sid \gset

-- a direct UPDATE to a NULL status or activity reached the guard trigger
-- before the NOT NULL constraint and crashed the backend
SELECT throws_ok(format('UPDATE agent_sessions.sessions SET status = NULL WHERE id = %L', :'sid'),
                 '23502', NULL, 'a direct UPDATE of status to NULL is refused by NOT NULL');
SELECT throws_ok(format('UPDATE agent_sessions.sessions SET activity = NULL WHERE id = %L', :'sid'),
                 '23502', NULL, 'a direct UPDATE of activity to NULL is refused by NOT NULL');
SELECT is((SELECT status::text || '/' || activity::text FROM agent_sessions.sessions WHERE id = :'sid'),
          'queued/busy', 'the session is unchanged');

-- a direct UPDATE that changes nothing bumped the version (the guard
-- compared whole tuples, headers included, which never match)
UPDATE agent_sessions.sessions SET title = title, status = status WHERE id = :'sid';
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'sid'), 1::bigint,
          'a direct UPDATE that changes nothing leaves the version alone');
UPDATE agent_sessions.sessions SET title = 'changed' WHERE id = :'sid';
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'sid'), 2::bigint,
          'one that changes a column bumps it');

-- a long id quoted in an error was cut inside a multibyte character, so the
-- message was not valid UTF-8 (and failed with 22021 for a LATIN1 client)
SELECT throws_ok($$SELECT agent_sessions.parse_session_id('x' || repeat('é', 100))$$,
                 '22P02', 'invalid session id: "xééééééééééééééééééé..."',
                 'a long id is quoted up to a character boundary');

-- keys that B-tree indexes cover ended in 54000 ("index row requires ...")
-- after the row was built; now they are invalid arguments naming the field
SELECT throws_ok($$SELECT agent_sessions.create_session(user_id => repeat('u', 201), prompt => 'p')$$,
                 '22023', 'invalid user_id: must be at most 200 characters', 'user_id longer than 200 characters');
SELECT lives_ok($$SELECT agent_sessions.create_session(user_id => repeat('u', 200), prompt => 'p')$$,
                'user_id of 200 characters');
SELECT throws_ok($$SELECT agent_sessions.create_session(user_id => 'u', organization_id => repeat('o', 1048576))$$,
                 '22023', 'invalid organization_id: must be at most 200 characters', 'organization_id of 1 MB');
SELECT throws_ok($$SELECT agent_sessions.create_session(user_id => 'u', idempotency_key => repeat('k', 201))$$,
                 '22023', 'invalid idempotency_key: must be at most 200 characters', 'idempotency_key longer than 200 characters');
SELECT throws_ok(format('UPDATE agent_sessions.sessions SET agent_id = repeat(''a'', 201) WHERE id = %L', :'sid'),
                 '22023', 'invalid agent_id: must be at most 200 characters', 'a direct UPDATE of agent_id is held to the same limit');
SELECT format('{"sub": "%s"}', repeat('x', 1048576)) AS huge_claims \gset
SET LOCAL request.jwt.claims = :'huge_claims';
SELECT throws_ok($$SELECT agent_sessions.create_session(prompt => 'p')$$,
                 '22023', 'invalid user_id: must be at most 200 characters', 'a 1 MB user claim');
RESET request.jwt.claims;

-- the guard trigger called as a function ended in XX000
SELECT throws_ok($$SELECT agent_sessions.sessions_guard()$$,
                 '39P01', 'function "sessions_guard" was not called by trigger manager',
                 'the guard called directly');

SELECT is((SELECT count(*) FROM agent_sessions.sessions), 2::bigint, 'only the valid sessions were made');

SELECT * FROM finish();
ROLLBACK;
