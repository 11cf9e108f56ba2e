-- create_session: a queued session (one row, one history row, one notification)
\set u random(1, 20000)
\set p random(1, 1000)
\set a random(1, 5000)
SELECT id FROM agent_sessions.create_session(
    user_id => 'user_' || :u::text, project_id => bench.project_id(:p),
    agent_id => 'agent_' || :a::text, prompt => 'Summarise the open issues and propose fixes');
