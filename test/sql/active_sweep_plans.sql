-- active_sessions() and sweep() on 100,000 sessions: the plans of their
-- exact statements use indexes, and the functions agree with plain SQL.
--
-- The PREPAREd statements below are the statements src/active.c and
-- src/sweep.c keep, character for character up to line breaks, with the
-- same parameter types.  Scoped active_sessions() statements and the sweep's
-- are kept as generic plans; the unscoped active_sessions() statement is
-- planned for each cutoff (a custom plan), and is shown that way.

-- 5% of the sessions are live, with their last activity 0..59 minutes ago;
-- the rest finished 0..30 days ago.  Offsets are whole minutes, so nothing
-- sits on a window's edge while the test runs.
INSERT INTO agent_sessions.sessions
    (id, organization_id, project_id, user_id, agent_id, status, activity, end_reason,
     created_at, updated_at, started_at, finished_at, last_activity_at)
SELECT agent_sessions.uuid_v7(), 'org' || n % 199,
       ('00000000-0000-7000-8000-' || lpad((n % 97)::text, 12, '0'))::uuid,
       'user' || n % 997, 'agent' || n % 1999,
       s.status, s.activity, s.end_reason,
       t.at - interval '1 hour', t.at, t.at - interval '1 hour',
       CASE WHEN s.status = 'completed' THEN t.at END, t.at
  FROM generate_series(1, 100000) AS n,
       LATERAL (SELECT CASE WHEN n % 60 = 0 THEN 'queued'
                            WHEN n % 20 = 0 THEN 'running'
                            ELSE 'completed' END::agent_sessions.session_status AS status) AS st,
       LATERAL (SELECT st.status,
                       CASE WHEN st.status = 'completed' THEN 'idle' ELSE 'busy' END::agent_sessions.session_activity AS activity,
                       CASE WHEN st.status = 'completed' THEN 'completed' END AS end_reason) AS s,
       LATERAL (SELECT now() - CASE WHEN s.status = 'completed'
                                    THEN (n % 43200) * interval '1 minute'
                                    ELSE ((n / 20) % 60) * interval '1 minute' END AS at) AS t;
ANALYZE agent_sessions.sessions;

SELECT status, count(*) FROM agent_sessions.sessions GROUP BY status ORDER BY status;

-- the statements of active_sessions(), one per driving scope
PREPARE active_project (timestamptz, text, uuid, text, text, timestamptz, uuid, integer, timestamptz) AS
SELECT a.* FROM (
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND s.last_activity_at >= $1 AND s.project_id = $3 AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)
 UNION ALL
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.finished_at >= $1 AND s.finished_at <= $9
     AND s.last_activity_at >= $1 AND s.project_id = $3 AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)) a
ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $8;

PREPARE active_agent (timestamptz, text, uuid, text, text, timestamptz, uuid, integer, timestamptz) AS
SELECT a.* FROM (
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND s.agent_id = $5
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)
 UNION ALL
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.finished_at >= $1 AND s.finished_at <= $9
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND s.agent_id = $5
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)) a
ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $8;

PREPARE active_user (timestamptz, text, uuid, text, text, timestamptz, uuid, integer, timestamptz) AS
SELECT a.* FROM (
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND s.user_id = $4 AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)
 UNION ALL
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.finished_at >= $1 AND s.finished_at <= $9
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND s.user_id = $4 AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)) a
ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $8;

PREPARE active_organization (timestamptz, text, uuid, text, text, timestamptz, uuid, integer, timestamptz) AS
SELECT a.* FROM (
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND s.organization_id = $2
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)
 UNION ALL
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.finished_at >= $1 AND s.finished_at <= $9
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND s.organization_id = $2
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)) a
ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $8;

PREPARE active_unscoped (timestamptz, text, uuid, text, text, timestamptz, uuid, integer, timestamptz) AS
SELECT a.* FROM (
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)
 UNION ALL
 (SELECT * FROM agent_sessions.sessions s
   WHERE s.finished_at >= $1 AND s.finished_at <= $9
     AND s.last_activity_at >= $1 AND ($3 IS NULL OR s.project_id = $3) AND ($5 IS NULL OR s.agent_id = $5)
     AND ($4 IS NULL OR s.user_id = $4) AND ($2 IS NULL OR s.organization_id = $2)
     AND ($6 IS NULL OR (s.last_activity_at, s.id) < ($6, $7))
   ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $8)) a
ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $8;

-- the statements of sweep(): the candidate search, the batch that locks and
-- fails, the row-by-row lock, and the count of what a capped sweep left
PREPARE sweep_candidates (timestamptz, interval, interval, uuid, integer) AS
SELECT s.id, s.status = 'running'::agent_sessions.session_status AS running
  FROM agent_sessions.sessions s
 WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
   AND ((s.status = 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))
     OR (s.status <> 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))
   AND s.id > $4
 ORDER BY s.id LIMIT $5;

PREPARE sweep_fail_batch (timestamptz, interval, interval, uuid[], text) AS
WITH locked AS MATERIALIZED (
  SELECT s.ctid, s.id, s.status, s.activity FROM agent_sessions.sessions s
   WHERE s.id = ANY ($4) AND s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND ((s.status = 'running'::agent_sessions.session_status
           AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))
       OR (s.status <> 'running'::agent_sessions.session_status
           AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))
   FOR NO KEY UPDATE SKIP LOCKED),
 failed AS (
  UPDATE agent_sessions.sessions s SET
   status = 'failed'::agent_sessions.session_status,
   activity = 'idle'::agent_sessions.session_activity,
   version = s.version + 1,
   updated_at = $1,
   last_activity_at = $1,
   finished_at = $1,
   end_reason = CASE WHEN s.status = 'running'::agent_sessions.session_status
                     THEN 'inactivity_timeout' ELSE 'start_timeout' END,
   error = pg_catalog.jsonb_build_object('type', 'timeout', 'message',
             CASE WHEN s.status = 'running'::agent_sessions.session_status
                  THEN 'no activity for ' || pg_catalog.trim_scale(EXTRACT(epoch FROM
                       COALESCE(s.inactivity_timeout, $2)))::text || ' seconds'
                  ELSE 'not started within ' || pg_catalog.trim_scale(EXTRACT(epoch FROM
                       COALESCE(s.start_timeout, $3)))::text || ' seconds' END)
   FROM locked l
  WHERE s.ctid = l.ctid AND s.id = l.id AND s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
     AND ((s.status = 'running'::agent_sessions.session_status
           AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))
       OR (s.status <> 'running'::agent_sessions.session_status
           AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))
  RETURNING s.id, s.organization_id, s.user_id,
   l.status AS from_status, l.activity AS from_activity,
   s.version, s.end_reason),
 history AS (
  INSERT INTO agent_sessions.session_events
   (session_id, organization_id, user_id, from_status, to_status,
    from_activity, to_activity, version, at, actor, reason)
  SELECT f.id, f.organization_id, f.user_id, f.from_status,
   'failed'::agent_sessions.session_status, f.from_activity,
   'idle'::agent_sessions.session_activity, f.version, $1, $5, f.end_reason
   FROM failed f)
 SELECT f.id, f.from_status::text AS from_status,
   f.from_activity::text AS from_activity, f.version,
   f.end_reason = 'inactivity_timeout' AS inactive
  FROM failed f;

PREPARE sweep_lock_row (timestamptz, interval, interval, uuid) AS
SELECT s.status::text AS status, s.activity::text AS activity,
       CASE WHEN s.status = 'running'::agent_sessions.session_status
            THEN 'inactivity_timeout' ELSE 'start_timeout' END AS end_reason,
       pg_catalog.jsonb_build_object('type', 'timeout', 'message',
         CASE WHEN s.status = 'running'::agent_sessions.session_status
              THEN 'no activity for ' || pg_catalog.trim_scale(EXTRACT(epoch FROM
                   COALESCE(s.inactivity_timeout, $2)))::text || ' seconds'
              ELSE 'not started within ' || pg_catalog.trim_scale(EXTRACT(epoch FROM
                   COALESCE(s.start_timeout, $3)))::text || ' seconds' END) AS error
  FROM agent_sessions.sessions s
 WHERE s.id = $4 AND s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
   AND ((s.status = 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))
     OR (s.status <> 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))
   FOR NO KEY UPDATE SKIP LOCKED;

PREPARE sweep_count (timestamptz, interval, interval, uuid) AS
SELECT count(*) AS n FROM agent_sessions.sessions s
 WHERE s.status = ANY ('{queued,starting,running}'::agent_sessions.session_status[])
   AND ((s.status = 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))
     OR (s.status <> 'running'::agent_sessions.session_status
         AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))
   AND s.id > $4;

-- The plans the backend keeps.  Live sessions come from the live partial
-- indexes, recently finished ones from sessions_finished_window_idx (the
-- finished_at range, the scope checked on the index entry); the sweep walks
-- sessions_live_idx and updates the rows it locked by their ctid.  last_activity_at is a filter everywhere: it is in no
-- index, so heartbeats stay HOT.
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE active_project(now() - interval '5 minutes', NULL,
    '00000000-0000-7000-8000-000000000007', NULL, NULL, NULL, NULL, 100, 'infinity');
EXPLAIN (COSTS OFF) EXECUTE active_agent(now() - interval '5 minutes', NULL, NULL, NULL,
    'agent7', NULL, NULL, 100, 'infinity');
EXPLAIN (COSTS OFF) EXECUTE active_user(now() - interval '5 minutes', NULL, NULL,
    'user7', NULL, NULL, NULL, 100, 'infinity');
EXPLAIN (COSTS OFF) EXECUTE active_organization(now() - interval '5 minutes', 'org7',
    NULL, NULL, NULL, NULL, NULL, 100, 'infinity');
EXPLAIN (COSTS OFF) EXECUTE sweep_candidates(now(), '15 minutes', '10 minutes',
    '00000000-0000-0000-0000-000000000000', 1000);
EXPLAIN (COSTS OFF) EXECUTE sweep_fail_batch(now(), '15 minutes', '10 minutes',
    '{00000000-0000-7000-8000-000000000001}', 'postgres');
EXPLAIN (COSTS OFF) EXECUTE sweep_lock_row(now(), '15 minutes', '10 minutes',
    '00000000-0000-7000-8000-000000000001');
EXPLAIN (COSTS OFF) EXECUTE sweep_count(now(), '15 minutes', '10 minutes',
    '00000000-0000-0000-0000-000000000000');

-- the unscoped statement, planned for its cutoff (shown as <cutoff>).  A
-- custom plan may read an index by an index scan or through a bitmap,
-- depending on the cutoff and the statistics of the moment; either way it
-- must read a live partial index and the window index with these
-- conditions and never scan the table, which is what is shown.
SET plan_cache_mode = force_custom_plan;
CREATE FUNCTION pg_temp.plan(statement text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    m text[];
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || statement LOOP
        line := regexp_replace(line, '''(?!infinity)[^'']+''::timestamp with time zone', '<cutoff>', 'g');
        m := regexp_match(line, '(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:Backward )?(?:using|on) (\S+)');
        IF m IS NOT NULL AND m[1] LIKE 'sessions\_live%' THEN
            RETURN NEXT 'reads a live partial index';   -- whichever is smallest
        ELSIF m IS NOT NULL THEN
            RETURN NEXT 'reads index ' || m[1];
        ELSIF line ~ 'Seq Scan' THEN
            RETURN NEXT 'scans the table: ' || btrim(line);
        ELSIF line ~ '^\s*Index Cond: ' THEN
            RETURN NEXT '  ' || btrim(line);
        END IF;
    END LOOP;
END
$$;
SELECT * FROM pg_temp.plan($$EXECUTE active_unscoped(now() - interval '5 minutes', NULL, NULL,
    NULL, NULL, NULL, NULL, 100, 'infinity')$$);
RESET plan_cache_mode;

-- the functions return what plain SQL over the whole table returns
CREATE TEMP TABLE expect AS
SELECT * FROM agent_sessions.sessions WHERE last_activity_at >= clock_timestamp() - interval '5 minutes';
SELECT count(*) > 0 AS some_active,
       count(*) FILTER (WHERE finished_at IS NOT NULL) > 0 AS some_finished_inside
  FROM expect;
SELECT bool_and(a.ids IS NOT DISTINCT FROM e.ids) AS every_project_agrees
  FROM (SELECT DISTINCT project_id FROM agent_sessions.sessions) AS p,
       LATERAL (SELECT array_agg(id) AS ids
                  FROM agent_sessions.active_sessions(project_id => p.project_id, page_size => 10000)) AS a,
       LATERAL (SELECT array_agg(id ORDER BY last_activity_at DESC, id DESC) AS ids
                  FROM expect WHERE project_id = p.project_id) AS e;
SELECT bool_and(a.ids IS NOT DISTINCT FROM e.ids) AS every_organization_agrees
  FROM (SELECT DISTINCT organization_id FROM agent_sessions.sessions) AS o,
       LATERAL (SELECT array_agg(id) AS ids
                  FROM agent_sessions.active_sessions(organization_id => o.organization_id, page_size => 10000)) AS a,
       LATERAL (SELECT array_agg(id ORDER BY last_activity_at DESC, id DESC) AS ids
                  FROM expect WHERE organization_id = o.organization_id) AS e;
SELECT (SELECT array_agg(id) FROM agent_sessions.active_sessions(page_size => 10000))
       = (SELECT array_agg(id ORDER BY last_activity_at DESC, id DESC) FROM expect) AS unscoped_agrees;

-- the sweep fails exactly the sessions plain SQL finds stale
CREATE TEMP TABLE stale AS
SELECT id, status FROM agent_sessions.sessions
 WHERE (status = 'running' AND last_activity_at < clock_timestamp() - interval '15 minutes')
    OR (status IN ('queued', 'starting') AND last_activity_at < clock_timestamp() - interval '10 minutes');
SELECT (SELECT swept FROM agent_sessions.sweep(dry_run => true)) = (SELECT count(*) FROM stale)
       AS dry_run_agrees;
SELECT s.swept = (SELECT count(*) FROM stale) AS swept_agrees,
       s.swept_inactive = (SELECT count(*) FROM stale WHERE status = 'running') AS inactive_agrees,
       s.skipped_locked, s.remaining, s.batches = ceil((SELECT count(*) FROM stale) / 500.0) AS batches_agree
  FROM agent_sessions.sweep(batch_size => 500) AS s;
SELECT count(*) FILTER (WHERE x.status <> 'failed') AS stale_left,
       count(*) FILTER (WHERE e.session_id IS NULL) AS without_event
  FROM stale JOIN agent_sessions.sessions x USING (id)
  LEFT JOIN agent_sessions.session_events e ON e.session_id = x.id AND e.to_status = 'failed';
SELECT count(*) AS failed_not_stale
  FROM agent_sessions.sessions x
 WHERE x.status = 'failed' AND x.id NOT IN (SELECT id FROM stale);

TRUNCATE agent_sessions.sessions CASCADE;
