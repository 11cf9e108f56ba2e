
-- PostgREST API: the RPC functions
--
-- One function per endpoint of the seeds, plus the writes a worker needs.
-- Rules that keep them PostgREST-friendly:
--   - named parameters, no overloads (PostgREST picks functions by the set
--     of argument names, and OpenAPI shows only one overload);
--   - every parameter has a default, so a missing one reaches the function
--     and is reported as 22023 naming the field (HTTP 400) instead of
--     PostgREST's "function not found" (HTTP 404);
--   - ids are text, in either form (UUID or session_<32 hex>); a malformed
--     one is 22P02 (HTTP 400);
--   - reads are STABLE (PostgREST runs GET as READ ONLY); writes are
--     VOLATILE, so PostgREST runs them READ WRITE on POST, and a GET of one
--     fails with 25006 (HTTP 405).  get_agent_session is VOLATILE because it
--     may wait: a STABLE function keeps the snapshot of the calling query
--     and would never see the change it waits for.  It writes nothing, so a
--     GET still runs it.
--   - SECURITY INVOKER: row-level security applies to the caller.
-- Membrane-shaped objects (seeds 000 and 003) leave out null fields, since
-- that API marks its optional fields as strings, not as nullable.

-- seed 000: GET /agent/sessions/{id}?wait=&timeout=
CREATE FUNCTION agent_sessions_api.get_agent_session(
    id              text DEFAULT NULL,
    wait            boolean DEFAULT false,
    timeout         integer DEFAULT 30,
    "sinceVersion"  bigint DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid;
    body json;
BEGIN
    session_uuid := @extschema@.session_id_argument(get_agent_session.id, 'id');
    IF get_agent_session.timeout IS NULL OR get_agent_session.timeout NOT BETWEEN 1 AND 60 THEN
        PERFORM @extschema@.invalid_argument('timeout', 'must be between 1 and 60');
    END IF;

    IF get_agent_session.wait THEN
        PERFORM @extschema@.wait_for_session(session_uuid,
                                             get_agent_session.timeout,
                                             get_agent_session."sinceVersion");
    END IF;

    SELECT json_object_agg(f.key, f.value) INTO body
      FROM agent_sessions_api.agent_sessions v,
           json_each(to_json(v)) f
     WHERE v.id = session_uuid
       AND json_typeof(f.value) <> 'null';
    IF body IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PT404',
            MESSAGE = format('session %s does not exist', session_uuid);
    END IF;
    RETURN body;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.get_agent_session(text, boolean, integer, bigint) IS
'Get an agent session
The session in the Membrane shape (camelCase; null fields left out). id is a UUID or session_<32 hex>. With wait=true the call long-polls: it returns once the session is idle or terminal, or has a version above sinceVersion, or after timeout seconds (1..60, default 30) with the session as it is. 404 when the session does not exist or is not yours, 400 for a malformed id or timeout.';

-- seed 001: GET /v1/sessions/{session_id}
CREATE FUNCTION agent_sessions_api.get_session(session_id text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    session_uuid uuid;
    body json;
BEGIN
    session_uuid := @extschema@.session_id_argument(get_session.session_id, 'session_id');

    SELECT json_build_object(
               'id', @extschema@.format_session_id(v.id),
               'agent_id', v.agent_id,
               'capabilities', v.capabilities,
               'created_at', v.created_at,
               'finished_at', v.finished_at,
               'model_id', v.model_id,
               'organization_id', v.organization_id,
               'output_preview', v.output_preview,
               'preview', v.preview,
               'started_at', v.started_at,
               'status', CASE WHEN v.status IN ('queued', 'starting') THEN 'started'
                              WHEN v.status = 'running' AND v.activity = 'busy' THEN 'active'
                              ELSE 'idle' END,
               'tags', v.tags,
               'title', v.title,
               'updated_at', v.updated_at,
               'usage', nullif(v.usage, '{}'))
      INTO body
      FROM agent_sessions_api.sessions v
     WHERE v.id = session_uuid;
    IF body IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PT404',
            MESSAGE = format('session %s does not exist', get_session.session_id);
    END IF;
    RETURN body;
END
$$;
COMMENT ON FUNCTION agent_sessions_api.get_session(text) IS
'Get session
The session in the snake_case shape with a prefixed id (session_<32 hex>). status is started (queued or starting, no turn run yet), active (running and busy) or idle (running and waiting for input, or ended; an ended session has finished_at). usage is null until usage is reported. 400 for a malformed id, 404 when the session does not exist or is not yours.';

-- seed 002: GET /sessions?agent_id= (list sessions for an agent)
CREATE FUNCTION agent_sessions_api.list_sessions(
    agent_id    text DEFAULT NULL,
    after       text DEFAULT NULL,
    page_size   integer DEFAULT 100)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- above every UUID: the first page starts at the top of the index
    before_id uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
    sessions json;
    total bigint;
BEGIN
    IF list_sessions.agent_id IS NULL OR list_sessions.agent_id = '' THEN
        PERFORM @extschema@.invalid_argument('agent_id', 'must be given');
    END IF;
    IF list_sessions.page_size IS NULL OR list_sessions.page_size NOT BETWEEN 1 AND 10000 THEN
        PERFORM @extschema@.invalid_argument('page_size', 'must be between 1 and 10000');
    END IF;
    IF list_sessions.after IS NOT NULL THEN
        before_id := @extschema@.session_id_argument(list_sessions.after, 'after');
    END IF;

    SELECT COALESCE(json_agg(json_build_object(
               'session', json_build_object(
                   'user_id', v.user_id,
                   'agent_id', v.agent_id,
                   'config', v.config,
                   'id', v.id,
                   'updated_at', v.updated_at,
                   'created_at', v.created_at,
                   'source', v.source,
                   'source_schedule_id', v.source_schedule_id,
                   'team_id', v.team_id,
                   'state', v.state),
               'is_running', v.is_running,
               'team', NULL) ORDER BY v.id DESC), '[]')
      INTO sessions
      FROM (SELECT *
              FROM agent_sessions_api.sessions v
             WHERE v.agent_id = list_sessions.agent_id
               AND v.id < before_id
             ORDER BY v.id DESC
             LIMIT list_sessions.page_size) v;

    SELECT count(*) INTO total
      FROM agent_sessions_api.sessions v
     WHERE v.agent_id = list_sessions.agent_id;

    RETURN json_build_object('sessions', sessions, 'total', total);
END
$$;
COMMENT ON FUNCTION agent_sessions_api.list_sessions(text, text, integer) IS
'List sessions for an agent
{"sessions": [{"session": {user_id, agent_id, config, id, updated_at, created_at, source, source_schedule_id, team_id, state}, "is_running": bool, "team": null}], "total": n}: the agent''s sessions you may see, newest first, and how many there are in all. is_running is true while the session is starting or running and busy. At most page_size (1..10000, default 100) per call; pass the id of the last one as after for the next page. The caller is the user of the token (its sub claim), not an x-user-id header.';

-- seed 003: POST /agent/sessions (create)
CREATE FUNCTION agent_sessions_api.create_agent_session(
    prompt                  text DEFAULT NULL,
    "workspaceElementType"  text DEFAULT NULL,
    "workspaceElementId"    text DEFAULT NULL,
    model                   text DEFAULT NULL,
    "agentName"             text DEFAULT NULL,
    type                    text DEFAULT NULL,
    title                   text DEFAULT NULL,
    "workspaceId"           text DEFAULT NULL,
    "tenantId"              text DEFAULT NULL,
    "orgWorkspaceId"        text DEFAULT NULL,
    "isExternal"            boolean DEFAULT NULL,
    "organizationId"        text DEFAULT NULL,
    "projectId"             uuid DEFAULT NULL,
    "agentId"               text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    element_types constant text[] := ARRAY[
        'customer', 'app', 'connector', 'integration', 'flow', 'flow-instance',
        'flow-run', 'action', 'package', 'action-instance', 'connection',
        'field-mapping', 'field-mapping-instance', 'data-source',
        'data-source-instance', 'data-link-table', 'data-link-table-instance',
        'app-event-type', 'app-event-subscription', 'app-event-log-record',
        'app-data-schema', 'app-data-schema-instance',
        'external-event-subscription', 'external-event-log-record',
        'external-event-pull', 'external-event-type', 'screen',
        'action-run-log-record', 'external-api-log-record',
        'incoming-webhook-log-record', 'connected-product'];
    models constant text[] := ARRAY[
        'anthropic/claude-sonnet-4.6', 'anthropic/claude-opus-4.6',
        'anthropic/claude-sonnet-4.5', 'anthropic/claude-opus-4.5',
        'anthropic/claude-haiku-4.5', 'openai/gpt-5.2', 'openai/gpt-5-nano',
        'google/gemini-3-pro-preview', 'moonshotai/kimi-k2.5'];
    agent_names constant text[] := ARRAY[
        'membrane', 'membrane-core', 'self-integrating', 'connection-building',
        'action-building', 'universe'];
    -- the text fields that must not be empty when given
    field_names constant text[] := ARRAY[
        'prompt', 'workspaceElementId', 'type', 'workspaceId', 'tenantId',
        'orgWorkspaceId', 'organizationId', 'agentId'];
    field_values text[];
    idempotency_key text;
    new_id uuid;
    i integer;
BEGIN
    IF create_agent_session.prompt IS NULL THEN
        PERFORM @extschema@.invalid_argument('prompt', 'must be given');
    END IF;
    field_values := ARRAY[
        create_agent_session.prompt, create_agent_session."workspaceElementId",
        create_agent_session.type, create_agent_session."workspaceId",
        create_agent_session."tenantId", create_agent_session."orgWorkspaceId",
        create_agent_session."organizationId", create_agent_session."agentId"];
    FOR i IN 1 .. array_length(field_names, 1) LOOP
        IF field_values[i] = '' THEN
            PERFORM @extschema@.invalid_argument(field_names[i], 'must not be empty');
        END IF;
    END LOOP;
    PERFORM @extschema@.check_choice('workspaceElementType', create_agent_session."workspaceElementType", element_types);
    PERFORM @extschema@.check_choice('model', create_agent_session.model, models);
    PERFORM @extschema@.check_choice('agentName', create_agent_session."agentName", agent_names);

    -- PostgREST passes the request headers, lower-cased, as JSON
    idempotency_key := nullif(current_setting('request.headers', true), '')::json ->> 'idempotency-key';

    SELECT c.id INTO new_id
      FROM @extschema@.create_session(
               prompt => create_agent_session.prompt,
               workspace_element_type => create_agent_session."workspaceElementType",
               workspace_element_id => create_agent_session."workspaceElementId",
               model => create_agent_session.model,
               agent_name => create_agent_session."agentName",
               type => create_agent_session.type,
               title => create_agent_session.title,
               workspace_id => create_agent_session."workspaceId",
               tenant_id => create_agent_session."tenantId",
               org_workspace_id => create_agent_session."orgWorkspaceId",
               is_external => create_agent_session."isExternal",
               organization_id => create_agent_session."organizationId",
               project_id => create_agent_session."projectId",
               agent_id => create_agent_session."agentId",
               idempotency_key => idempotency_key) c;

    RETURN agent_sessions_api.get_agent_session(new_id::text);
END
$$;
COMMENT ON FUNCTION agent_sessions_api.create_agent_session(text, text, text, text, text, text, text, text, text, text, boolean, text, uuid, text) IS
'Create a new agent session
A queued, busy session owned by the caller (user from the token''s sub claim, organization from its organization claim), returned like get_agent_session. prompt is required; prompt, workspaceElementId, type and the id fields must not be empty; workspaceElementType, model and agentName must be one of the accepted values. Each invalid field is a 400 whose details name it (Field "model" is invalid.). organizationId defaults to your organization; any other is refused (403). An Idempotency-Key header makes retries safe: the same key with the same body returns the first session, with another body 409.';

-- seed 004: GET /projects/{id}/agent-sessions?active=
CREATE FUNCTION agent_sessions_api.project_agent_sessions(
    id          uuid DEFAULT NULL,
    active      boolean DEFAULT true,
    page_size   integer DEFAULT 100)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rfc3339 constant text := 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';
    picked @extschema@.sessions[];
    sessions json;
BEGIN
    IF project_agent_sessions.id IS NULL THEN
        PERFORM @extschema@.invalid_argument('id', 'must be given');
    END IF;
    IF project_agent_sessions.page_size IS NULL OR project_agent_sessions.page_size NOT BETWEEN 1 AND 10000 THEN
        PERFORM @extschema@.invalid_argument('page_size', 'must be between 1 and 10000');
    END IF;

    IF project_agent_sessions.active IS DISTINCT FROM false THEN
        -- live sessions active in the window, and sessions that ended in it
        picked := ARRAY(
            SELECT s
              FROM @extschema@.active_sessions(
                       project_id => project_agent_sessions.id,
                       page_size => project_agent_sessions.page_size) AS s);
    ELSE
        -- every session of the project, most recently created first (the
        -- project's listing index is on session_scopes)
        picked := ARRAY(
            SELECT s
              FROM @extschema@.session_scopes sc
              JOIN @extschema@.sessions s ON s.id = sc.id
             WHERE sc.project_id = project_agent_sessions.id
             ORDER BY sc.id DESC
             LIMIT project_agent_sessions.page_size);
    END IF;

    SELECT json_agg(json_build_object(
               'session_id', s.id,
               'machine_id', s.machine_id,
               'user_id', s.user_id,
               'project_id', s.project_id,
               'caller_role', s.caller_role,
               'caller_origin', s.caller_origin,
               'connected_at', to_char(s.connected_at AT TIME ZONE 'UTC', rfc3339),
               'last_activity_at', to_char(s.last_activity_at AT TIME ZONE 'UTC', rfc3339))
               ORDER BY s.ordinality)
      INTO sessions
      FROM unnest(picked) WITH ORDINALITY AS s;

    RETURN json_build_object('sessions', COALESCE(sessions, '[]'));
END
$$;
COMMENT ON FUNCTION agent_sessions_api.project_agent_sessions(uuid, boolean, integer) IS
'List active/recent agent sessions for a project
{"sessions": [{session_id, machine_id, user_id, project_id, caller_role, caller_origin, connected_at, last_activity_at}]} for project id. With active=true (the default): the sessions active in the last 5 minutes, that is live sessions whose last activity is that recent and sessions that ended within them, most recently active first. With active=false: all of the project''s sessions, most recently created first. At most page_size (1..10000, default 100).';
