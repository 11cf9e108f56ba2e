
-- The active window: sessions with activity in the last few minutes
--
-- Live sessions come from the sessions_live_*_idx indexes (filtered on
-- last_activity_at, which no index holds so that heartbeats stay HOT).
-- Sessions that finished inside the window come from one index whose
-- leading column is finished_at and whose other columns are the scopes: a
-- range scan from the cutoff reads the sessions that ended since, across
-- every scope, and checks the scope on the index entry itself.  Its cost
-- follows how many sessions ended inside the window, not the table's size.
-- One index instead of one per scope matters because every session that
-- ends writes an entry into each index on its row (the move cannot be a
-- HOT update), and ending sessions is what a sweep does in bulk; and new
-- entries all land at the index's right edge, where the pages are hot.

CREATE INDEX sessions_finished_window_idx ON @extschema@.sessions
    (finished_at, organization_id, project_id, user_id, agent_id)
    WHERE finished_at IS NOT NULL;

CREATE FUNCTION @extschema@.active_sessions(
    within                  interval DEFAULT '5 minutes',
    organization_id         text DEFAULT NULL,
    project_id              uuid DEFAULT NULL,
    user_id                 text DEFAULT NULL,
    agent_id                text DEFAULT NULL,
    after_last_activity_at  timestamptz DEFAULT NULL,
    after_id                uuid DEFAULT NULL,
    page_size               integer DEFAULT 100)
RETURNS SETOF @extschema@.sessions
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'active_sessions';
COMMENT ON FUNCTION @extschema@.active_sessions(interval, text, uuid, text, text, timestamptz, uuid, integer) IS
    'Sessions whose last activity lies within the last "within" (default 5 minutes, must be positive), including sessions that ended inside it, newest activity first. Every scope given must match; with none, the scope is the caller''s organization claim, else its user claim, else every session the caller may see. For the next page pass the last row''s last_activity_at and id as after_last_activity_at and after_id (page_size 1..10000, default 100).';
