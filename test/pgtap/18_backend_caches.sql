-- What a backend keeps between calls (kept plans, heartbeat's result type,
-- the OIDs of the status labels) follows the extension when it is dropped
-- and created again in the same session: new types, new enum OIDs.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;

SELECT plan(7);

-- every heartbeat writes (none is coalesced), so accepted is true for live sessions
SET LOCAL agent_sessions.heartbeat_granularity = 0;

CREATE TEMP TABLE ids (k text PRIMARY KEY, id uuid NOT NULL);

CREATE TEMP TABLE expected (k text PRIMARY KEY, line text NOT NULL);
INSERT INTO expected VALUES
    ('queued', 'queued accepted=t terminal=f cancel_requested=f'),
    ('running', 'running accepted=t terminal=f cancel_requested=f'),
    ('completed', 'completed accepted=f terminal=t cancel_requested=f'),
    ('failed', 'failed accepted=f terminal=t cancel_requested=f'),
    ('cancelled', 'cancelled accepted=f terminal=t cancel_requested=t');

CREATE FUNCTION pg_temp.beat(key text) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s accepted=%s terminal=%s cancel_requested=%s',
                  h.status, h.accepted, h.terminal, h.cancel_requested)
      FROM pg_temp.ids i, agent_sessions.heartbeat(i.id) h
     WHERE i.k = key
$$;

-- every status once, so that every label's OID is cached
INSERT INTO ids
SELECT k, (agent_sessions.create_session(user_id => 'cache-' || k)).id
  FROM unnest(ARRAY['queued', 'running', 'completed', 'failed', 'cancelled']) AS k;
SELECT agent_sessions.start_session(id) FROM ids WHERE k IN ('running', 'completed');
SELECT agent_sessions.complete_session(id) FROM ids WHERE k = 'completed';
SELECT agent_sessions.fail_session(id) FROM ids WHERE k = 'failed';
SELECT agent_sessions.cancel_session(id) FROM ids WHERE k = 'cancelled';

SELECT results_eq('SELECT pg_temp.beat(k) FROM pg_temp.expected ORDER BY k',
                  'SELECT line FROM pg_temp.expected ORDER BY k',
                  'heartbeat reports every status, first extension');

SELECT lives_ok('DROP EXTENSION agent_sessions CASCADE', 'the extension drops while its caches are warm');
SELECT lives_ok('CREATE EXTENSION agent_sessions', 'and is created again');
DELETE FROM ids;

-- the new extension's labels in another order of creation, so that no
-- label can take an OID another label had before
INSERT INTO ids
SELECT k, (agent_sessions.create_session(user_id => 'cache-' || k)).id
  FROM unnest(ARRAY['cancelled', 'failed', 'completed', 'running', 'queued']) AS k;
SELECT agent_sessions.cancel_session(id) FROM ids WHERE k = 'cancelled';
SELECT agent_sessions.fail_session(id) FROM ids WHERE k = 'failed';
SELECT agent_sessions.start_session(id) FROM ids WHERE k IN ('running', 'completed');
SELECT agent_sessions.complete_session(id) FROM ids WHERE k = 'completed';

SELECT results_eq('SELECT pg_temp.beat(k) FROM pg_temp.expected ORDER BY k',
                  'SELECT line FROM pg_temp.expected ORDER BY k',
                  'heartbeat reports every status, second extension');

SELECT is(pg_typeof(agent_sessions.heartbeat(id))::text, 'agent_sessions.heartbeat_result',
          'heartbeat returns the new extension''s row type')
  FROM ids WHERE k = 'running';

-- create_session writes its history row in the statement that inserts the
-- session: one creation event, with the caller as actor
SELECT results_eq(
    $$SELECT e.from_status::text, e.to_status::text, e.from_activity::text, e.to_activity::text,
             e.version, e.actor = current_user, e.at = s.created_at
        FROM pg_temp.ids i
        JOIN agent_sessions.session_events e ON e.session_id = i.id
        JOIN agent_sessions.sessions s ON s.id = i.id
       WHERE i.k = 'queued'$$,
    $$VALUES (NULL::text, 'queued'::text, NULL::text, 'busy'::text, 1::bigint, true, true)$$,
    'a new session has one creation event, stamped with its creation time');
SELECT is((SELECT count(*) FROM agent_sessions.session_scopes sc JOIN pg_temp.ids i USING (id)), 5::bigint,
          'and its scopes row');

SELECT * FROM finish();
ROLLBACK;
