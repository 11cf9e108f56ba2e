-- active_sessions: a random project's sessions active within the window
-- (:within seconds: bench/cases/40_active.sh writes in 5 minutes plus the
-- age of its data)
\set p random(1, 1000)
SELECT * FROM agent_sessions.active_sessions(within => make_interval(secs => :within),
                                             project_id => bench.project_id(:p));
