-- plain twin of create_session: the bare INSERT ... RETURNING, with the
-- session's scopes row (the listing indexes are on plain.session_scopes)
\set u random(1, 20000)
\set p random(1, 1000)
\set a random(1, 5000)
WITH s AS (
    INSERT INTO plain.sessions (user_id, project_id, agent_id, prompt,
                                created_at, updated_at, last_activity_at)
    VALUES ('user_' || :u::text, bench.project_id(:p), 'agent_' || :a::text,
            'Summarise the open issues and propose fixes', now(), now(), now())
    RETURNING id, organization_id, project_id, user_id, agent_id
), sc AS (
    INSERT INTO plain.session_scopes SELECT * FROM s
)
SELECT id FROM s;
