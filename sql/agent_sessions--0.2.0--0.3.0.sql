-- agent_sessions 0.2.0 -> 0.3.0
--
-- The listing indexes, (scope, id) for organization, project, user and
-- agent, move from sessions to a new table, session_scopes, which holds
-- each session's id and scopes.  Ending a session rewrites its row in
-- sessions, and that new row version gets an entry in every index of the
-- table; the scopes never change when a session ends, so complete, fail,
-- cancel and the sweep now write two index entries on sessions instead of
-- six.  list_sessions(), count_sessions(), the API views and
-- project_agent_sessions() read the scopes from session_scopes; the
-- extension's functions and triggers on sessions keep it equal to
-- sessions.
--
-- create_session(), get_session(), heartbeat() and the lifecycle functions
-- (transition, start, complete, fail, cancel, add_usage) drop their SET
-- search_path: their statements now name every type and operator in full,
-- and the GUC save and restore cost every call.
--
-- The update holds an ACCESS EXCLUSIVE lock on sessions until it commits
-- (dropping the old indexes takes it first), reads the table once to fill
-- session_scopes and builds its indexes.  Roles that held privileges on
-- sessions get the same ones on session_scopes.

\echo Use "ALTER EXTENSION agent_sessions UPDATE TO '0.3.0'" to load this file. \quit

DROP INDEX @extschema@.sessions_organization_id_idx;
DROP INDEX @extschema@.sessions_project_id_idx;
DROP INDEX @extschema@.sessions_user_id_idx;
DROP INDEX @extschema@.sessions_agent_id_idx;

CREATE TABLE @extschema@.session_scopes (
    id                      uuid NOT NULL,
    organization_id         text,
    project_id              uuid,
    user_id                 text NOT NULL,
    agent_id                text,
    CONSTRAINT session_scopes_pkey PRIMARY KEY (id)
);

-- On a Citus coordinator whose sessions distribute() has distributed,
-- session_scopes joins its colocation group before it is filled, and the
-- triggers below may go onto the shards (for this transaction only).  Not
-- measured: Citus is not part of the test run.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension
                WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
        IF EXISTS (SELECT FROM pg_catalog.pg_dist_partition
                    WHERE logicalrelid OPERATOR(pg_catalog.=) '@extschema@.sessions'::regclass) THEN
            PERFORM pg_catalog.create_distributed_table('@extschema@.session_scopes', 'id',
                                                        colocate_with => '@extschema@.sessions');
        END IF;
    END IF;
END
$$;

INSERT INTO @extschema@.session_scopes (id, organization_id, project_id, user_id, agent_id)
SELECT id, organization_id, project_id, user_id, agent_id
  FROM @extschema@.sessions;

CREATE INDEX session_scopes_organization_id_idx ON @extschema@.session_scopes (organization_id, id);
CREATE INDEX session_scopes_project_id_idx ON @extschema@.session_scopes (project_id, id);
CREATE INDEX session_scopes_user_id_idx ON @extschema@.session_scopes (user_id, id);
CREATE INDEX session_scopes_agent_id_idx ON @extschema@.session_scopes (agent_id, id);

COMMENT ON TABLE @extschema@.session_scopes IS
    'Each session''s id, organization_id, project_id, user_id and agent_id, for listing sessions by scope. Kept equal to sessions by the extension''s functions and triggers; not meant to be written directly.';

ALTER TABLE @extschema@.session_scopes ENABLE ROW LEVEL SECURITY;

CREATE POLICY session_scopes_tenant ON @extschema@.session_scopes
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

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
REVOKE ALL ON FUNCTION @extschema@.sessions_scopes() FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@.session_scopes_guard() FROM PUBLIC;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.grantee::regrole AS grantee, a.privilege_type
               FROM pg_catalog.pg_class AS c,
                    pg_catalog.aclexplode(c.relacl) AS a
              WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.sessions'::regclass
                AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
                AND a.grantee OPERATOR(pg_catalog.<>) 0
                AND a.privilege_type OPERATOR(pg_catalog.=) ANY ('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE}')
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON TABLE @extschema@.session_scopes TO %s',
                                  r.privilege_type, r.grantee);
    END LOOP;
END
$$;

CREATE OR REPLACE VIEW agent_sessions_api.agent_sessions WITH (security_invoker = true) AS
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

CREATE OR REPLACE VIEW agent_sessions_api.sessions WITH (security_invoker = true) AS
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

CREATE OR REPLACE FUNCTION agent_sessions_api.project_agent_sessions(
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

CREATE OR REPLACE FUNCTION @extschema@.grant_api(role name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF grant_api.role IS NULL OR grant_api.role = 'public' THEN
        PERFORM @extschema@.invalid_argument('role', 'the API is granted to a role, never to PUBLIC');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = grant_api.role) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('role "%s" does not exist', grant_api.role);
    END IF;

    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@, agent_sessions_api TO %I', grant_api.role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA agent_sessions_api TO %I', grant_api.role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions_api TO %I', grant_api.role);

    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON TABLE @extschema@.sessions TO %I', grant_api.role);
    -- session_scopes is written with sessions (src/scopes.c)
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON TABLE @extschema@.session_scopes TO %I', grant_api.role);
    EXECUTE format('GRANT SELECT, INSERT ON TABLE @extschema@.session_events TO %I', grant_api.role);
    EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.session_events_event_id_seq TO %I', grant_api.role);

    -- what the API functions, the row-level security policies and the
    -- statements of the C functions call
    FOREACH fn IN ARRAY ARRAY[
        '@extschema@.uuid_v7()',
        '@extschema@.format_session_id(uuid)',
        '@extschema@.parse_session_id(text)',
        '@extschema@.session_id_argument(text, text)',
        '@extschema@.invalid_argument(text, text, text)',
        '@extschema@.check_choice(text, text, text[])',
        '@extschema@.caller_user_id()',
        '@extschema@.caller_organization_id()',
        '@extschema@.usage_add(jsonb, jsonb)',
        '@extschema@.create_session(text, text, text, text, uuid, text, text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, text, text, jsonb, jsonb, jsonb, text[], jsonb, interval, interval, text)',
        '@extschema@.start_session(uuid, text, bigint, text)',
        '@extschema@.heartbeat(uuid, @extschema@.session_activity)',
        '@extschema@.complete_session(uuid, jsonb, text, text, jsonb, numeric, bigint, text)',
        '@extschema@.fail_session(uuid, jsonb, text, text, bigint, text)',
        '@extschema@.cancel_session(uuid, text, bigint)',
        '@extschema@.wait_for_session(uuid, integer, bigint)',
        '@extschema@.active_sessions(interval, text, uuid, text, text, timestamptz, uuid, integer)'
    ]::regprocedure[] LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, grant_api.role);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.distribute()
RETURNS TABLE (object text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sessions_rel    regclass := '@extschema@.sessions';
    events_rel      regclass := '@extschema@.session_events';
    scopes_rel      regclass := '@extschema@.session_scopes';
    sessions_dist   record;
    events_dist     record;
    scopes_dist     record;
    local_rows      boolean := false;
    unsafe_triggers text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'extension "citus" is not installed'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'agent_sessions.distribute() distributes the extension''s tables with Citus.',
                  HINT = 'Install Citus and agent_sessions on every node, run CREATE EXTENSION citus on the coordinator, then call agent_sessions.distribute() there.';
    END IF;

    -- What is distributed already.  citus_tables hides extension-owned
    -- tables, so ask pg_dist_partition.
    SELECT p.partmethod, column_to_column_name(p.logicalrelid, p.partkey) AS column_name,
           p.colocationid
      INTO sessions_dist
      FROM pg_dist_partition AS p
     WHERE p.logicalrelid = sessions_rel;
    SELECT p.partmethod, column_to_column_name(p.logicalrelid, p.partkey) AS column_name,
           p.colocationid
      INTO events_dist
      FROM pg_dist_partition AS p
     WHERE p.logicalrelid = events_rel;
    SELECT p.partmethod, column_to_column_name(p.logicalrelid, p.partkey) AS column_name,
           p.colocationid
      INTO scopes_dist
      FROM pg_dist_partition AS p
     WHERE p.logicalrelid = scopes_rel;

    IF sessions_dist.partmethod IS NOT NULL
       AND (sessions_dist.partmethod <> 'h' OR sessions_dist.column_name IS DISTINCT FROM 'id') THEN
        RAISE EXCEPTION 'table @extschema@.sessions is already a Citus table that is not hash-distributed by id'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Its distribution method is "%s" on column %s.',
                                  sessions_dist.partmethod, coalesce(sessions_dist.column_name, '(none)')),
                  HINT = 'agent_sessions needs sessions distributed by id; extension tables cannot be undistributed, so reinstall the extension.';
    END IF;
    IF events_dist.partmethod IS NOT NULL
       AND (events_dist.partmethod <> 'h' OR events_dist.column_name IS DISTINCT FROM 'session_id'
            OR sessions_dist.colocationid IS DISTINCT FROM events_dist.colocationid) THEN
        RAISE EXCEPTION 'table @extschema@.session_events is already a Citus table that is not colocated with sessions by session_id'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Its distribution method is "%s" on column %s.',
                                  events_dist.partmethod, coalesce(events_dist.column_name, '(none)')),
                  HINT = 'agent_sessions needs session_events distributed by session_id in the colocation group of sessions; extension tables cannot be undistributed, so reinstall the extension.';
    END IF;

    IF scopes_dist.partmethod IS NOT NULL
       AND (scopes_dist.partmethod <> 'h' OR scopes_dist.column_name IS DISTINCT FROM 'id'
            OR sessions_dist.colocationid IS DISTINCT FROM scopes_dist.colocationid) THEN
        RAISE EXCEPTION 'table @extschema@.session_scopes is already a Citus table that is not colocated with sessions by id'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Its distribution method is "%s" on column %s.',
                                  scopes_dist.partmethod, coalesce(scopes_dist.column_name, '(none)')),
                  HINT = 'agent_sessions needs session_scopes distributed by id in the colocation group of sessions; extension tables cannot be undistributed, so reinstall the extension.';
    END IF;

    -- Citus enforces a unique index only when it contains the distribution
    -- column, one shard at a time, so the per-user idempotency key cannot
    -- stay unique across shards.  Keep the same columns in a plain index for
    -- the key look-up.
    IF sessions_dist.partmethod IS NULL
       AND to_regclass('@extschema@.sessions_idempotency_key_idx') IS NOT NULL THEN
        DROP INDEX @extschema@.sessions_idempotency_key_idx;
        CREATE INDEX sessions_idempotency_key_lookup_idx
            ON @extschema@.sessions (organization_id, user_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        object := '@extschema@.sessions_idempotency_key_idx';
        action := 'replaced by the non-unique index sessions_idempotency_key_lookup_idx: Citus cannot enforce uniqueness without the distribution column';
        RETURN NEXT;
    END IF;

    -- The triggers (the lifecycle guard) go to every shard; Citus refuses
    -- tables with triggers unless told otherwise, for this call only.
    IF EXISTS (SELECT FROM pg_trigger
                WHERE tgrelid IN (sessions_rel, events_rel) AND NOT tgisinternal) THEN
        unsafe_triggers := current_setting('citus.enable_unsafe_triggers');
        SET LOCAL citus.enable_unsafe_triggers = on;
    END IF;

    IF sessions_dist.partmethod IS NULL THEN
        local_rows := EXISTS (SELECT FROM ONLY @extschema@.sessions);
        PERFORM create_distributed_table('@extschema@.sessions', 'id');
        object := '@extschema@.sessions';
        action := 'distributed by id';
        RETURN NEXT;
    ELSE
        object := '@extschema@.sessions';
        action := 'already distributed by id';
        RETURN NEXT;
    END IF;

    IF scopes_dist.partmethod IS NULL THEN
        local_rows := local_rows OR EXISTS (SELECT FROM ONLY @extschema@.session_scopes);
        PERFORM create_distributed_table('@extschema@.session_scopes', 'id',
                                         colocate_with => '@extschema@.sessions');
        object := '@extschema@.session_scopes';
        action := 'distributed by id, colocated with sessions';
        RETURN NEXT;
    ELSE
        object := '@extschema@.session_scopes';
        action := 'already distributed by id, colocated with sessions';
        RETURN NEXT;
    END IF;

    IF events_dist.partmethod IS NULL THEN
        local_rows := local_rows OR EXISTS (SELECT FROM ONLY @extschema@.session_events);
        PERFORM create_distributed_table('@extschema@.session_events', 'session_id',
                                         colocate_with => '@extschema@.sessions');
        object := '@extschema@.session_events';
        action := 'distributed by session_id, colocated with sessions';
        RETURN NEXT;
    ELSE
        object := '@extschema@.session_events';
        action := 'already distributed by session_id, colocated with sessions';
        RETURN NEXT;
    END IF;

    -- Rows that existed before were copied into the shards; the coordinator's
    -- own copies are invisible from now on and only take space.
    IF local_rows THEN
        PERFORM truncate_local_data_after_distributing_table('@extschema@.session_events');
        PERFORM truncate_local_data_after_distributing_table('@extschema@.session_scopes');
        PERFORM truncate_local_data_after_distributing_table('@extschema@.sessions');
        object := '@extschema@.sessions, @extschema@.session_scopes, @extschema@.session_events';
        action := 'existing rows moved to the shards; local copies removed';
        RETURN NEXT;
    END IF;

    IF unsafe_triggers IS NOT NULL THEN
        PERFORM set_config('citus.enable_unsafe_triggers', unsafe_triggers, true);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute() IS
    'On a Citus coordinator: distribute sessions by id and colocate session_scopes by id and session_events by session_id, replacing the idempotency unique index by a plain one. Idempotent; reports what it did. Raises 55000 when Citus is not installed.';

CREATE OR REPLACE FUNCTION @extschema@.drop_all_shards()
RETURNS TABLE (relation regclass, shards_dropped integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    table_name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;

    -- session_events first: its shards reference those of sessions.
    FOREACH table_name IN ARRAY ARRAY['session_events', 'session_scopes', 'sessions'] LOOP
        relation := format('%I.%I', '@extschema@', table_name)::regclass;
        IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = relation) THEN
            shards_dropped := citus_drop_all_shards(relation, '@extschema@', table_name);
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_all_shards() IS
    'On Citus, run right before DROP EXTENSION agent_sessions: drops every shard of session_events, session_scopes and sessions, with their rows, on every node (DROP EXTENSION alone leaves them behind). Returns nothing when the tables are not distributed.';

ALTER FUNCTION @extschema@.heartbeat(uuid, @extschema@.session_activity) RESET search_path;
ALTER FUNCTION @extschema@.transition(uuid, @extschema@.session_status, bigint, text, jsonb, jsonb, text, text, text) RESET search_path;
ALTER FUNCTION @extschema@.start_session(uuid, text, bigint, text) RESET search_path;
ALTER FUNCTION @extschema@.complete_session(uuid, jsonb, text, text, jsonb, numeric, bigint, text) RESET search_path;
ALTER FUNCTION @extschema@.fail_session(uuid, jsonb, text, text, bigint, text) RESET search_path;
ALTER FUNCTION @extschema@.cancel_session(uuid, text, bigint) RESET search_path;
ALTER FUNCTION @extschema@.add_usage(uuid, jsonb, numeric) RESET search_path;
ALTER FUNCTION @extschema@.create_session(text, text, text, text, uuid, text, text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, text, text, jsonb, jsonb, jsonb, text[], jsonb, interval, interval, text) RESET search_path;
ALTER FUNCTION @extschema@.get_session(uuid) RESET search_path;
ALTER FUNCTION @extschema@.get_session(text) RESET search_path;
