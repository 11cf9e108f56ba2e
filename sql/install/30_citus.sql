-- Scale-out on Citus
--
-- The install script never distributes anything: with no Citus the
-- extension is plain PostgreSQL.  On a Citus coordinator, one call to
-- distribute() hash-distributes sessions by id and colocates session_scopes
-- with it by id and session_events by session_id, so that every call about one session is a
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
