-- the obvious plain query for the same rows: one scope filter, one time
-- filter (it can only use the project's (project_id, id) index)
\set p random(1, 1000)
SELECT * FROM plain.sessions
 WHERE project_id = bench.project_id(:p)
   AND last_activity_at >= now() - make_interval(secs => :within)
 ORDER BY last_activity_at DESC, id DESC
 LIMIT 100;
