-- active_sessions(): the window, its edges, finished sessions, every scope,
-- the keyset cursor, claims and row-level security, argument checks.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
SELECT plan(31);

\set p1 '''11111111-1111-7111-8111-111111111111'''
\set p2 '''22222222-2222-7222-8222-222222222222'''

-- name -> session, and the names of a list of ids, in order
CREATE TEMP TABLE s (name text PRIMARY KEY, id uuid NOT NULL UNIQUE);
CREATE FUNCTION pg_temp.named(ids uuid[]) RETURNS text[] LANGUAGE sql AS $$
    SELECT COALESCE(array_agg(s.name ORDER BY i.n), '{}')
      FROM unnest(ids) WITH ORDINALITY AS i(id, n) JOIN s USING (id)
$$;

-- scope 1: o1 / p1 / u1 / ag1; scope 2: o2 / p2 / u2 / ag2
INSERT INTO s
SELECT v.name, (agent_sessions.create_session(
           user_id => v.u, organization_id => v.o, project_id => v.p::uuid, agent_id => v.a)).id
  FROM (VALUES ('live_1min', 'u1', 'o1', :p1, 'ag1'),
               ('done_2min', 'u1', 'o1', :p1, 'ag1'),
               ('done_edge', 'u1', 'o1', :p1, 'ag1'),
               ('live_edge', 'u1', 'o1', :p1, 'ag1'),
               ('live_out',  'u1', 'o1', :p1, 'ag1'),
               ('done_out',  'u1', 'o1', :p1, 'ag1'),
               ('done_old',  'u1', 'o1', :p1, 'ag1'),
               ('other_live', 'u2', 'o2', :p2, 'ag2'),
               ('other_done', 'u2', 'o2', :p2, 'ag2'),
               ('o1_only',   'u3', 'o1', NULL, NULL)) AS v(name, u, o, p, a);

\o /dev/null
SELECT agent_sessions.start_session(id) FROM s
 WHERE name IN ('live_1min', 'live_out', 'done_2min', 'done_old', 'other_live', 'other_done', 'o1_only');
SELECT agent_sessions.complete_session(id) FROM s WHERE name IN ('done_2min', 'done_old', 'other_done');
SELECT agent_sessions.fail_session(id) FROM s WHERE name = 'done_edge';
SELECT agent_sessions.cancel_session(id) FROM s WHERE name = 'done_out';
\o

-- Put each session's last activity (and end) where the test needs it.  The
-- guard trigger refuses to move timestamps, so it is bypassed for this
-- set-up only; a terminal session's finished_at moves with it, as every
-- move stamps both.
SET LOCAL session_replication_role = replica;
UPDATE agent_sessions.sessions x
   SET last_activity_at = k.now - t.ago,
       finished_at = CASE WHEN x.finished_at IS NOT NULL THEN k.now - t.ago END
  FROM (SELECT clock_timestamp() AS now) AS k, s JOIN (VALUES ('o1_only', interval '10 seconds'),
                      ('other_live', '30 seconds'),
                      ('live_1min', '1 minute'),
                      ('done_2min', '2 minutes'),
                      ('other_done', '3 minutes'),
                      ('done_edge', '4 minutes 50 seconds'),   -- just inside
                      ('live_edge', '4 minutes 55 seconds'),   -- just inside
                      ('live_out', '5 minutes 1 second'),      -- just outside
                      ('done_out', '5 minutes 2 seconds'),     -- just outside
                      ('done_old', '1 day')) AS t(name, ago) USING (name)
 WHERE x.id = s.id;
SET LOCAL session_replication_role = origin;

-- the window and its edges, newest activity first
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(project_id => :p1))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'project: live and finished sessions inside the window, newest first; just outside is left out');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(organization_id => 'o1'))),
          ARRAY['o1_only', 'live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'organization scope');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(user_id => 'u1'))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'user scope');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(agent_id => 'ag1'))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'agent scope');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(project_id => :p2))),
          ARRAY['other_live', 'other_done'], 'another project');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(organization_id => 'o2'))),
          ARRAY['other_live', 'other_done'], 'another organization');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(user_id => 'u2'))),
          ARRAY['other_live', 'other_done'], 'another user');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(agent_id => 'ag2'))),
          ARRAY['other_live', 'other_done'], 'another agent');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(project_id => :p1, user_id => 'u2'))),
          '{}'::text[], 'every scope given must match');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(organization_id => 'o1', agent_id => 'ag1'))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'organization and agent together');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(organization_id => 'nobody'))),
          '{}'::text[], 'an unknown scope matches nothing');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions())),
          ARRAY['o1_only', 'other_live', 'live_1min', 'done_2min', 'other_done', 'done_edge', 'live_edge'],
          'no scope and no claims (a DBA): every tenant');

-- the width of the window
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions('10 minutes', project_id => :p1))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge', 'live_out', 'done_out'],
          'a wider window takes the sessions just outside the default one');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions('90 seconds', project_id => :p1))),
          ARRAY['live_1min'], 'a narrower window');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions('2 days', project_id => :p1))),
          ARRAY['live_1min', 'done_2min', 'done_edge', 'live_edge', 'live_out', 'done_out', 'done_old'],
          'a window of days reaches sessions that ended yesterday');
SELECT ok(bool_and(a.last_activity_at = a.finished_at),
          'a finished session''s last activity is its end')
  FROM agent_sessions.active_sessions('2 days', project_id => :p1) AS a
 WHERE a.finished_at IS NOT NULL;

-- the keyset cursor walks the same list page by page
SELECT last_activity_at AS c1_at, id AS c1_id
  FROM agent_sessions.active_sessions(page_size => 3) OFFSET 2 LIMIT 1 \gset
SELECT last_activity_at AS c2_at, id AS c2_id
  FROM agent_sessions.active_sessions(page_size => 3, after_last_activity_at => :'c1_at', after_id => :'c1_id')
  OFFSET 2 LIMIT 1 \gset
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(page_size => 3))),
          ARRAY['o1_only', 'other_live', 'live_1min'], 'page 1');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(
              page_size => 3, after_last_activity_at => :'c1_at', after_id => :'c1_id'))),
          ARRAY['done_2min', 'other_done', 'done_edge'], 'page 2 starts after the cursor');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(
              page_size => 3, after_last_activity_at => :'c2_at', after_id => :'c2_id'))),
          ARRAY['live_edge'], 'page 3 is the rest');

-- a heartbeat brings a quiet session back into the window
SELECT ok((agent_sessions.heartbeat(id)).accepted, 'heartbeat of a quiet running session')
  FROM s WHERE name = 'live_out';
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(project_id => :p1))),
          ARRAY['live_out', 'live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'after its heartbeat it is the most recent');

-- without a scope, the caller's claims are the scope
\o /dev/null
SELECT set_config('request.jwt.claims', '{"org_id": "o2", "sub": "u9"}', true);
\o
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions())),
          ARRAY['other_live', 'other_done'], 'no scope: the organization claim');
\o /dev/null
SELECT set_config('request.jwt.claims', '{"sub": "u1"}', true);
\o
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions())),
          ARRAY['live_out', 'live_1min', 'done_2min', 'done_edge', 'live_edge'],
          'no scope and no organization claim: the user claim');

-- row-level security still decides what a tenant may see
CREATE ROLE agent_sessions_tap_tenant;
GRANT USAGE ON SCHEMA agent_sessions TO agent_sessions_tap_tenant;
GRANT SELECT ON agent_sessions.sessions TO agent_sessions_tap_tenant;
GRANT EXECUTE ON FUNCTION agent_sessions.active_sessions(interval, text, uuid, text, text, timestamptz, uuid, integer)
    TO agent_sessions_tap_tenant;
GRANT SELECT ON s TO agent_sessions_tap_tenant;
SET LOCAL ROLE agent_sessions_tap_tenant;
\o /dev/null
SELECT set_config('request.jwt.claims', '{"org_id": "o2", "sub": "u2"}', true);
\o
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions(project_id => :p1))),
          '{}'::text[], 'a tenant asking for another tenant''s project sees nothing');
SELECT is(pg_temp.named(ARRAY(SELECT id FROM agent_sessions.active_sessions())),
          ARRAY['other_live', 'other_done'], 'a tenant without a scope sees its own');
RESET ROLE;
\o /dev/null
SELECT set_config('request.jwt.claims', '', true);
\o

-- arguments
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions('0 seconds')$$,
                 '22023', 'invalid within: must be greater than zero', 'an empty window');
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions('-5 minutes')$$,
                 '22023', 'invalid within: must be greater than zero', 'a negative window');
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions(NULL)$$,
                 '22023', 'invalid within: must not be NULL', 'a NULL window');
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions(page_size => 0)$$,
                 '22023', 'invalid page_size: must be between 1 and 10000', 'page_size 0');
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions(page_size => 10001)$$,
                 '22023', 'invalid page_size: must be between 1 and 10000', 'page_size above 10000');
SELECT throws_ok($$SELECT * FROM agent_sessions.active_sessions(after_id => agent_sessions.uuid_v7())$$,
                 '22023', 'invalid after_last_activity_at: must be given together with the other cursor field',
                 'half a cursor');

SELECT * FROM finish();
ROLLBACK;
