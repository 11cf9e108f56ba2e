-- plain twin of active_sessions: the same rows (last activity within the
-- window: live sessions, and sessions that finished within it), newest
-- activity first, written to use the same partial indexes
\set p random(1, 1000)
SELECT * FROM (
    SELECT * FROM plain.sessions
     WHERE project_id = bench.project_id(:p)
       AND status IN ('queued', 'starting', 'running')
       AND last_activity_at >= now() - make_interval(secs => :within)
    UNION ALL
    SELECT * FROM plain.sessions
     WHERE project_id = bench.project_id(:p)
       AND finished_at >= now() - make_interval(secs => :within)
       AND last_activity_at >= now() - make_interval(secs => :within)
) AS s
ORDER BY last_activity_at DESC, id DESC
LIMIT 100;
