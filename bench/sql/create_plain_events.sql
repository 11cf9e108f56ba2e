-- plain twin of create_session doing the same work: the INSERT, its scopes
-- row, its history row and its notification, in one statement
\set u random(1, 20000)
\set p random(1, 1000)
\set a random(1, 5000)
WITH s AS (
    INSERT INTO plain.sessions (user_id, project_id, agent_id, prompt,
                                created_at, updated_at, last_activity_at)
    VALUES ('user_' || :u::text, bench.project_id(:p), 'agent_' || :a::text,
            'Summarise the open issues and propose fixes', now(), now(), now())
    RETURNING id, organization_id, project_id, user_id, agent_id, status, activity, version, created_at
), sc AS (
    INSERT INTO plain.session_scopes SELECT id, organization_id, project_id, user_id, agent_id FROM s
), e AS (
    INSERT INTO plain.session_events (session_id, organization_id, user_id,
                                      to_status, to_activity, version, at)
    SELECT id, organization_id, user_id, status, activity, version, created_at FROM s
)
SELECT id, pg_notify('agent_sessions',
                     json_build_object('id', id, 'status', status, 'activity', activity,
                                       'version', version)::text)
  FROM s;
