-- active_sessions: a random project's sessions active in the last 5 minutes
\set p random(1, 1000)
SELECT * FROM agent_sessions.active_sessions(project_id => bench.project_id(:p));
