-- Sessions: create, read, list

-- create_session() and get_session() carry no SET search_path, like the
-- lifecycle functions (06_lifecycle.sql): their statements name every
-- table, type and operator in full (src/sessions.c), and they share kept
-- plans with those functions, which a pinned search_path would make
-- PostgreSQL parse again on every switch between the two.
CREATE FUNCTION @extschema@.create_session(
    user_id                 text DEFAULT NULL,
    prompt                  text DEFAULT NULL,
    organization_id         text DEFAULT NULL,
    workspace_id            text DEFAULT NULL,
    project_id              uuid DEFAULT NULL,
    agent_id                text DEFAULT NULL,
    agent_name              text DEFAULT NULL,
    machine_id              text DEFAULT NULL,
    caller_role             text DEFAULT NULL,
    caller_origin           text DEFAULT NULL,
    tenant_id               text DEFAULT NULL,
    org_workspace_id        text DEFAULT NULL,
    team_id                 text DEFAULT NULL,
    type                    text DEFAULT NULL,
    model                   text DEFAULT NULL,
    model_id                text DEFAULT NULL,
    title                   text DEFAULT NULL,
    preview                 text DEFAULT NULL,
    workspace_element_type  text DEFAULT NULL,
    workspace_element_id    text DEFAULT NULL,
    is_external             boolean DEFAULT NULL,
    source                  text DEFAULT NULL,
    source_schedule_id      text DEFAULT NULL,
    capabilities            jsonb DEFAULT NULL,
    config                  jsonb DEFAULT NULL,
    agent_state             jsonb DEFAULT NULL,
    tags                    text[] DEFAULT NULL,
    metadata                jsonb DEFAULT NULL,
    inactivity_timeout      interval DEFAULT NULL,
    start_timeout           interval DEFAULT NULL,
    idempotency_key         text DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'create_session';
COMMENT ON FUNCTION @extschema@.create_session(text, text, text, text, uuid, text, text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, text, text, jsonb, jsonb, jsonb, text[], jsonb, interval, interval, text) IS
    'Create a queued, busy session. user_id and organization_id default to the caller''s claims. The same idempotency_key with the same request returns the first session; with another request it raises PT409.';

CREATE FUNCTION @extschema@.get_session(id uuid)
RETURNS @extschema@.sessions
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'get_session';
COMMENT ON FUNCTION @extschema@.get_session(uuid) IS
    'The session with this id; PT404 when it does not exist or is not visible to the caller.';

CREATE FUNCTION @extschema@.get_session(id text)
RETURNS @extschema@.sessions
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'get_session_text';
COMMENT ON FUNCTION @extschema@.get_session(text) IS
    'The session with this id, written as a UUID or as session_<32 hex>; PT404 when it does not exist or is not visible to the caller.';

CREATE FUNCTION @extschema@.list_sessions(
    status          @extschema@.session_status[] DEFAULT NULL,
    activity        @extschema@.session_activity DEFAULT NULL,
    organization_id text DEFAULT NULL,
    workspace_id    text DEFAULT NULL,
    project_id      uuid DEFAULT NULL,
    user_id         text DEFAULT NULL,
    agent_id        text DEFAULT NULL,
    tags_any        text[] DEFAULT NULL,
    tags_all        text[] DEFAULT NULL,
    created_after   timestamptz DEFAULT NULL,
    created_before  timestamptz DEFAULT NULL,
    active_after    timestamptz DEFAULT NULL,
    active_before   timestamptz DEFAULT NULL,
    after           uuid DEFAULT NULL,
    page_size       integer DEFAULT 100)
RETURNS SETOF @extschema@.sessions
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'list_sessions';
COMMENT ON FUNCTION @extschema@.list_sessions(@extschema@.session_status[], @extschema@.session_activity, text, text, uuid, text, text, text[], text[], timestamptz, timestamptz, timestamptz, timestamptz, uuid, integer) IS
    'Sessions matching every given filter, newest first. Pass the last id of a page as "after" to get the next page (page_size 1..10000, default 100).';

CREATE FUNCTION @extschema@.count_sessions(
    status          @extschema@.session_status[] DEFAULT NULL,
    activity        @extschema@.session_activity DEFAULT NULL,
    organization_id text DEFAULT NULL,
    workspace_id    text DEFAULT NULL,
    project_id      uuid DEFAULT NULL,
    user_id         text DEFAULT NULL,
    agent_id        text DEFAULT NULL,
    tags_any        text[] DEFAULT NULL,
    tags_all        text[] DEFAULT NULL,
    created_after   timestamptz DEFAULT NULL,
    created_before  timestamptz DEFAULT NULL,
    active_after    timestamptz DEFAULT NULL,
    active_before   timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'count_sessions';
COMMENT ON FUNCTION @extschema@.count_sessions(@extschema@.session_status[], @extschema@.session_activity, text, text, uuid, text, text, text[], text[], timestamptz, timestamptz, timestamptz, timestamptz) IS
    'How many sessions list_sessions would return over all pages with the same filters.';

