
-- PostgREST API: the schema and its views
--
-- agent_sessions_api is the schema PostgREST exposes (db-schemas).  It
-- holds only what HTTP clients may see: views WITH (security_invoker = true)
-- over the sessions table, so row-level security applies to the caller, and
-- the RPC functions that follow.  Comments here become PostgREST's OpenAPI
-- document.  Timestamps are rendered as RFC 3339 UTC text ending in "Z",
-- the form the Membrane seed's regular expression demands.

CREATE SCHEMA agent_sessions_api;
COMMENT ON SCHEMA agent_sessions_api IS
'agent_sessions API
AI-agent sessions stored in PostgreSQL: create them, move them through their lifecycle (queued, starting, running, completed, failed, cancelled), report busy/idle heartbeats, list a project''s active sessions and long-poll one until it settles. Every caller sees only the sessions of the organization in its token, or its own when the token names no organization.';

-- How the API functions report an invalid argument: SQLSTATE 22023 (HTTP
-- 400 from PostgREST) with the field named in the message and the detail,
-- the same form the C functions use.
CREATE FUNCTION @extschema@.invalid_argument(field text, problem text, hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF hint IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('invalid %s: %s', field, problem),
            DETAIL = format('Field "%s" is invalid.', field);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'invalid_parameter_value',
        MESSAGE = format('invalid %s: %s', field, problem),
        DETAIL = format('Field "%s" is invalid.', field),
        HINT = hint;
END
$$;
COMMENT ON FUNCTION @extschema@.invalid_argument(text, text, text) IS
    'Raise 22023 "invalid <field>: <problem>" with the detail ''Field "<field>" is invalid.''.';

CREATE FUNCTION @extschema@.check_choice(field text, value text, choices text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value <> ALL (choices) THEN
        PERFORM @extschema@.invalid_argument(field, format('"%s" is not an accepted value', value),
                                             'Accepted values: ' || array_to_string(choices, ', ') || '.');
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_choice(text, text, text[]) IS
    'Raise 22023 naming field when value (unless NULL) is not one of choices; the hint lists them.';

-- A session id argument: a UUID or session_<32 hex> (22P02 otherwise).
CREATE FUNCTION @extschema@.session_id_argument(value text, field text)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        PERFORM @extschema@.invalid_argument(field, 'must be given');
    END IF;
    RETURN @extschema@.parse_session_id(value);
END
$$;
COMMENT ON FUNCTION @extschema@.session_id_argument(text, text) IS
    'The uuid of session id argument "field" of an API function: 22023 naming the field when it is NULL, 22P02 when it is malformed.';

CREATE VIEW agent_sessions_api.agent_sessions WITH (security_invoker = true) AS
SELECT s.id AS "id",
       COALESCE(s.workspace_id, sc.organization_id) AS "workspaceId",
       s.workspace_element_type AS "workspaceElementType",
       s.workspace_element_id AS "workspaceElementId",
       s.type AS "type",
       s.status AS "status",
       s.prompt AS "prompt",
       pg_catalog.to_char(s.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "lastActivityAt",
       (s.status OPERATOR(pg_catalog.=) ANY ('{starting,running}'::@extschema@.session_status[])
        AND s.last_activity_at OPERATOR(pg_catalog.>=)
            (pg_catalog.now() OPERATOR(pg_catalog.-)
             COALESCE(s.inactivity_timeout,
                      pg_catalog.current_setting('agent_sessions.inactivity_timeout', true)::interval,
                      '15 min'::interval))) AS "hasWorker",
       pg_catalog.to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
       pg_catalog.to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "updatedAt",
       sc.user_id AS "userId",
       s.tenant_id AS "tenantId",
       s.org_workspace_id AS "orgWorkspaceId",
       s.error AS "error",
       s.title AS "title",
       s.summary AS "summary",
       s.cost AS "cost",
       s.activity AS "state",
       s.is_external AS "isExternal",
       s.agent_name AS "agentName",
       s.output AS "output",
       s.model AS "model",
       s.version AS "version",
       pg_catalog.to_char(s.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "startedAt",
       pg_catalog.to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "finishedAt",
       s.end_reason AS "endReason"
  FROM @extschema@.session_scopes sc
  JOIN @extschema@.sessions s ON s.id OPERATOR(pg_catalog.=) sc.id;

COMMENT ON VIEW agent_sessions_api.agent_sessions IS
'Agent sessions in the Membrane shape (camelCase, timestamps in UTC ending in Z).
One row per session the caller may see. get_agent_session and create_agent_session return the same object with null fields left out.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."id" IS 'Session id (a UUIDv7).';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."workspaceId" IS 'The workspace the session belongs to; its organization when it was created without one.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."workspaceElementType" IS 'Kind of workspace element the session works on (customer, app, connector, flow, ...).';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."workspaceElementId" IS 'Id of the workspace element the session works on.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."type" IS 'Free-text kind of session.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."status" IS 'Lifecycle status: queued, starting, running, completed, failed or cancelled.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."prompt" IS 'The prompt the session was created with.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."lastActivityAt" IS 'Last meaningful session progress timestamp used for inactivity timeout checks.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."hasWorker" IS 'True while a worker holds the session: it is starting or running and has shown activity within its inactivity timeout (agent_sessions.inactivity_timeout unless the session overrides it), so the sweep would not fail it.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."createdAt" IS 'When the session was created.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."updatedAt" IS 'When the session last changed (heartbeats that change nothing else leave it alone).';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."userId" IS 'The user the session belongs to.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."tenantId" IS 'The tenant the session acts for.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."orgWorkspaceId" IS 'The organization-level workspace of the session.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."error" IS 'Why a failed session failed: an object such as {"message", "type", "key", "data", "stack", "causedByError", "logs"}.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."title" IS 'Human-readable title.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."summary" IS 'Summary of what the session did.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."cost" IS 'Accumulated cost.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."state" IS 'busy while the agent works on a turn, idle while it waits; terminal sessions are idle.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."isExternal" IS 'Whether the session runs outside the platform.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."agentName" IS 'The agent running the session (membrane, membrane-core, self-integrating, connection-building, action-building, universe).';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."output" IS 'What the session produced, as stored by complete_session.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."model" IS 'The model the session was created for.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."version" IS 'Grows on every status, activity or content change; pass it as sinceVersion to get_agent_session to wait for the next change.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."startedAt" IS 'When the session started running.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."finishedAt" IS 'When the session reached a terminal status.';
COMMENT ON COLUMN agent_sessions_api.agent_sessions."endReason" IS 'Why a terminal session ended: completed, error, cancelled, inactivity_timeout or start_timeout.';

CREATE VIEW agent_sessions_api.sessions WITH (security_invoker = true) AS
SELECT s.id,
       sc.organization_id,
       s.workspace_id,
       sc.project_id,
       sc.user_id,
       s.team_id,
       sc.agent_id,
       s.agent_name,
       s.machine_id,
       s.caller_role,
       s.caller_origin,
       s.tenant_id,
       s.org_workspace_id,
       s.type,
       s.model,
       s.model_id,
       s.title,
       s.prompt,
       s.summary,
       s.preview,
       s.output_preview,
       s.workspace_element_type,
       s.workspace_element_id,
       s.is_external,
       s.source,
       s.source_schedule_id,
       s.capabilities,
       s.config,
       s.agent_state AS state,
       s.tags,
       s.metadata,
       s.status,
       s.activity,
       (s.status OPERATOR(pg_catalog.=) ANY ('{starting,running}'::@extschema@.session_status[])
        AND s.activity OPERATOR(pg_catalog.=) 'busy'::@extschema@.session_activity) AS is_running,
       s.version,
       s.end_reason,
       s.output,
       s.error,
       s.usage,
       s.cost,
       pg_catalog.to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
       pg_catalog.to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at,
       pg_catalog.to_char(s.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at,
       pg_catalog.to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finished_at,
       pg_catalog.to_char(s.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_activity_at,
       pg_catalog.to_char(s.connected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS connected_at
  FROM @extschema@.session_scopes sc
  JOIN @extschema@.sessions s ON s.id OPERATOR(pg_catalog.=) sc.id;

COMMENT ON VIEW agent_sessions_api.sessions IS
'Agent sessions as snake_case records (timestamps in UTC ending in Z).
One row per session the caller may see; filter it like any PostgREST resource (for example ?agent_id=eq.x with Prefer: count=exact). The worker functions return rows of this view.';
COMMENT ON COLUMN agent_sessions_api.sessions.id IS 'Session id (a UUIDv7); the functions also accept it as session_ followed by 32 hexadecimal digits.';
COMMENT ON COLUMN agent_sessions_api.sessions.organization_id IS 'The organization that owns the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.workspace_id IS 'The workspace the session belongs to.';
COMMENT ON COLUMN agent_sessions_api.sessions.project_id IS 'The project the session belongs to.';
COMMENT ON COLUMN agent_sessions_api.sessions.user_id IS 'The user the session belongs to.';
COMMENT ON COLUMN agent_sessions_api.sessions.team_id IS 'The team the session belongs to.';
COMMENT ON COLUMN agent_sessions_api.sessions.agent_id IS 'The agent working in the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.agent_name IS 'The name of the agent working in the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.machine_id IS 'The machine the session''s worker runs on.';
COMMENT ON COLUMN agent_sessions_api.sessions.caller_role IS 'The role of the caller that opened the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.caller_origin IS 'Where the caller that opened the session came from.';
COMMENT ON COLUMN agent_sessions_api.sessions.tenant_id IS 'The tenant the session acts for.';
COMMENT ON COLUMN agent_sessions_api.sessions.org_workspace_id IS 'The organization-level workspace of the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.type IS 'Free-text kind of session.';
COMMENT ON COLUMN agent_sessions_api.sessions.model IS 'The model the session was created for.';
COMMENT ON COLUMN agent_sessions_api.sessions.model_id IS 'Id of the model that overrides the agent''s default.';
COMMENT ON COLUMN agent_sessions_api.sessions.title IS 'Human-readable title.';
COMMENT ON COLUMN agent_sessions_api.sessions.prompt IS 'The prompt the session was created with.';
COMMENT ON COLUMN agent_sessions_api.sessions.summary IS 'Summary of what the session did.';
COMMENT ON COLUMN agent_sessions_api.sessions.preview IS 'Preview of the first user message.';
COMMENT ON COLUMN agent_sessions_api.sessions.output_preview IS 'Preview of the last assistant response.';
COMMENT ON COLUMN agent_sessions_api.sessions.workspace_element_type IS 'Kind of workspace element the session works on.';
COMMENT ON COLUMN agent_sessions_api.sessions.workspace_element_id IS 'Id of the workspace element the session works on.';
COMMENT ON COLUMN agent_sessions_api.sessions.is_external IS 'Whether the session runs outside the platform.';
COMMENT ON COLUMN agent_sessions_api.sessions.source IS 'What started the session (for example user or schedule).';
COMMENT ON COLUMN agent_sessions_api.sessions.source_schedule_id IS 'The schedule that started the session.';
COMMENT ON COLUMN agent_sessions_api.sessions.capabilities IS 'Session-level capabilities, as an array of {ref, config} objects.';
COMMENT ON COLUMN agent_sessions_api.sessions.config IS 'The agent''s configuration for this session, stored as given.';
COMMENT ON COLUMN agent_sessions_api.sessions.state IS 'The agent''s own conversation state, stored as given.';
COMMENT ON COLUMN agent_sessions_api.sessions.tags IS 'Tags for organizing and filtering sessions.';
COMMENT ON COLUMN agent_sessions_api.sessions.metadata IS 'Free-form metadata.';
COMMENT ON COLUMN agent_sessions_api.sessions.status IS 'Lifecycle status: queued, starting, running, completed, failed or cancelled.';
COMMENT ON COLUMN agent_sessions_api.sessions.activity IS 'busy while the agent works on a turn, idle while it waits; terminal sessions are idle.';
COMMENT ON COLUMN agent_sessions_api.sessions.is_running IS 'True while the agent is working: starting or running, and busy.';
COMMENT ON COLUMN agent_sessions_api.sessions.version IS 'Grows on every status, activity or content change; heartbeats leave it alone.';
COMMENT ON COLUMN agent_sessions_api.sessions.end_reason IS 'Why a terminal session ended: completed, error, cancelled, inactivity_timeout or start_timeout.';
COMMENT ON COLUMN agent_sessions_api.sessions.output IS 'What the session produced.';
COMMENT ON COLUMN agent_sessions_api.sessions.error IS 'Why a failed session failed.';
COMMENT ON COLUMN agent_sessions_api.sessions.usage IS 'Token usage, summed per key (for example input_tokens, output_tokens).';
COMMENT ON COLUMN agent_sessions_api.sessions.cost IS 'Accumulated cost.';
COMMENT ON COLUMN agent_sessions_api.sessions.created_at IS 'When the session was created.';
COMMENT ON COLUMN agent_sessions_api.sessions.updated_at IS 'When the session last changed.';
COMMENT ON COLUMN agent_sessions_api.sessions.started_at IS 'When the session started running.';
COMMENT ON COLUMN agent_sessions_api.sessions.finished_at IS 'When the session reached a terminal status.';
COMMENT ON COLUMN agent_sessions_api.sessions.last_activity_at IS 'Last meaningful progress: creation, transitions and heartbeats.';
COMMENT ON COLUMN agent_sessions_api.sessions.connected_at IS 'When a worker on machine_id first took the session.';
