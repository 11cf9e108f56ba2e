-- Run as the superuser after isolation.sql: none of its requests changed
-- anything.  Every column of every session is compared, versions and
-- activity times included.

SELECT replay.ok(count(*) = (SELECT count(*) FROM replay.before_isolation),
                 'after the isolation requests: as many sessions as before',
                 format('%s sessions, %s before', count(*), (SELECT count(*) FROM replay.before_isolation)))
  FROM agent_sessions.sessions;

SELECT replay.ok(count(*) = 0,
                 'after the isolation requests: every session unchanged, versions included',
                 string_agg(format('%s (version %s, %s)', id, version, status), ', '))
  FROM ((SELECT * FROM agent_sessions.sessions EXCEPT SELECT * FROM replay.before_isolation)
        UNION ALL
        (SELECT * FROM replay.before_isolation EXCEPT SELECT * FROM agent_sessions.sessions)) AS changed;

SELECT replay.ok(count(*) = (SELECT n FROM replay.events_before_isolation),
                 'after the isolation requests: no event recorded',
                 format('%s events, %s before', count(*), (SELECT n FROM replay.events_before_isolation)))
  FROM agent_sessions.session_events;

SELECT replay.is(version::text, '3', 'A''s running session is still at version 3 (created, starting, running)')
  FROM agent_sessions.sessions s JOIN replay.fixtures f USING (id) WHERE f.name = 'a_live';
SELECT replay.is(status::text, 'queued', 'A''s queued session is still queued')
  FROM agent_sessions.sessions s JOIN replay.fixtures f USING (id) WHERE f.name = 'a_queued';
