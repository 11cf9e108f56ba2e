-- plain twin of heartbeat doing the same work: live sessions only, and the
-- row a worker needs back
\set n random(1, :pool)
UPDATE plain.sessions SET last_activity_at = now()
 WHERE id = bench.pool_id(:n) AND status IN ('queued', 'starting', 'running')
RETURNING id, status, activity, version, last_activity_at;
