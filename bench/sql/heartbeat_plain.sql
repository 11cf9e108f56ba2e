-- plain twin of heartbeat: the bare UPDATE
\set n random(1, :pool)
UPDATE plain.sessions SET last_activity_at = now() WHERE id = bench.pool_id(:n);
