-- plain twin of sweep() doing the same work: the UPDATE, a history row and a
-- notification per swept session, in one statement
WITH u AS (
    UPDATE plain.sessions
       SET status = 'failed', activity = 'idle', version = version + 1,
           end_reason = 'inactivity_timeout',
           error = '{"type": "timeout", "message": "The session had no activity within its inactivity timeout."}',
           finished_at = now(), updated_at = now()
     WHERE status IN ('queued', 'starting', 'running')
       AND (last_activity_at < now() - coalesce(inactivity_timeout, :'timeout')
            OR (status IN ('queued', 'starting')
                AND created_at < now() - coalesce(start_timeout, interval '10 minutes')))
    RETURNING id, organization_id, user_id, status, activity, version, updated_at
), e AS (
    INSERT INTO plain.session_events (session_id, organization_id, user_id, from_status,
                                      to_status, from_activity, to_activity, version, at, reason)
    SELECT id, organization_id, user_id, 'running', status, 'busy', activity, version,
           updated_at, 'inactivity_timeout'
      FROM u
)
SELECT count(pg_notify('agent_sessions',
                       json_build_object('id', id, 'status', status, 'activity', activity,
                                         'version', version)::text))
  FROM u;
