-- Run as the superuser between seeds.sql and isolation.sql: every session
-- and the number of events, as they are before the isolation requests.
INSERT INTO replay.before_isolation SELECT * FROM agent_sessions.sessions;
INSERT INTO replay.events_before_isolation SELECT count(*) FROM agent_sessions.session_events;
INSERT INTO replay.fixtures SELECT 'personal', id FROM agent_sessions.sessions WHERE user_id = 'user_p';
