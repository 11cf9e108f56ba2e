-- plain twin of sweep(): fail the live sessions past their inactivity or
-- start timeout, in one statement
UPDATE plain.sessions
   SET status = 'failed', activity = 'idle', version = version + 1,
       end_reason = 'inactivity_timeout',
       error = '{"type": "timeout", "message": "The session had no activity within its inactivity timeout."}',
       finished_at = now(), updated_at = now()
 WHERE status IN ('queued', 'starting', 'running')
   AND (last_activity_at < now() - coalesce(inactivity_timeout, :'timeout')
        OR (status IN ('queued', 'starting')
            AND created_at < now() - coalesce(start_timeout, interval '10 minutes')));
