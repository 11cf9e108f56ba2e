-- Lifecycle: transitions, heartbeats, usage, and the guard on direct UPDATEs

CREATE FUNCTION @extschema@.usage_add(usage jsonb, delta jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN delta IS NULL THEN usage
            ELSE usage OPERATOR(pg_catalog.||) (
                SELECT COALESCE(pg_catalog.jsonb_object_agg(d.key,
                    CASE WHEN pg_catalog.jsonb_typeof(d.value) OPERATOR(pg_catalog.=) 'number'
                          AND pg_catalog.jsonb_typeof(usage OPERATOR(pg_catalog.->) d.key) OPERATOR(pg_catalog.=) 'number'
                         THEN pg_catalog.to_jsonb(
                                (usage OPERATOR(pg_catalog.->>) d.key)::numeric
                                OPERATOR(pg_catalog.+) (d.value OPERATOR(pg_catalog.#>>) '{}')::numeric)
                         ELSE d.value END), '{}'::jsonb)
                  FROM pg_catalog.jsonb_each(delta) AS d) END;
COMMENT ON FUNCTION @extschema@.usage_add(jsonb, jsonb) IS
    'usage with delta added: numbers under the same key are summed, other values replace.';

-- The lifecycle functions below, like heartbeat(), carry no SET
-- search_path, which would cost every call a GUC save and restore: their
-- statements name every table, type, function and operator in full
-- (src/transitions.c), so the caller's search_path cannot change what they
-- call.

CREATE FUNCTION @extschema@.transition(
    id                  uuid,
    to_status           @extschema@.session_status,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL,
    output              jsonb DEFAULT NULL,
    error               jsonb DEFAULT NULL,
    summary             text DEFAULT NULL,
    output_preview      text DEFAULT NULL,
    end_reason          text DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'transition';
COMMENT ON FUNCTION @extschema@.transition(uuid, @extschema@.session_status, bigint, text, jsonb, jsonb, text, text, text) IS
    'Move a session to to_status along the lifecycle. Moving to the current status returns the row unchanged; any other illegal move, or an expected_version that is not current, raises PT409.';

CREATE FUNCTION @extschema@.start_session(
    id                  uuid,
    machine_id          text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'start_session';
COMMENT ON FUNCTION @extschema@.start_session(uuid, text, bigint, text) IS
    'Move a queued or starting session to running (and busy). From queued it records both steps.';

CREATE FUNCTION @extschema@.complete_session(
    id                  uuid,
    output              jsonb DEFAULT NULL,
    summary             text DEFAULT NULL,
    output_preview      text DEFAULT NULL,
    usage               jsonb DEFAULT NULL,
    cost                numeric DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'complete_session';
COMMENT ON FUNCTION @extschema@.complete_session(uuid, jsonb, text, text, jsonb, numeric, bigint, text) IS
    'Move a running session to completed, storing its output and summary and adding its usage and cost.';

CREATE FUNCTION @extschema@.fail_session(
    id                  uuid,
    error               jsonb DEFAULT NULL,
    message             text DEFAULT NULL,
    end_reason          text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'fail_session';
COMMENT ON FUNCTION @extschema@.fail_session(uuid, jsonb, text, text, bigint, text) IS
    'Move a live session to failed. error is an object such as {"message", "type", "key", "data"}; message, when given, becomes its "message". end_reason defaults to "error".';

CREATE FUNCTION @extschema@.cancel_session(
    id                  uuid,
    reason              text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cancel_session';
COMMENT ON FUNCTION @extschema@.cancel_session(uuid, text, bigint) IS
    'Move a live session to cancelled. Its worker learns it from its next heartbeat (cancel_requested).';

CREATE FUNCTION @extschema@.add_usage(
    id                  uuid,
    usage               jsonb DEFAULT NULL,
    cost                numeric DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'add_usage';
COMMENT ON FUNCTION @extschema@.add_usage(uuid, jsonb, numeric) IS
    'Atomically add token counts (summed per key, e.g. {"input_tokens": 10, "output_tokens": 5}) and cost to a session, in any status.';

CREATE TYPE @extschema@.heartbeat_result AS (
    id                  uuid,
    status              @extschema@.session_status,
    activity            @extschema@.session_activity,
    version             bigint,
    last_activity_at    timestamptz,
    accepted            boolean,
    terminal            boolean,
    cancel_requested    boolean
);
COMMENT ON TYPE @extschema@.heartbeat_result IS
    'What a worker learns from a heartbeat: accepted is false when it was coalesced or the session has ended; terminal and cancel_requested tell it to stop.';

-- The hot path carries no SET search_path, which would cost every call a
-- GUC save and restore: its statements name every table, type and
-- operator in full (src/heartbeat.c).
CREATE FUNCTION @extschema@.heartbeat(
    id                  uuid,
    activity            @extschema@.session_activity DEFAULT NULL)
RETURNS @extschema@.heartbeat_result
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'heartbeat';
COMMENT ON FUNCTION @extschema@.heartbeat(uuid, @extschema@.session_activity) IS
    'Report that a live session''s worker is alive, and optionally flip it busy or idle. Heartbeats within agent_sessions.heartbeat_granularity of the last one are coalesced.';

-- The guard runs on every UPDATE of sessions, heartbeats included.  It looks
-- up no name (its only statement, the history row of a direct UPDATE, is
-- fully qualified and calls no function or operator), so it carries no
-- SET search_path: that would cost every heartbeat a GUC save and restore.
CREATE FUNCTION @extschema@.sessions_guard()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'sessions_guard';
COMMENT ON FUNCTION @extschema@.sessions_guard() IS
    'Holds direct UPDATEs of sessions to the lifecycle; statements of the extension''s own functions pass through.';

CREATE TRIGGER sessions_guard
    BEFORE UPDATE ON @extschema@.sessions
    FOR EACH ROW EXECUTE FUNCTION @extschema@.sessions_guard();


-- session_scopes follows every write of sessions made outside the
-- extension's functions (src/scopes.c).  An UPDATE reaches the trigger only
-- when it sets a scope column to another value, so heartbeats and moves
-- never queue it.
CREATE FUNCTION @extschema@.sessions_scopes()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'sessions_scopes';
COMMENT ON FUNCTION @extschema@.sessions_scopes() IS
    'Keeps session_scopes equal to sessions for INSERTs, scope changes, DELETEs and TRUNCATEs made outside the extension''s functions.';

CREATE TRIGGER sessions_scopes
    AFTER INSERT OR DELETE ON @extschema@.sessions
    FOR EACH ROW EXECUTE FUNCTION @extschema@.sessions_scopes();
CREATE TRIGGER sessions_scopes_update
    AFTER UPDATE OF organization_id, project_id, user_id, agent_id ON @extschema@.sessions
    FOR EACH ROW
    WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id
          OR OLD.project_id IS DISTINCT FROM NEW.project_id
          OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
    EXECUTE FUNCTION @extschema@.sessions_scopes();
CREATE TRIGGER sessions_scopes_truncate
    AFTER TRUNCATE ON @extschema@.sessions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.sessions_scopes();

-- Only the extension writes session_scopes (and the table's owner, to
-- repair rows loaded with triggers off): API roles hold INSERT and UPDATE
-- on it for create_session() and the trigger above, not to write it.
CREATE FUNCTION @extschema@.session_scopes_guard()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'session_scopes_guard';
COMMENT ON FUNCTION @extschema@.session_scopes_guard() IS
    'Refuses (42501) writes of session_scopes made neither by the extension nor by the table''s owner.';

CREATE TRIGGER session_scopes_guard
    BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.session_scopes
    FOR EACH ROW EXECUTE FUNCTION @extschema@.session_scopes_guard();
