-- Heartbeats are HOT updates.
--
-- A heartbeat writes only columns that no index covers, so PostgreSQL can
-- put the new row version on the same page without touching any index.
-- Each heartbeat commits on its own (as a worker's would): within a single
-- transaction the old versions cannot be pruned, the page fills, and some
-- updates must move to another page whatever the indexes are.

SET agent_sessions.heartbeat_granularity = 0;
SET agent_sessions.notify = off;
-- an autovacuum ANALYZE holds back pruning while it runs
ALTER TABLE agent_sessions.sessions SET (autovacuum_enabled = off);

CREATE TABLE hot_session AS
SELECT (agent_sessions.start_session((agent_sessions.create_session(user_id => 'hot')).id)).id;

CREATE PROCEDURE beat(n int, flip boolean) LANGUAGE plpgsql AS $$
DECLARE
    sid uuid := (SELECT id FROM hot_session);
BEGIN
    FOR i IN 1 .. n LOOP
        PERFORM agent_sessions.heartbeat(sid,
            CASE WHEN flip THEN (CASE i % 2 WHEN 0 THEN 'busy' ELSE 'idle' END)::agent_sessions.session_activity END);
        COMMIT;
    END LOOP;
END $$;

-- Counters as of the last flush of this backend's statistics
CREATE TABLE counts (label text, upd bigint, hot bigint);
CREATE PROCEDURE snapshot(label text) LANGUAGE sql AS $$
    INSERT INTO counts
    SELECT label, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
     WHERE relid = 'agent_sessions.sessions'::regclass
$$;

SELECT pg_stat_force_next_flush();
CALL snapshot('before');

-- 1,000 time-only heartbeats
CALL beat(1000, false);
SELECT pg_stat_force_next_flush();
CALL snapshot('time-only');

-- 200 heartbeats that flip busy/idle (these also write version and updated_at)
CALL beat(200, true);
SELECT pg_stat_force_next_flush();
CALL snapshot('flips');

SELECT label,
       upd - lag(upd) OVER w AS updates,
       hot - lag(hot) OVER w AS hot_updates
  FROM counts
WINDOW w AS (ORDER BY CASE label WHEN 'before' THEN 0 WHEN 'time-only' THEN 1 ELSE 2 END)
 ORDER BY CASE label WHEN 'before' THEN 0 WHEN 'time-only' THEN 1 ELSE 2 END
OFFSET 1;

-- the flips are events; the time-only heartbeats are not
SELECT count(*) FILTER (WHERE from_activity <> to_activity) AS flip_events,
       count(*) AS events
  FROM agent_sessions.session_events
 WHERE session_id = (SELECT id FROM hot_session);

DROP PROCEDURE beat(int, boolean);
DROP PROCEDURE snapshot(text);
DROP TABLE counts;
DELETE FROM agent_sessions.sessions WHERE id = (SELECT id FROM hot_session);
DROP TABLE hot_session;
ALTER TABLE agent_sessions.sessions RESET (autovacuum_enabled);
