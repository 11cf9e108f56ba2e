-- plain twin of the lifecycle doing the same work: each guarded UPDATE also
-- appends its history row and sends its notification
SELECT nextval('bench.lifecycle_plain') AS n \gset
WITH u AS (
    UPDATE plain.sessions
       SET status = 'running', activity = 'busy', version = version + 1,
           started_at = now(), updated_at = now(), last_activity_at = now()
     WHERE id = bench.pool_id(:n) AND status IN ('queued', 'starting')
    RETURNING id, organization_id, user_id, status, activity, version, updated_at
), e AS (
    INSERT INTO plain.session_events (session_id, organization_id, user_id, from_status,
                                      to_status, from_activity, to_activity, version, at)
    SELECT id, organization_id, user_id, 'queued', status, 'busy', activity, version, updated_at
      FROM u
)
SELECT pg_notify('agent_sessions',
                 json_build_object('id', id, 'status', status, 'activity', activity,
                                   'version', version)::text)
  FROM u;
WITH u AS (
    UPDATE plain.sessions
       SET status = 'completed', activity = 'idle', version = version + 1,
           end_reason = 'completed', finished_at = now(), updated_at = now(),
           last_activity_at = now()
     WHERE id = bench.pool_id(:n) AND status = 'running'
    RETURNING id, organization_id, user_id, status, activity, version, updated_at
), e AS (
    INSERT INTO plain.session_events (session_id, organization_id, user_id, from_status,
                                      to_status, from_activity, to_activity, version, at)
    SELECT id, organization_id, user_id, 'running', status, 'busy', activity, version, updated_at
      FROM u
)
SELECT pg_notify('agent_sessions',
                 json_build_object('id', id, 'status', status, 'activity', activity,
                                   'version', version)::text)
  FROM u;
