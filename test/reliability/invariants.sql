-- The invariants every session and its history must satisfy, whatever ran
-- before: one row per violation (check, session id, detail); none is the
-- pass.  Used after the soak, after crash recovery and after a restore.
--
--   terminal <=> finished_at            terminal => idle, with an end_reason
--   the events of a session replay to its status and activity: the first
--   records creation (queued, busy, version 1), each starts where the one
--   before ended, moves only along the lifecycle, raises the version and
--   never goes back in time, nothing follows a terminal event, and the last
--   ends in the row's status and activity
--   started_at is set exactly when the session has been running
--   timestamps are ordered: created <= started <= finished, <= updated
--   every event carries its session's tenant (the RLS keys)
WITH lifecycle(from_status, to_status) AS (
    VALUES ('queued', 'starting'), ('queued', 'failed'), ('queued', 'cancelled'),
           ('starting', 'running'), ('starting', 'failed'), ('starting', 'cancelled'),
           ('running', 'completed'), ('running', 'failed'), ('running', 'cancelled')
),
s AS (
    SELECT s.*, s.status::text IN ('completed', 'failed', 'cancelled') AS terminal
      FROM agent_sessions.sessions s
),
e AS (
    SELECT e.*,
           row_number() OVER w AS k,
           lag(e.to_status::text) OVER w AS prev_status,
           lag(e.to_activity::text) OVER w AS prev_activity,
           lag(e.version) OVER w AS prev_version,
           lag(e.at) OVER w AS prev_at,
           lead(e.event_id) OVER w IS NULL AS is_last
      FROM agent_sessions.session_events e
    WINDOW w AS (PARTITION BY e.session_id ORDER BY e.event_id)
)
SELECT 'terminal iff finished_at' AS check, id, status::text || ' finished_at ' || coalesce(finished_at::text, 'NULL') AS detail
  FROM s WHERE terminal <> (finished_at IS NOT NULL)
UNION ALL
SELECT 'terminal implies idle', id, status::text || ' ' || activity::text
  FROM s WHERE terminal AND activity <> 'idle'
UNION ALL
SELECT 'terminal has an end_reason', id, status::text
  FROM s WHERE terminal AND end_reason IS NULL
UNION ALL
SELECT 'started_at iff it ran', id, status::text || ' started_at ' || coalesce(started_at::text, 'NULL')
  FROM s
 WHERE (started_at IS NOT NULL) <> EXISTS (SELECT FROM e WHERE e.session_id = s.id AND e.to_status = 'running')
UNION ALL
SELECT 'timestamps ordered', id,
       format('created %s started %s finished %s updated %s', created_at, started_at, finished_at, updated_at)
  FROM s
 WHERE started_at < created_at OR finished_at < created_at OR finished_at < started_at
    OR updated_at < created_at OR updated_at < finished_at OR updated_at < started_at
UNION ALL
SELECT 'has a creation event', id, 'no events'
  FROM s WHERE NOT EXISTS (SELECT FROM e WHERE e.session_id = s.id)
UNION ALL
SELECT 'first event is the creation', session_id,
       format('event %s: %s/%s -> %s/%s version %s', event_id, from_status, from_activity, to_status, to_activity, version)
  FROM e
 WHERE (k = 1) <> (from_status IS NULL)
    OR (k = 1 AND (to_status <> 'queued' OR to_activity <> 'busy' OR version <> 1 OR from_activity IS NOT NULL))
UNION ALL
SELECT 'events chain', session_id,
       format('event %s starts at %s/%s, the one before ended at %s/%s', event_id, from_status, from_activity, prev_status, prev_activity)
  FROM e
 WHERE k > 1 AND (from_status::text IS DISTINCT FROM prev_status OR from_activity::text IS DISTINCT FROM prev_activity)
UNION ALL
SELECT 'events follow the lifecycle', session_id, format('event %s: %s -> %s', event_id, from_status, to_status)
  FROM e
 WHERE k > 1 AND from_status <> to_status
   AND (from_status::text, to_status::text) NOT IN (SELECT * FROM lifecycle)
UNION ALL
SELECT 'an event is a change', session_id, format('event %s: %s/%s -> %s/%s', event_id, from_status, from_activity, to_status, to_activity)
  FROM e
 WHERE k > 1 AND from_status = to_status AND from_activity = to_activity
UNION ALL
SELECT 'nothing after a terminal event', session_id, format('event %s after %s', event_id, prev_status)
  FROM e WHERE prev_status IN ('completed', 'failed', 'cancelled')
UNION ALL
SELECT 'versions grow', session_id, format('event %s: version %s after %s', event_id, version, prev_version)
  FROM e WHERE version <= prev_version
UNION ALL
SELECT 'event times never go back', session_id, format('event %s at %s after %s', event_id, at, prev_at)
  FROM e WHERE at < prev_at
UNION ALL
SELECT 'events replay to the row', s.id,
       format('last event %s/%s version %s, row %s/%s version %s', e.to_status, e.to_activity, e.version, s.status, s.activity, s.version)
  FROM s JOIN e ON e.session_id = s.id AND e.is_last
 WHERE e.to_status <> s.status OR e.to_activity <> s.activity OR e.version > s.version
UNION ALL
SELECT 'events carry the tenant', s.id, format('event %s: %s/%s, row %s/%s', e.event_id, e.organization_id, e.user_id, s.organization_id, s.user_id)
  FROM s JOIN e ON e.session_id = s.id
 WHERE e.organization_id IS DISTINCT FROM s.organization_id OR e.user_id <> s.user_id
UNION ALL
SELECT 'event before its session', s.id, format('event %s at %s, created %s', e.event_id, e.at, s.created_at)
  FROM s JOIN e ON e.session_id = s.id
 WHERE e.at < s.created_at
ORDER BY 1, 2;
