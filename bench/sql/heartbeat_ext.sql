-- heartbeat: a random session of the live pool
\set n random(1, :pool)
SELECT * FROM agent_sessions.heartbeat(bench.pool_id(:n));
