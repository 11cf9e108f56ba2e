-- plain twin of the lifecycle: the two guarded UPDATEs
SELECT nextval('bench.lifecycle_plain') AS n \gset
UPDATE plain.sessions
   SET status = 'running', activity = 'busy', version = version + 1,
       started_at = now(), updated_at = now(), last_activity_at = now()
 WHERE id = bench.pool_id(:n) AND status IN ('queued', 'starting');
UPDATE plain.sessions
   SET status = 'completed', activity = 'idle', version = version + 1,
       end_reason = 'completed', finished_at = now(), updated_at = now(),
       last_activity_at = now()
 WHERE id = bench.pool_id(:n) AND status = 'running';
