-- distribute() and drop_all_shards()
--
-- Citus is not part of this test run.  The first part checks what happens
-- without it: distribute() refuses with 55000 and changes nothing.  The
-- second part runs both functions against a stand-in for the few Citus
-- objects they use, with the signatures of Citus 13.2.2, and a stand-in
-- create_distributed_table() that refuses what Citus refuses (a unique index
-- without the distribution column, triggers without
-- citus.enable_unsafe_triggers, a foreign key to a table that is not
-- distributed).  It checks the order and the arguments of the calls and
-- what distribute() leaves behind, not Citus itself.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;

SELECT plan(28);

-- Without Citus

SELECT throws_ok(
    'SELECT * FROM agent_sessions.distribute()',
    '55000', 'extension "citus" is not installed',
    'distribute() without Citus raises 55000');
SELECT is(
    (SELECT indisunique FROM pg_index
      WHERE indexrelid = 'agent_sessions.sessions_idempotency_key_idx'::regclass),
    true, 'without Citus the idempotency index stays unique');
SELECT is(to_regclass('agent_sessions.sessions_idempotency_key_lookup_idx'), NULL,
          'without Citus no lookup index is made');
SELECT is(current_setting('citus.enable_unsafe_triggers', true), NULL,
          'without Citus no Citus setting is touched');
SELECT is_empty('SELECT * FROM agent_sessions.drop_all_shards()',
                'drop_all_shards() without Citus has nothing to drop');

SELECT is(
    (SELECT array_agg(p.proname::text ORDER BY p.proname)
       FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions'::regnamespace
        AND p.proname IN ('distribute', 'drop_all_shards')
        AND p.proconfig = '{"search_path=pg_catalog, pg_temp"}'
        AND NOT p.prosecdef
        AND obj_description(p.oid, 'pg_proc') <> ''),
    '{distribute,drop_all_shards}'::text[],
    'both run as the caller with a pinned search_path and are documented');
SELECT is(
    (SELECT count(*) FROM pg_proc p
      WHERE p.pronamespace = 'agent_sessions'::regnamespace
        AND p.proname IN ('distribute', 'drop_all_shards')
        AND (p.proacl IS NULL
             OR EXISTS (SELECT FROM aclexplode(p.proacl) AS a
                         WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))),
    0::bigint, 'PUBLIC may execute neither');

-- A stand-in for Citus

SET LOCAL allow_system_table_mods = on;
CREATE SCHEMA citus_stand_in;
CREATE TABLE citus_stand_in.calls (
    n serial PRIMARY KEY,
    call text NOT NULL,
    unsafe_triggers text
);
CREATE SCHEMA citus;
CREATE TYPE citus.distribution_type AS ENUM ('hash', 'range', 'append');
CREATE TABLE pg_catalog.pg_dist_partition (
    logicalrelid regclass NOT NULL,
    partmethod "char" NOT NULL,
    partkey text,
    colocationid integer DEFAULT 0 NOT NULL,
    repmodel "char" DEFAULT 'c' NOT NULL,
    autoconverted boolean DEFAULT false
);

-- the stand-in's partkey is the column name itself
CREATE FUNCTION pg_catalog.column_to_column_name(table_name regclass, column_var_text text)
RETURNS text LANGUAGE sql AS 'SELECT column_var_text';

CREATE FUNCTION pg_catalog.create_distributed_table(
    table_name regclass,
    distribution_column text,
    distribution_type citus.distribution_type DEFAULT 'hash',
    colocate_with text DEFAULT 'default',
    shard_count int DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    col int2 := (SELECT attnum FROM pg_attribute
                  WHERE attrelid = table_name AND attname = distribution_column);
    colocation int;
BEGIN
    IF EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = table_name) THEN
        RAISE EXCEPTION 'table "%" is already distributed', table_name;
    END IF;
    IF EXISTS (SELECT FROM pg_index
                WHERE indrelid = table_name AND indisunique AND NOT col = ANY (indkey)) THEN
        RAISE EXCEPTION 'cannot create constraint on "%"', table_name;
    END IF;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = table_name AND NOT tgisinternal)
       AND current_setting('citus.enable_unsafe_triggers', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'cannot distribute relation "%" because it has triggers', table_name;
    END IF;
    IF EXISTS (SELECT FROM pg_constraint c
                WHERE c.conrelid = table_name AND c.contype = 'f'
                  AND NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = c.confrelid)) THEN
        RAISE EXCEPTION 'cannot create foreign key constraint';
    END IF;
    IF colocate_with IN ('default', 'none') THEN
        colocation := (SELECT coalesce(max(colocationid), 0) + 1 FROM pg_dist_partition);
    ELSE
        colocation := (SELECT colocationid FROM pg_dist_partition
                        WHERE logicalrelid = colocate_with::regclass);
        IF colocation IS NULL THEN
            RAISE EXCEPTION 'relation % is not distributed', colocate_with;
        END IF;
    END IF;
    INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
    VALUES (table_name, 'h', distribution_column, colocation, 's');
    INSERT INTO citus_stand_in.calls (call, unsafe_triggers)
    VALUES (format('create_distributed_table(%s, %s, %s, %s)',
                   table_name, distribution_column, distribution_type, colocate_with),
            current_setting('citus.enable_unsafe_triggers', true));
END
$$;

CREATE FUNCTION pg_catalog.truncate_local_data_after_distributing_table(function_name regclass)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO citus_stand_in.calls (call)
    VALUES (format('truncate_local_data_after_distributing_table(%s)', function_name))
$$;

CREATE FUNCTION pg_catalog.citus_drop_all_shards(
    logicalrelid regclass, schema_name text, table_name text,
    drop_shards_metadata_only boolean DEFAULT false)
RETURNS integer LANGUAGE sql AS $$
    INSERT INTO citus_stand_in.calls (call)
    VALUES (format('citus_drop_all_shards(%s, %s, %s)', logicalrelid, schema_name, table_name))
    RETURNING 32
$$;

-- Citus defines the setting, off by default
SELECT set_config('citus.enable_unsafe_triggers', 'off', true);

INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
SELECT (max(oid::text::bigint) + 1)::text::oid, 'citus', 10, 'pg_catalog'::regnamespace, false, '13.2-1'
  FROM pg_extension;

SAVEPOINT citus_installed;

-- Empty tables

SELECT results_eq(
    'SELECT * FROM agent_sessions.distribute()',
    $$VALUES
        ('agent_sessions.sessions_idempotency_key_idx',
         'replaced by the non-unique index sessions_idempotency_key_lookup_idx: Citus cannot enforce uniqueness without the distribution column'),
        ('agent_sessions.sessions', 'distributed by id'),
        ('agent_sessions.session_scopes', 'distributed by id, colocated with sessions'),
        ('agent_sessions.session_events', 'distributed by session_id, colocated with sessions')$$,
    'distribute() replaces the unique index, then distributes sessions, session_scopes and session_events');
SELECT results_eq(
    'SELECT call, unsafe_triggers FROM citus_stand_in.calls ORDER BY n',
    $$VALUES
        ('create_distributed_table(agent_sessions.sessions, id, hash, default)', 'on'),
        ('create_distributed_table(agent_sessions.session_scopes, id, hash, agent_sessions.sessions)', 'on'),
        ('create_distributed_table(agent_sessions.session_events, session_id, hash, agent_sessions.sessions)', 'on')$$,
    'sessions by id, then session_scopes by id and session_events by session_id colocated with it, with unsafe triggers allowed');
SELECT results_eq(
    $$SELECT logicalrelid::text, partmethod::text, partkey
        FROM pg_dist_partition ORDER BY logicalrelid::text$$,
    $$VALUES ('agent_sessions.session_events', 'h', 'session_id'),
             ('agent_sessions.session_scopes', 'h', 'id'),
             ('agent_sessions.sessions', 'h', 'id')$$,
    'the three tables are hash-distributed');
SELECT is(
    (SELECT count(DISTINCT colocationid) FROM pg_dist_partition),
    1::bigint, 'the three tables are in one colocation group');
SELECT is(to_regclass('agent_sessions.sessions_idempotency_key_idx'), NULL,
          'the unique idempotency index is gone');
SELECT is(
    (SELECT pg_get_indexdef(indexrelid) FROM pg_index
      WHERE indexrelid = 'agent_sessions.sessions_idempotency_key_lookup_idx'::regclass
        AND NOT indisunique),
    'CREATE INDEX sessions_idempotency_key_lookup_idx ON agent_sessions.sessions USING btree (organization_id, user_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)',
    'a plain index on the same columns serves the key look-up');
SELECT is(current_setting('citus.enable_unsafe_triggers', true), 'off',
          'citus.enable_unsafe_triggers is on only for the call');
SELECT is(
    (SELECT tgenabled::text FROM pg_trigger
      WHERE tgrelid = 'agent_sessions.sessions'::regclass AND tgname = 'sessions_guard'),
    'O', 'the guard trigger is kept');

SELECT results_eq(
    'SELECT * FROM agent_sessions.distribute()',
    $$VALUES ('agent_sessions.sessions', 'already distributed by id'),
             ('agent_sessions.session_scopes', 'already distributed by id, colocated with sessions'),
             ('agent_sessions.session_events', 'already distributed by session_id, colocated with sessions')$$,
    'a second distribute() reports that there is nothing to do');
SELECT is((SELECT count(*) FROM citus_stand_in.calls), 3::bigint,
          'a second distribute() calls nothing');

SELECT results_eq(
    'SELECT relation::text, shards_dropped FROM agent_sessions.drop_all_shards()',
    $$VALUES ('agent_sessions.session_events', 32), ('agent_sessions.session_scopes', 32),
             ('agent_sessions.sessions', 32)$$,
    'drop_all_shards() reports the shards it dropped, session_events first');
SELECT results_eq(
    'SELECT call FROM citus_stand_in.calls WHERE n > 3 ORDER BY n',
    $$VALUES ('citus_drop_all_shards(agent_sessions.session_events, agent_sessions, session_events)'),
             ('citus_drop_all_shards(agent_sessions.session_scopes, agent_sessions, session_scopes)'),
             ('citus_drop_all_shards(agent_sessions.sessions, agent_sessions, sessions)')$$,
    'drop_all_shards() names each table to citus_drop_all_shards');

ROLLBACK TO SAVEPOINT citus_installed;

-- Tables that already hold rows

SELECT lives_ok(
    $$SELECT agent_sessions.start_session(id)
        FROM agent_sessions.create_session(user_id => 'u1', idempotency_key => 'k1')$$,
    'a session with a history exists before distribution');
SELECT results_eq(
    'SELECT * FROM agent_sessions.distribute() OFFSET 4',
    $$VALUES ('agent_sessions.sessions, agent_sessions.session_scopes, agent_sessions.session_events',
              'existing rows moved to the shards; local copies removed')$$,
    'distribute() reports that the rows moved');
SELECT results_eq(
    'SELECT call FROM citus_stand_in.calls WHERE call LIKE $$truncate%$$ ORDER BY n',
    $$VALUES ('truncate_local_data_after_distributing_table(agent_sessions.session_events)'),
             ('truncate_local_data_after_distributing_table(agent_sessions.session_scopes)'),
             ('truncate_local_data_after_distributing_table(agent_sessions.sessions)')$$,
    'the local copies are removed after the three tables are distributed');

ROLLBACK TO SAVEPOINT citus_installed;

-- sessions distributed by hand, session_scopes and session_events not yet

DROP INDEX agent_sessions.sessions_idempotency_key_idx;
INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
VALUES ('agent_sessions.sessions', 'h', 'id', 7, 's');
SELECT results_eq(
    'SELECT * FROM agent_sessions.distribute()',
    $$VALUES ('agent_sessions.sessions', 'already distributed by id'),
             ('agent_sessions.session_scopes', 'distributed by id, colocated with sessions'),
             ('agent_sessions.session_events', 'distributed by session_id, colocated with sessions')$$,
    'distribute() completes a half-done distribution');
SELECT results_eq(
    'SELECT call FROM citus_stand_in.calls ORDER BY n',
    $$VALUES ('create_distributed_table(agent_sessions.session_scopes, id, hash, agent_sessions.sessions)'),
             ('create_distributed_table(agent_sessions.session_events, session_id, hash, agent_sessions.sessions)')$$,
    'only session_scopes and session_events are distributed');
SELECT is(to_regclass('agent_sessions.sessions_idempotency_key_lookup_idx'), NULL,
          'an index left as it was by hand is not touched');

ROLLBACK TO SAVEPOINT citus_installed;

-- Distributed some other way

INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
VALUES ('agent_sessions.sessions', 'h', 'user_id', 7, 's');
SELECT throws_ok(
    'SELECT * FROM agent_sessions.distribute()',
    '55000', 'table agent_sessions.sessions is already a Citus table that is not hash-distributed by id',
    'sessions distributed by another column is refused');
SELECT is(
    (SELECT indisunique FROM pg_index
      WHERE indexrelid = 'agent_sessions.sessions_idempotency_key_idx'::regclass),
    true, 'a refused distribute() leaves the unique index alone');

ROLLBACK TO SAVEPOINT citus_installed;

INSERT INTO pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
VALUES ('agent_sessions.sessions', 'h', 'id', 7, 's'),
       ('agent_sessions.session_events', 'h', 'session_id', 8, 's');
SELECT throws_ok(
    'SELECT * FROM agent_sessions.distribute()',
    '55000', 'table agent_sessions.session_events is already a Citus table that is not colocated with sessions by session_id',
    'session_events outside the colocation group of sessions is refused');

SELECT * FROM finish();
ROLLBACK;
