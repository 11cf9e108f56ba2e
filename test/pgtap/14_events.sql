-- session_events: one row per status or activity change, with who and why
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(15);

SET LOCAL agent_sessions.heartbeat_granularity = 0;

SELECT * FROM agent_sessions.create_session(user_id => 'ev', organization_id => 'org-ev') \gset c_
SELECT * FROM agent_sessions.start_session(:'c_id', reason => 'worker 1') \gset s_
SELECT * FROM agent_sessions.heartbeat(:'c_id') \gset h0_
SELECT * FROM agent_sessions.heartbeat(:'c_id', 'idle') \gset h1_
SELECT * FROM agent_sessions.add_usage(:'c_id', '{"input_tokens": 3}') \gset u_
SELECT * FROM agent_sessions.heartbeat(:'c_id', 'busy') \gset h2_
SELECT * FROM agent_sessions.complete_session(:'c_id', reason => 'turn done') \gset d_

SELECT is(
    (SELECT array_agg(ROW(from_status, to_status, from_activity, to_activity, version, reason)::text ORDER BY event_id)
       FROM agent_sessions.session_events WHERE session_id = :'c_id'),
    ARRAY[ROW(NULL, 'queued', NULL, 'busy', 1, NULL)::text,
          ROW('queued', 'starting', 'busy', 'busy', 2, 'worker 1')::text,
          ROW('starting', 'running', 'busy', 'busy', 3, 'worker 1')::text,
          ROW('running', 'running', 'busy', 'idle', 4, NULL)::text,
          ROW('running', 'running', 'idle', 'busy', 6, NULL)::text,
          ROW('running', 'completed', 'busy', 'idle', 7, 'turn done')::text],
    'the history: creation, both start steps, two flips, completion; not the heartbeat, not the usage');
SELECT is(
    (SELECT array_agg(at ORDER BY event_id) FROM agent_sessions.session_events WHERE session_id = :'c_id'),
    ARRAY[:'c_created_at', :'s_updated_at', :'s_updated_at', :'h1_last_activity_at',
          :'h2_last_activity_at', :'d_updated_at']::timestamptz[],
    'each event is stamped with the time the session changed');
SELECT is(
    (SELECT array_agg(DISTINCT ROW(organization_id, user_id, actor)::text) FROM agent_sessions.session_events WHERE session_id = :'c_id'),
    ARRAY[ROW('org-ev', 'ev', current_user)::text],
    'events carry the session''s tenant, and the calling role as actor when there is no user claim');
SELECT ok((SELECT bool_and(event_id > prev) FROM (
               SELECT event_id, lag(event_id) OVER (ORDER BY event_id) AS prev
                 FROM agent_sessions.session_events WHERE session_id = :'c_id') AS e
            WHERE prev IS NOT NULL),
          'event ids grow');
SELECT is(:'u_version'::bigint, 5::bigint, 'usage bumped the version without an event');

-- Actors
SET LOCAL request.jwt.claims = '{"sub": "alice", "org_id": "org-ev"}';
SELECT id AS a FROM agent_sessions.create_session(prompt => 'p') \gset
\o /dev/null
SELECT agent_sessions.cancel_session(:'a');
\o
SELECT is((SELECT array_agg(actor ORDER BY event_id) FROM agent_sessions.session_events WHERE session_id = :'a'),
          ARRAY['alice', 'alice'], 'the actor is the caller''s user claim');
SET LOCAL agent_sessions.user_claim = 'email';
SET LOCAL request.jwt.claims = '{"sub": "x", "email": "bob@example.com", "org_id": "org-ev"}';
SELECT id AS b FROM agent_sessions.create_session(user_id => 'ev') \gset
SELECT is((SELECT actor FROM agent_sessions.session_events WHERE session_id = :'b'),
          'bob@example.com', 'the actor follows agent_sessions.user_claim');
RESET agent_sessions.user_claim;
RESET request.jwt.claims;
SELECT pg_temp.api_role('agent_sessions_tap_ops', bypass_rls => true) \gset
SET LOCAL ROLE agent_sessions_tap_ops;
\o /dev/null
SELECT agent_sessions.start_session(:'b');
\o
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT actor) FROM agent_sessions.session_events WHERE session_id = :'b' AND from_status IS NOT NULL),
          ARRAY['agent_sessions_tap_ops'], 'without a user claim the actor is the current role, not the session user');

-- Events are visible like their sessions
CREATE ROLE agent_sessions_tap_reader;
GRANT USAGE ON SCHEMA agent_sessions TO agent_sessions_tap_reader;
GRANT SELECT ON agent_sessions.sessions, agent_sessions.session_events TO agent_sessions_tap_reader;
SET LOCAL ROLE agent_sessions_tap_reader;
SET LOCAL request.jwt.claims = '{"sub": "alice"}';
SELECT is((SELECT count(*) FROM agent_sessions.session_events), 0::bigint,
          'without the organization claim a user does not see the events of their sessions in it');
SET LOCAL request.jwt.claims = '{"sub": "alice", "org_id": "org-other"}';
SELECT is((SELECT count(*) FROM agent_sessions.session_events), 0::bigint,
          'another organization sees none of them');
SET LOCAL request.jwt.claims = '{"sub": "nobody", "org_id": "org-ev"}';
SELECT is((SELECT count(DISTINCT session_id) FROM agent_sessions.session_events), 3::bigint,
          'an organization sees the events of its sessions');
SET LOCAL request.jwt.claims = '{"sub": "nobody"}';
SELECT is((SELECT count(*) FROM agent_sessions.session_events), 0::bigint,
          'a user without sessions sees no events');
RESET request.jwt.claims;
RESET ROLE;

-- Deleting a session deletes its history
DELETE FROM agent_sessions.sessions WHERE id = :'a';
SELECT is((SELECT count(*) FROM agent_sessions.session_events WHERE session_id = :'a'), 0::bigint,
          'deleting a session deletes its events');

-- Both tables are dumped with the extension
SELECT ok((SELECT array_agg(c::regclass::text) FROM pg_extension, unnest(extconfig) AS c WHERE extname = 'agent_sessions')
          @> ARRAY['agent_sessions.sessions', 'agent_sessions.session_events', 'agent_sessions.session_events_event_id_seq'],
          'sessions, session_events and its sequence are registered with pg_extension_config_dump');

SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold at the end');

SELECT * FROM finish();
ROLLBACK;
