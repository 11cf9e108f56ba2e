-- agent_sessions 0.2.0
--
-- This script is assembled from the fragments in sql/install/, one per
-- concern.  Every name is qualified, every function that runs SQL or
-- looks up a name pins its search_path, and nothing uses OR REPLACE or
-- IF NOT EXISTS.

\echo Use "CREATE EXTENSION agent_sessions" to load this file. \quit

-- Types

CREATE TYPE @extschema@.session_status AS ENUM
    ('queued', 'starting', 'running', 'completed', 'failed', 'cancelled');
COMMENT ON TYPE @extschema@.session_status IS
    'Lifecycle of a session: queued -> starting -> running -> completed; failed or cancelled from any live status. completed, failed and cancelled are terminal.';

CREATE TYPE @extschema@.session_activity AS ENUM ('busy', 'idle');
COMMENT ON TYPE @extschema@.session_activity IS
    'Whether the agent is working on a turn (busy) or waiting for input (idle). Terminal sessions are always idle.';

-- Ids: UUIDv7 and the "session_<32 hex>" text form
--
-- These three are plain C over their arguments: they run no SQL and look
-- up no name, so they carry no SET search_path (which would cost every
-- call a GUC save and restore, and keep the planner from treating the
-- IMMUTABLE ones as such in views).

CREATE FUNCTION @extschema@.uuid_v7()
RETURNS uuid
LANGUAGE c VOLATILE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'uuid_v7';
COMMENT ON FUNCTION @extschema@.uuid_v7() IS
    'A time-ordered UUID (RFC 9562 version 7), strictly increasing within a backend.';

CREATE FUNCTION @extschema@.format_session_id(id uuid)
RETURNS text
LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'format_session_id';
COMMENT ON FUNCTION @extschema@.format_session_id(uuid) IS
    'The prefixed form of a session id: ''session_'' followed by 32 lowercase hexadecimal digits.';

CREATE FUNCTION @extschema@.parse_session_id(id text)
RETURNS uuid
LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'parse_session_id';
COMMENT ON FUNCTION @extschema@.parse_session_id(text) IS
    'The uuid of a session id written as a UUID or as ''session_'' followed by 32 hexadecimal digits; raises 22P02 otherwise.';

-- Tables
--
-- One row per session.  Heartbeats write last_activity_at, activity,
-- version and updated_at only, and none of those is in any index (nor in an
-- index predicate), so a heartbeat is a HOT update; fillfactor leaves room
-- on each page for the new row versions.

CREATE TABLE @extschema@.sessions (
    id                      uuid NOT NULL DEFAULT @extschema@.uuid_v7(),

    -- tenancy and ownership
    organization_id         text,
    workspace_id            text,
    project_id              uuid,
    user_id                 text NOT NULL,
    agent_id                text,
    agent_name              text,
    machine_id              text,
    caller_role             text,
    caller_origin           text,
    tenant_id               text,
    org_workspace_id        text,
    team_id                 text,

    -- what the agent does
    type                    text,
    model                   text,
    model_id                text,
    title                   text,
    prompt                  text,
    summary                 text,
    preview                 text,
    output_preview          text,
    workspace_element_type  text,
    workspace_element_id    text,
    is_external             boolean NOT NULL DEFAULT false,
    source                  text,
    source_schedule_id      text,
    capabilities            jsonb NOT NULL DEFAULT '[]',
    config                  jsonb,
    agent_state             jsonb,
    tags                    text[] NOT NULL DEFAULT '{}',
    metadata                jsonb NOT NULL DEFAULT '{}',

    -- lifecycle
    status                  @extschema@.session_status NOT NULL DEFAULT 'queued',
    activity                @extschema@.session_activity NOT NULL DEFAULT 'busy',
    version                 bigint NOT NULL DEFAULT 1,
    end_reason              text,

    -- payloads
    output                  jsonb,
    error                   jsonb,
    usage                   jsonb NOT NULL DEFAULT '{}',
    cost                    numeric NOT NULL DEFAULT 0,

    -- per-session overrides of agent_sessions.inactivity_timeout / start_timeout
    inactivity_timeout      interval,
    start_timeout           interval,

    -- idempotent create
    idempotency_key         text,
    request_hash            text,

    -- set by the extension, never by callers
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    started_at              timestamptz,
    finished_at             timestamptz,
    last_activity_at        timestamptz NOT NULL,
    connected_at            timestamptz,

    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_finished_iff_terminal CHECK (
        (status OPERATOR(pg_catalog.=) ANY ('{completed,failed,cancelled}'::@extschema@.session_status[]))
        OPERATOR(pg_catalog.=) (finished_at IS NOT NULL)),
    CONSTRAINT sessions_terminal_is_idle CHECK (
        status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[])
        OR activity OPERATOR(pg_catalog.=) 'idle'::@extschema@.session_activity),
    CONSTRAINT sessions_user_id_not_empty CHECK (user_id OPERATOR(pg_catalog.<>) ''),
    CONSTRAINT sessions_version_positive CHECK (version OPERATOR(pg_catalog.>) 0),
    CONSTRAINT sessions_timeouts_positive CHECK (
        inactivity_timeout OPERATOR(pg_catalog.>) '0'::interval
        AND start_timeout OPERATOR(pg_catalog.>) '0'::interval)
) WITH (fillfactor = 85);

COMMENT ON TABLE @extschema@.sessions IS
    'One row per AI-agent session. Written through the agent_sessions functions; a direct UPDATE is held to the same lifecycle.';
COMMENT ON COLUMN @extschema@.sessions.id IS 'UUIDv7; format_session_id() gives the session_<hex> form.';
COMMENT ON COLUMN @extschema@.sessions.activity IS 'busy while a turn runs, idle while waiting; terminal sessions are idle.';
COMMENT ON COLUMN @extschema@.sessions.version IS 'Grows on every status, activity or content change; heartbeats leave it alone.';
COMMENT ON COLUMN @extschema@.sessions.end_reason IS 'Why a terminal session ended: completed, error, cancelled, inactivity_timeout or start_timeout.';
COMMENT ON COLUMN @extschema@.sessions.last_activity_at IS 'Last meaningful progress: creation, transitions and heartbeats. Used for the active window and inactivity timeouts.';
COMMENT ON COLUMN @extschema@.sessions.agent_state IS 'The agent''s own conversation state, stored as given.';
COMMENT ON COLUMN @extschema@.sessions.request_hash IS 'Digest of the create request, to tell a retry from a reused idempotency key.';

-- Live sessions by scope: terminal sessions leave these indexes.
CREATE INDEX sessions_live_organization_idx ON @extschema@.sessions (organization_id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);
CREATE INDEX sessions_live_project_idx ON @extschema@.sessions (project_id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);
CREATE INDEX sessions_live_user_idx ON @extschema@.sessions (user_id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);
CREATE INDEX sessions_live_agent_idx ON @extschema@.sessions (agent_id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);

-- Listing by scope with keyset pagination on id.
CREATE INDEX sessions_organization_id_idx ON @extschema@.sessions (organization_id, id);
CREATE INDEX sessions_project_id_idx ON @extschema@.sessions (project_id, id);
CREATE INDEX sessions_user_id_idx ON @extschema@.sessions (user_id, id);
CREATE INDEX sessions_agent_id_idx ON @extschema@.sessions (agent_id, id);

-- An idempotency key is unique per organization and user.
CREATE UNIQUE INDEX sessions_idempotency_key_idx
    ON @extschema@.sessions (organization_id, user_id, idempotency_key) NULLS NOT DISTINCT
    WHERE idempotency_key IS NOT NULL;

-- History: one row per status or activity change (heartbeats are not events).
CREATE SEQUENCE @extschema@.session_events_event_id_seq AS bigint;

CREATE TABLE @extschema@.session_events (
    session_id      uuid NOT NULL,
    event_id        bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.session_events_event_id_seq'::pg_catalog.regclass),
    organization_id text,
    user_id         text NOT NULL,
    from_status     @extschema@.session_status,
    to_status       @extschema@.session_status NOT NULL,
    from_activity   @extschema@.session_activity,
    to_activity     @extschema@.session_activity NOT NULL,
    version         bigint NOT NULL,
    at              timestamptz NOT NULL,
    actor           text,
    reason          text,
    CONSTRAINT session_events_pkey PRIMARY KEY (session_id, event_id),
    CONSTRAINT session_events_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES @extschema@.sessions (id) ON DELETE CASCADE
);
ALTER SEQUENCE @extschema@.session_events_event_id_seq OWNED BY @extschema@.session_events.event_id;

COMMENT ON TABLE @extschema@.session_events IS
    'Append-only history of status and activity changes. from_status is NULL on the row that records creation.';

-- pg_dump keeps the data of both tables and the sequence.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.session_events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.session_events_event_id_seq', '');

-- Identity and row-level security
--
-- A caller sees and changes only the sessions of the organization in its
-- claims, or, without an organization claim, only its own sessions that
-- belong to no organization (so a caller without one cannot write into an
-- organization's sessions).  A caller with neither claim sees nothing.
-- Owners of the tables (and superusers) are not subject to these policies.
-- The policies use only CASE, "column IS NULL" and plain comparisons of
-- columns with the claim functions, the forms Citus evaluates on its
-- workers (no IS NULL on function results, no subqueries).

CREATE FUNCTION @extschema@.caller_user_id()
RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'caller_user_id';
COMMENT ON FUNCTION @extschema@.caller_user_id() IS
    'The calling user: the agent_sessions.user_claim claim (default "sub") of request.jwt.claims, jwt.claims.* or request.jwt.claim.*; '''' when absent.';

CREATE FUNCTION @extschema@.caller_organization_id()
RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'caller_organization_id';
COMMENT ON FUNCTION @extschema@.caller_organization_id() IS
    'The calling organization: the agent_sessions.organization_claim claim (default "org_id"); '''' when absent.';

ALTER TABLE @extschema@.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.session_events ENABLE ROW LEVEL SECURITY;

CREATE POLICY sessions_tenant ON @extschema@.sessions
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

CREATE POLICY session_events_tenant ON @extschema@.session_events
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

-- Sessions: create, read, list

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
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'create_session';
COMMENT ON FUNCTION @extschema@.create_session(text, text, text, text, uuid, text, text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, text, text, jsonb, jsonb, jsonb, text[], jsonb, interval, interval, text) IS
    'Create a queued, busy session. user_id and organization_id default to the caller''s claims. The same idempotency_key with the same request returns the first session; with another request it raises PT409.';

CREATE FUNCTION @extschema@.get_session(id uuid)
RETURNS @extschema@.sessions
LANGUAGE c STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'get_session';
COMMENT ON FUNCTION @extschema@.get_session(uuid) IS
    'The session with this id; PT404 when it does not exist or is not visible to the caller.';

CREATE FUNCTION @extschema@.get_session(id text)
RETURNS @extschema@.sessions
LANGUAGE c STABLE STRICT
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
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
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'fail_session';
COMMENT ON FUNCTION @extschema@.fail_session(uuid, jsonb, text, text, bigint, text) IS
    'Move a live session to failed. error is an object such as {"message", "type", "key", "data"}; message, when given, becomes its "message". end_reason defaults to "error".';

CREATE FUNCTION @extschema@.cancel_session(
    id                  uuid,
    reason              text DEFAULT NULL,
    expected_version    bigint DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cancel_session';
COMMENT ON FUNCTION @extschema@.cancel_session(uuid, text, bigint) IS
    'Move a live session to cancelled. Its worker learns it from its next heartbeat (cancel_requested).';

CREATE FUNCTION @extschema@.add_usage(
    id                  uuid,
    usage               jsonb DEFAULT NULL,
    cost                numeric DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
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

CREATE FUNCTION @extschema@.heartbeat(
    id                  uuid,
    activity            @extschema@.session_activity DEFAULT NULL)
RETURNS @extschema@.heartbeat_result
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
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

-- The sweep: fail live sessions whose agent went quiet
--
-- The sweep walks the live sessions in id order (oldest first).  Only
-- live sessions are in this index, and last_activity_at is in none (a
-- heartbeat must stay a HOT update), so finding the stale ones costs one
-- pass over the live sessions, never over the finished ones.

CREATE INDEX sessions_live_idx ON @extschema@.sessions (id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);

CREATE FUNCTION @extschema@.sweep(
    batch_size      integer DEFAULT 1000,
    max_batches     integer DEFAULT NULL,
    dry_run         boolean DEFAULT false)
RETURNS TABLE (
    swept               bigint,
    skipped_locked      bigint,
    remaining           bigint,
    swept_inactive      bigint,
    swept_start_timeout bigint,
    batches             integer,
    locked_out          boolean)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sweep';
COMMENT ON FUNCTION @extschema@.sweep(integer, integer, boolean) IS
    'Fail the live sessions past their timeout: running ones quiet for longer than inactivity_timeout (end_reason inactivity_timeout), queued or starting ones for longer than start_timeout (end_reason start_timeout), with error {"type": "timeout", "message": ...}. Works in batches of batch_size (1..100000) until none is left or max_batches have run, skipping (skipped_locked) sessions another transaction holds or that changed since they were found. remaining counts the stale sessions left (skipped or not reached). dry_run only counts. A sweep that finds another one running returns at once with locked_out.';

-- Scheduling the sweep with pg_cron (optional: pg_cron is not required)

CREATE FUNCTION @extschema@.schedule_sweep(schedule text DEFAULT '* * * * *')
RETURNS bigint
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'schedule_sweep';
COMMENT ON FUNCTION @extschema@.schedule_sweep(text) IS
    'Run agent_sessions.sweep() on this cron schedule (default every minute, the finest pg_cron 1.4 offers) as the pg_cron job agent_sessions_sweep, replacing that job if this role already has it; returns the job id. Must be called in the database named by cron.database_name; from another one the error''s hint gives the cron.schedule_in_database call to run there.';

CREATE FUNCTION @extschema@.unschedule_sweep()
RETURNS boolean
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'unschedule_sweep';
COMMENT ON FUNCTION @extschema@.unschedule_sweep() IS
    'Remove the pg_cron job agent_sessions_sweep of this database; false when there is none (also when pg_cron is absent).';
-- Long-poll: wait_for_session, woken at the writer's commit
--
-- With agent_sessions in shared_preload_libraries a wait sleeps on its
-- latch and is woken by the commit of a transaction that changed the
-- session; otherwise it polls (10 ms, doubling to 500 ms between reads).

CREATE FUNCTION @extschema@.wait_for_session(
    id              uuid,
    timeout_s       integer DEFAULT 30,
    since_version   bigint DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'wait_for_session';
COMMENT ON FUNCTION @extschema@.wait_for_session(uuid, integer, bigint) IS
    'Wait up to timeout_s seconds (1..60, default 30) for the session to change, and return its row. Without since_version: returns at once if the session is idle or terminal, else as soon as it changes. With since_version: returns as soon as its version is greater. On timeout returns the current row. Refused in REPEATABLE READ and SERIALIZABLE transactions (0A000); PT429 when agent_sessions.max_waiters waits are already running.';

CREATE FUNCTION @extschema@.waiters(
    OUT pid             integer,
    OUT session_id      uuid,
    OUT since_version   bigint,
    OUT waiting_since   timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'waiters';
COMMENT ON FUNCTION @extschema@.waiters() IS
    'The wait_for_session calls holding a slot of the waiter table: the waiting backend, the session, the version it waits to pass and since when. Empty unless agent_sessions is preloaded. For operators: it shows every tenant''s sessions, so it is not granted to API roles.';

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
       COALESCE(s.workspace_id, s.organization_id) AS "workspaceId",
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
       s.user_id AS "userId",
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
  FROM @extschema@.sessions s;

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
       s.organization_id,
       s.workspace_id,
       s.project_id,
       s.user_id,
       s.team_id,
       s.agent_id,
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
  FROM @extschema@.sessions s;

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
        -- every session of the project, most recently created first
        picked := ARRAY(
            SELECT s
              FROM @extschema@.sessions s
             WHERE s.project_id = project_agent_sessions.id
             ORDER BY s.id DESC
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

-- PostgREST API: privileges
--
-- Nothing in agent_sessions_api is granted to PUBLIC.  grant_api(role)
-- grants a role (PostgREST's authenticated role, say) exactly what calling
-- the API takes: the API schema, its views and functions, and, because the
-- views are security_invoker and every function is SECURITY INVOKER, the
-- privileges on the tables and agent_sessions functions they use.  Which
-- rows the role then sees and changes is up to row-level security.

CREATE FUNCTION @extschema@.grant_api(role name)
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
COMMENT ON FUNCTION @extschema@.grant_api(name) IS
    'Grant a role what calling agent_sessions_api takes (for PostgREST: the role its tokens name). Row-level security decides which sessions the role sees. Run it again after ALTER EXTENSION agent_sessions UPDATE.';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agent_sessions_api FROM PUBLIC;
-- Scale-out on Citus
--
-- The install script never distributes anything: with no Citus the
-- extension is plain PostgreSQL.  On a Citus coordinator, one call to
-- distribute() hash-distributes sessions by id and colocates session_events
-- with it by session_id, so that every call about one session is a
-- single-shard statement and a session's row and its history live on the
-- same node.  drop_all_shards() is the teardown step Citus needs before
-- DROP EXTENSION, which would otherwise leave every shard behind on the
-- workers.  What was measured on Citus, and why each step is here:
-- research/citus.md.

CREATE FUNCTION @extschema@.distribute()
RETURNS TABLE (object text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sessions_rel    regclass := '@extschema@.sessions';
    events_rel      regclass := '@extschema@.session_events';
    sessions_dist   record;
    events_dist     record;
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
        PERFORM truncate_local_data_after_distributing_table('@extschema@.sessions');
        object := '@extschema@.sessions, @extschema@.session_events';
        action := 'existing rows moved to the shards; local copies removed';
        RETURN NEXT;
    END IF;

    IF unsafe_triggers IS NOT NULL THEN
        PERFORM set_config('citus.enable_unsafe_triggers', unsafe_triggers, true);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute() IS
    'On a Citus coordinator: distribute sessions by id and colocate session_events by session_id, replacing the idempotency unique index by a plain one. Idempotent; reports what it did. Raises 55000 when Citus is not installed.';

CREATE FUNCTION @extschema@.drop_all_shards()
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
    FOREACH table_name IN ARRAY ARRAY['session_events', 'sessions'] LOOP
        relation := format('%I.%I', '@extschema@', table_name)::regclass;
        IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = relation) THEN
            shards_dropped := citus_drop_all_shards(relation, '@extschema@', table_name);
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_all_shards() IS
    'On Citus, run right before DROP EXTENSION agent_sessions: drops every shard of session_events and sessions, with their rows, on every node (DROP EXTENSION alone leaves them behind). Returns nothing when the tables are not distributed.';
-- Privileges
--
-- Nothing is granted to PUBLIC but the pure id functions and the claim
-- readers the row-level security policies call.  grant_api(role) grants a
-- role (such as PostgREST's authenticated role) what it needs.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.uuid_v7(),
    @extschema@.format_session_id(uuid),
    @extschema@.parse_session_id(text),
    @extschema@.caller_user_id(),
    @extschema@.caller_organization_id(),
    @extschema@.usage_add(jsonb, jsonb)
    TO PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

