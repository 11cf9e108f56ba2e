-- plain twin of active_sessions: the same rows (last activity within the
-- window: live sessions, and sessions that finished within it), newest
-- activity first, written to use the same indexes: the live partial index
-- of the project, and the finished_at range of sessions_finished_window_idx.
-- "finished_at <= 'infinity'" is there for the planner, as in the
-- extension: with both ends of the range given it takes the range to be
-- narrow, and a generic plan keeps that index.
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
       AND finished_at <= 'infinity'
       AND last_activity_at >= now() - make_interval(secs => :within)
) AS s
ORDER BY last_activity_at DESC, id DESC
LIMIT 100;
