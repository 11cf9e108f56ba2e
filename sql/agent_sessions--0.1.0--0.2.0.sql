-- agent_sessions 0.1.0 -> 0.2.0
--
-- 1. Sessions that finished inside the active window are found through one
--    index, sessions_finished_window_idx (finished_at, then the scopes),
--    instead of five (one per scope and one without).  Every session that
--    ends writes an entry into each index on its row, so this takes four
--    index entries off every complete, fail, cancel and sweep.  Building
--    it reads the table once and holds a SHARE lock on sessions (writes
--    wait, reads go on) until the update commits.
-- 2. The functions that run no SQL and look up no name (the guard trigger
--    and the id functions) no longer carry SET search_path, which cost
--    every call, every heartbeat among them, a GUC save and restore.

\echo Use "ALTER EXTENSION agent_sessions UPDATE TO '0.2.0'" to load this file. \quit

CREATE INDEX sessions_finished_window_idx ON @extschema@.sessions
    (finished_at, organization_id, project_id, user_id, agent_id)
    WHERE finished_at IS NOT NULL;

DROP INDEX @extschema@.sessions_finished_organization_idx;
DROP INDEX @extschema@.sessions_finished_project_idx;
DROP INDEX @extschema@.sessions_finished_user_idx;
DROP INDEX @extschema@.sessions_finished_agent_idx;
DROP INDEX @extschema@.sessions_finished_idx;

ALTER FUNCTION @extschema@.sessions_guard() RESET search_path;
ALTER FUNCTION @extschema@.uuid_v7() RESET search_path;
ALTER FUNCTION @extschema@.format_session_id(uuid) RESET search_path;
ALTER FUNCTION @extschema@.parse_session_id(text) RESET search_path;
