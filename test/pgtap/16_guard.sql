-- Direct UPDATEs of sessions (a PostgREST PATCH, a hand-written statement)
-- are held to the lifecycle by the sessions_guard trigger
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(28);

SELECT pg_temp.session_in('completed', 'guard') AS done, pg_temp.session_in('running', 'guard') AS run,
       pg_temp.session_in('queued', 'guard') AS q \gset

-- Illegal moves
SELECT is(pg_temp.error_of(format('UPDATE agent_sessions.sessions SET status = ''running'' WHERE id = %L', :'done')),
          format('PT409: cannot move session %s from completed to running / The session is completed.', :'done'),
          'UPDATE completed -> running is PT409 naming both statuses');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''queued'' WHERE id = %L', :'run')),
          'PT409', 'UPDATE running -> queued is PT409');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''cancelled'' WHERE id = %L', :'done')),
          'PT409', 'UPDATE completed -> cancelled is PT409');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''running'' WHERE id = %L', :'q')),
          'PT409', 'a direct UPDATE moves one step at a time: queued -> running is PT409');
SELECT is(pg_temp.error_of(format('UPDATE agent_sessions.sessions SET activity = ''busy'' WHERE id = %L', :'done')),
          format('PT409: cannot make session %s busy / The session is completed, and ended sessions are idle.', :'done'),
          'making an ended session busy is PT409');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''running'', activity = ''busy'' WHERE user_id = ''guard''')),
          'PT409', 'one illegal row fails the whole statement');

-- Columns only the extension sets
SELECT is_empty($$
    SELECT c, e FROM (VALUES
        ('id', 'agent_sessions.uuid_v7()'), ('version', 'version + 1'),
        ('created_at', 'now()'), ('updated_at', 'now()'), ('started_at', 'now()'),
        ('finished_at', 'now()'), ('last_activity_at', 'now()'), ('connected_at', 'now()'),
        ('request_hash', '''forged''')) AS t(c, e),
     LATERAL pg_temp.error_of(format('UPDATE agent_sessions.sessions SET %I = %s WHERE user_id = ''guard''', c, e)) AS err
     WHERE err IS DISTINCT FROM format('428C9: column "%s" of a session can only be set by agent_sessions', c)$$,
    'ids, versions, timestamps and the request digest cannot be set: 428C9');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET finished_at = NULL WHERE id = %L', :'done')),
          '428C9', 'nor cleared');
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''completed'', finished_at = now() - interval ''1 day'' WHERE id = %L', :'run')),
          '428C9', 'a legal move with a forged finished_at is refused');

-- A legal move by UPDATE gets what transition() would give it
SELECT * FROM agent_sessions.sessions WHERE id = :'run' \gset b_
UPDATE agent_sessions.sessions SET status = 'completed', output = '{"via": "patch"}'
 WHERE id = :'run' RETURNING * \gset a_
SELECT is(ROW(:'a_status', :'a_activity', :'a_end_reason', :'a_version'::bigint, :'a_output'::jsonb)::text,
          ROW('completed', 'idle', 'completed', :'b_version'::bigint + 1, '{"via": "patch"}'::jsonb)::text,
          'UPDATE running -> completed: idle, end_reason, next version, and the other columns as set');
SELECT ok(:'a_updated_at'::timestamptz > :'b_updated_at'::timestamptz
          AND :'a_finished_at'::timestamptz = :'a_updated_at'::timestamptz
          AND :'a_last_activity_at'::timestamptz = :'a_updated_at'::timestamptz
          AND :'a_started_at'::timestamptz = :'b_started_at'::timestamptz,
          'finished_at, updated_at and last_activity_at are stamped; started_at stays');
SELECT is((SELECT ROW(from_status, to_status, from_activity, to_activity, version, actor, reason, at)::text
             FROM agent_sessions.session_events WHERE session_id = :'run' ORDER BY event_id DESC LIMIT 1),
          ROW('running', 'completed', 'busy', 'idle', :'a_version'::bigint, current_user, 'direct update', :'a_updated_at'::timestamptz)::text,
          'and the move is recorded as an event');
SELECT is((SELECT end_reason FROM agent_sessions.sessions WHERE id = :'q'), NULL, 'a queued session has no end_reason');
UPDATE agent_sessions.sessions SET status = 'failed', end_reason = 'start_timeout' WHERE id = :'q';
SELECT is((SELECT ROW(status, end_reason, activity)::text FROM agent_sessions.sessions WHERE id = :'q'),
          ROW('failed', 'start_timeout', 'idle')::text, 'an end_reason given with the move is kept');

SELECT pg_temp.session_in('queued', 'guard') AS q2 \gset
UPDATE agent_sessions.sessions SET status = 'starting' WHERE id = :'q2';
SELECT is((SELECT ROW(status, version, started_at IS NULL)::text FROM agent_sessions.sessions WHERE id = :'q2'),
          ROW('starting', 2, true)::text, 'UPDATE queued -> starting');
UPDATE agent_sessions.sessions SET status = 'running' WHERE id = :'q2' RETURNING * \gset r_
SELECT ok(:'r_started_at'::timestamptz = :'r_updated_at'::timestamptz AND :'r_version'::bigint = 3,
          'UPDATE starting -> running stamps started_at');

-- Activity and content
UPDATE agent_sessions.sessions SET activity = 'idle' WHERE id = :'q2' RETURNING * \gset i_
SELECT is(ROW(:'i_activity', :'i_version'::bigint, :'i_last_activity_at'::timestamptz = :'i_updated_at'::timestamptz)::text,
          ROW('idle', 4, true)::text, 'UPDATE busy -> idle bumps the version and stamps the activity time');
SELECT is((SELECT ROW(from_activity, to_activity, reason)::text FROM agent_sessions.session_events
            WHERE session_id = :'q2' ORDER BY event_id DESC LIMIT 1),
          ROW('busy', 'idle', 'direct update')::text, 'and records an event');
SELECT count(*) AS ev FROM agent_sessions.session_events WHERE session_id = :'q2' \gset
UPDATE agent_sessions.sessions SET title = 'renamed', metadata = '{"a": 1}' WHERE id = :'q2' RETURNING * \gset t_
SELECT is(ROW(:'t_title', :'t_version'::bigint, :'t_updated_at'::timestamptz > :'i_updated_at'::timestamptz,
              :'t_last_activity_at'::timestamptz = :'i_last_activity_at'::timestamptz)::text,
          ROW('renamed', 5, true, true)::text,
          'a content change bumps the version and updated_at, not the activity time');
SELECT is((SELECT count(*) FROM agent_sessions.session_events WHERE session_id = :'q2'), :'ev'::bigint,
          'a content change is not an event');

-- UPDATEs that change nothing
UPDATE agent_sessions.sessions SET title = title, status = status, tags = tags WHERE id = :'q2';
SELECT is((SELECT ROW(version, updated_at)::text FROM agent_sessions.sessions WHERE id = :'q2'),
          ROW(5, :'t_updated_at'::timestamptz)::text,
          'an UPDATE that changes nothing leaves version and updated_at alone');
UPDATE agent_sessions.sessions SET title = 'renamed', metadata = '{"a": 1}', prompt = NULL WHERE id = :'q2';
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'q2'), 5::bigint,
          'also when the values are typed anew');
UPDATE agent_sessions.sessions SET activity = 'idle', status = 'completed' WHERE id = :'done';
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'done'), 4::bigint,
          'setting an ended session to what it is already is no change');

-- The extension's own writes pass through the guard
SELECT is((agent_sessions.complete_session(:'q2')).status, 'completed',
          'the lifecycle functions are not held by the guard');

-- Through row-level security, as PostgREST's role would
CREATE ROLE agent_sessions_tap_patch;
GRANT USAGE ON SCHEMA agent_sessions TO agent_sessions_tap_patch;
GRANT SELECT, UPDATE ON agent_sessions.sessions TO agent_sessions_tap_patch;
GRANT SELECT, INSERT ON agent_sessions.session_events TO agent_sessions_tap_patch;
GRANT USAGE ON SEQUENCE agent_sessions.session_events_event_id_seq TO agent_sessions_tap_patch;
SELECT pg_temp.session_in('running', 'guard') AS mine \gset
SET LOCAL ROLE agent_sessions_tap_patch;
SET LOCAL request.jwt.claims = '{"sub": "guard"}';
SELECT is(pg_temp.sqlstate_of(format('UPDATE agent_sessions.sessions SET status = ''queued'' WHERE id = %L', :'mine')),
          'PT409', 'a PATCH cannot break the lifecycle either');
UPDATE agent_sessions.sessions SET status = 'cancelled' WHERE id = :'mine';
SET LOCAL request.jwt.claims = '{"sub": "intruder"}';
UPDATE agent_sessions.sessions SET title = 'mine now' WHERE user_id = 'guard';
RESET request.jwt.claims;
RESET ROLE;
SELECT is((SELECT ROW(status, actor)::text FROM agent_sessions.sessions s
             JOIN agent_sessions.session_events e ON e.session_id = s.id
            WHERE s.id = :'mine' ORDER BY event_id DESC LIMIT 1),
          ROW('cancelled', 'guard')::text, 'a legal PATCH moves the session, recorded with the caller as actor');
SELECT is((SELECT count(*) FROM agent_sessions.sessions WHERE title = 'mine now'), 0::bigint,
          'another user''s PATCH reaches no session');

SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold at the end');

SELECT * FROM finish();
ROLLBACK;
