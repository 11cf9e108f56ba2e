
-- PostgREST API: what a worker calls (POST /rpc/...)
--
-- Each moves the session with the agent_sessions function of the same name
-- (which locks the row, checks the lifecycle and records the change) and
-- returns the session as a row of agent_sessions_api.sessions.  A session
-- that does not exist or belongs to another tenant is PT404 (HTTP 404), an
-- illegal move PT409 (HTTP 409).

CREATE FUNCTION agent_sessions_api.start_session(
    session_id          text DEFAULT NULL,
    machine_id          text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS agent_sessions_api.sessions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid := @extschema@.session_id_argument(start_session.session_id, 'session_id');
    result agent_sessions_api.sessions;
BEGIN
    PERFORM @extschema@.start_session(session_uuid,
                                      machine_id => start_session.machine_id,
                                      expected_version => start_session.expected_version,
                                      reason => start_session.reason);
    SELECT * INTO result FROM agent_sessions_api.sessions v WHERE v.id = session_uuid;
    RETURN result;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.start_session(text, text, bigint, text) IS
'Start a session
A worker takes a queued or starting session: it becomes running and busy, and machine_id (when given) records where it runs. Starting a running session again returns it unchanged. With expected_version, a session that has moved on since is a 409.';

CREATE FUNCTION agent_sessions_api.heartbeat(
    session_id  text DEFAULT NULL,
    activity    text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid := @extschema@.session_id_argument(heartbeat.session_id, 'session_id');
    body json;
BEGIN
    PERFORM @extschema@.check_choice('activity', heartbeat.activity, ARRAY['busy', 'idle']);
    SELECT json_build_object(
               'id', h.id,
               'status', h.status,
               'activity', h.activity,
               'version', h.version,
               'last_activity_at', to_char(h.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'accepted', h.accepted,
               'terminal', h.terminal,
               'cancel_requested', h.cancel_requested)
      INTO body
      FROM @extschema@.heartbeat(session_uuid, heartbeat.activity::@extschema@.session_activity) h;
    RETURN body;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.heartbeat(text, text) IS
'Report that a session''s worker is alive
Moves last_activity_at forward and, with activity busy or idle, flips the session''s activity. Returns {id, status, activity, version, last_activity_at, accepted, terminal, cancel_requested}: accepted is false when the heartbeat was coalesced with a recent one or the session has ended; stop working when terminal or cancel_requested is true.';

CREATE FUNCTION agent_sessions_api.complete_session(
    session_id          text DEFAULT NULL,
    output              jsonb DEFAULT NULL,
    summary             text DEFAULT NULL,
    output_preview      text DEFAULT NULL,
    usage               jsonb DEFAULT NULL,
    cost                numeric DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS agent_sessions_api.sessions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid := @extschema@.session_id_argument(complete_session.session_id, 'session_id');
    result agent_sessions_api.sessions;
BEGIN
    PERFORM @extschema@.complete_session(session_uuid,
                                         output => complete_session.output,
                                         summary => complete_session.summary,
                                         output_preview => complete_session.output_preview,
                                         usage => complete_session.usage,
                                         cost => complete_session.cost,
                                         expected_version => complete_session.expected_version,
                                         reason => complete_session.reason);
    SELECT * INTO result FROM agent_sessions_api.sessions v WHERE v.id = session_uuid;
    RETURN result;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.complete_session(text, jsonb, text, text, jsonb, numeric, bigint, text) IS
'Complete a session
A running session becomes completed and idle, storing output (an object), summary and output_preview, and adding usage (numbers summed per key) and cost. Completing a completed session again returns it unchanged; completing one that is not running is a 409.';

CREATE FUNCTION agent_sessions_api.fail_session(
    session_id          text DEFAULT NULL,
    error               jsonb DEFAULT NULL,
    message             text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL,
    reason              text DEFAULT NULL)
RETURNS agent_sessions_api.sessions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid := @extschema@.session_id_argument(fail_session.session_id, 'session_id');
    result agent_sessions_api.sessions;
BEGIN
    PERFORM @extschema@.fail_session(session_uuid,
                                     error => fail_session.error,
                                     message => fail_session.message,
                                     expected_version => fail_session.expected_version,
                                     reason => fail_session.reason);
    SELECT * INTO result FROM agent_sessions_api.sessions v WHERE v.id = session_uuid;
    RETURN result;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.fail_session(text, jsonb, text, bigint, text) IS
'Fail a session
A live session becomes failed and idle. error is an object such as {"message", "type", "key", "data", "stack", "causedByError", "logs"}; message, when given, becomes its "message". Failing a failed session again returns it unchanged; failing an ended one is a 409.';

CREATE FUNCTION agent_sessions_api.cancel_session(
    session_id          text DEFAULT NULL,
    reason              text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL)
RETURNS agent_sessions_api.sessions
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid := @extschema@.session_id_argument(cancel_session.session_id, 'session_id');
    result agent_sessions_api.sessions;
BEGIN
    PERFORM @extschema@.cancel_session(session_uuid,
                                       reason => cancel_session.reason,
                                       expected_version => cancel_session.expected_version);
    SELECT * INTO result FROM agent_sessions_api.sessions v WHERE v.id = session_uuid;
    RETURN result;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.cancel_session(text, text, bigint) IS
'Cancel a session
A live session becomes cancelled and idle; its worker learns it from its next heartbeat (cancel_requested). Cancelling a cancelled session again returns it unchanged; cancelling one that already ended otherwise is a 409.';
