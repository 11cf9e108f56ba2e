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

-- An idempotency key is unique per organization and user.
CREATE UNIQUE INDEX sessions_idempotency_key_idx
    ON @extschema@.sessions (organization_id, user_id, idempotency_key) NULLS NOT DISTINCT
    WHERE idempotency_key IS NOT NULL;

-- Listing by scope, with keyset pagination on id, reads session_scopes:
-- each session's id and scopes again, in a table of its own.  Ending a
-- session rewrites its row in sessions, and a row that is not updated in
-- place gets a new entry in every index of its table, whether that index's
-- key changed or not.  The scopes never change when a session ends, so
-- their indexes stay off sessions, and ending a session writes to two
-- indexes (the primary key and the finished window) instead of six.
-- Triggers keep session_scopes equal to sessions for every write made
-- outside the extension's functions (sessions_scopes(), 06_lifecycle.sql);
-- create_session() writes both rows in one statement.  Like an index, it
-- is not dumped: restoring sessions fills it again.
CREATE TABLE @extschema@.session_scopes (
    id                      uuid NOT NULL,
    organization_id         text,
    project_id              uuid,
    user_id                 text NOT NULL,
    agent_id                text,
    CONSTRAINT session_scopes_pkey PRIMARY KEY (id)
);
CREATE INDEX session_scopes_organization_id_idx ON @extschema@.session_scopes (organization_id, id);
CREATE INDEX session_scopes_project_id_idx ON @extschema@.session_scopes (project_id, id);
CREATE INDEX session_scopes_user_id_idx ON @extschema@.session_scopes (user_id, id);
CREATE INDEX session_scopes_agent_id_idx ON @extschema@.session_scopes (agent_id, id);

COMMENT ON TABLE @extschema@.session_scopes IS
    'Each session''s id, organization_id, project_id, user_id and agent_id, for listing sessions by scope. Kept equal to sessions by the extension''s functions and triggers; not meant to be written directly.';

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

