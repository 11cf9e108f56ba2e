-- start_session then complete_session on the next fresh (queued) session
SELECT nextval('bench.lifecycle_ext') AS n \gset
SELECT 1 FROM agent_sessions.start_session(bench.pool_id(:n));
SELECT 1 FROM agent_sessions.complete_session(bench.pool_id(:n));
