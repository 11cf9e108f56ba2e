-- Set-up shared by the benchmark cases (bench/lib.sh runs it once per case
-- database, after CREATE EXTENSION agent_sessions).
--
--   plain.sessions, plain.session_scopes, plain.session_events: the
--     plain-SQL twin.  Same columns, types, defaults, CHECK constraints,
--     indexes, storage parameters and foreign key as the extension's tables,
--     and nothing else: no trigger, no row-level security, no functions.
--     Its writes keep plain.session_scopes as the extension keeps its own
--     (a create inserts both rows in one statement).
--   bench.fill(table, first, last, kind, now0): deterministic rows, so both
--     tables can be given exactly the same data.
--   bench.pool_id(n): the id of pool session n (heartbeat and lifecycle pools);
--     the pgbench scripts spell the same expression inline.

SET client_min_messages = warning;

CREATE SCHEMA plain;
CREATE TABLE plain.sessions (LIKE agent_sessions.sessions INCLUDING ALL);
CREATE TABLE plain.session_scopes (LIKE agent_sessions.session_scopes INCLUDING ALL);
CREATE SEQUENCE plain.session_events_event_id_seq AS bigint;
CREATE TABLE plain.session_events (LIKE agent_sessions.session_events INCLUDING ALL);
ALTER TABLE plain.session_events
    ALTER COLUMN event_id SET DEFAULT nextval('plain.session_events_event_id_seq');

DO $$
DECLARE
    opts text[];
    fk record;
BEGIN
    -- LIKE copies neither storage parameters (fillfactor) nor foreign keys.
    SELECT reloptions INTO opts FROM pg_class WHERE oid = 'agent_sessions.sessions'::regclass;
    IF opts IS NOT NULL THEN
        EXECUTE format('ALTER TABLE plain.sessions SET (%s)', array_to_string(opts, ', '));
    END IF;
    SELECT reloptions INTO opts FROM pg_class WHERE oid = 'agent_sessions.session_events'::regclass;
    IF opts IS NOT NULL THEN
        EXECUTE format('ALTER TABLE plain.session_events SET (%s)', array_to_string(opts, ', '));
    END IF;
    PERFORM set_config('search_path', 'pg_catalog', true);
    FOR fk IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
               WHERE conrelid = 'agent_sessions.session_events'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE plain.session_events ADD CONSTRAINT %I %s', fk.conname,
                       replace(fk.def, 'agent_sessions.sessions(', 'plain.sessions('));
    END LOOP;
END
$$;

CREATE SCHEMA bench;

CREATE FUNCTION bench.pool_id(n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE
RETURN ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid;

CREATE FUNCTION bench.project_id(p integer) RETURNS uuid
LANGUAGE sql IMMUTABLE
RETURN ('00000000-0000-4000-8000-' || lpad(to_hex(p), 12, '0'))::uuid;

-- A non-negative pseudo-random bigint for row i and salt s.
CREATE FUNCTION bench.h(i bigint, s integer) RETURNS bigint
LANGUAGE sql IMMUTABLE
RETURN hashint8extended(i, s) & 9223372036854775807;

-- Rows first..last of one kind into tbl, timed relative to now0:
--   mixed   row i finished about i * 250 ms before now0 (so 100k rows cover
--           the last 7 hours, 10M rows the last 29 days), 80% completed, 15%
--           failed, 5% cancelled; except every 100th row (1%), which is live:
--           running, last activity within the past 10 minutes
--   stale   running, last activity 1 to 2 hours ago (past every timeout)
--   live    running, last activity within the past 10 seconds; pool ids
--   queued  queued, created at now0; pool ids
-- Ids are UUIDv7-shaped from created_at (pool ids for live and queued rows);
-- the source column holds the kind.  The rows' scopes go into the
-- session_scopes table of tbl's schema, where there is one (agent_sessions,
-- plain), with the extension's triggers off for the statement.
-- 1,000 projects (bench.project_id(1..1000)), 100 organizations, 20,000
-- users, 5,000 agents.  Every row satisfies the table's CHECK constraints.
CREATE FUNCTION bench.fill(tbl regclass, first bigint, last bigint, kind text,
                           now0 timestamptz)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    n bigint;
    role text;
    scopes regclass := to_regclass(format('%I.session_scopes',
                                          (SELECT relnamespace::regnamespace::text
                                             FROM pg_class WHERE oid = tbl)));
    status_sql text := CASE kind
        WHEN 'queued' THEN $s$'queued'::agent_sessions.session_status$s$
        WHEN 'mixed' THEN $s$CASE WHEN i % 100 = 0 THEN 'running'::agent_sessions.session_status
                                 WHEN (h >> 10) % 100 < 80 THEN 'completed'::agent_sessions.session_status
                                 WHEN (h >> 10) % 100 < 95 THEN 'failed'::agent_sessions.session_status
                                 ELSE 'cancelled'::agent_sessions.session_status END$s$
        ELSE $s$'running'::agent_sessions.session_status$s$ END;
    -- milliseconds between the last activity and now0
    last_sql text := CASE kind
        WHEN 'queued' THEN '0'
        WHEN 'live' THEN '(h >> 20) % 10000'
        WHEN 'stale' THEN '3600000 + (h >> 20) % 3600000'
        ELSE 'CASE WHEN i % 100 = 0 THEN (h >> 20) % 600000 ELSE i * 250 + (h >> 20) % 250 END' END;
    -- milliseconds between creation and the last activity
    age_sql text := CASE kind WHEN 'queued' THEN '0' ELSE '2000 + (h >> 30) % 3600000' END;
    id_sql text := CASE WHEN kind IN ('live', 'queued') THEN 'bench.pool_id(i)'
        ELSE $s$(lpad(to_hex(now_ms - last_ms - age_ms), 12, '0') || '7000-8'
                 || lpad(to_hex(i), 15, '0'))::uuid$s$ END;
BEGIN
    IF scopes IS NOT NULL THEN
        role := current_setting('session_replication_role');
        PERFORM set_config('session_replication_role', 'replica', true);
    END IF;
    EXECUTE format($q$
    WITH ins AS (
    INSERT INTO %s (id, organization_id, project_id, user_id, agent_id, agent_name,
                    type, model, title, prompt, source, status, activity, version, end_reason,
                    created_at, updated_at, started_at, finished_at, last_activity_at)
    SELECT %s,
           'org_' || (p %% 100), projects[p], 'user_' || (i %% 20000),
           'agent_' || (i %% 5000), 'Agent ' || (i %% 5000),
           'agent', 'model-' || (i %% 3), 'Session ' || i,
           'Summarise the open issues of project ' || p || ' and propose fixes',
           %L, status,
           CASE WHEN status IN ('queued', 'starting', 'running') AND i %% 2 = 0
                THEN 'busy'::agent_sessions.session_activity
                ELSE 'idle'::agent_sessions.session_activity END,
           CASE status WHEN 'queued' THEN 1 WHEN 'running' THEN 3 ELSE 5 END,
           CASE status WHEN 'completed' THEN 'completed' WHEN 'failed' THEN 'error'
                       WHEN 'cancelled' THEN 'cancelled' END,
           $3 - (last_ms + age_ms) * interval '1 millisecond',
           $3 - last_ms * interval '1 millisecond',
           CASE WHEN status <> 'queued' THEN $3 - (last_ms + age_ms - 2000) * interval '1 millisecond' END,
           CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN $3 - last_ms * interval '1 millisecond' END,
           $3 - last_ms * interval '1 millisecond'
      FROM (SELECT i, h, 1 + (h %% 1000)::int AS p, %s AS status, %s AS last_ms, %s AS age_ms,
                   (extract(epoch FROM $3) * 1000)::bigint AS now_ms,
                   (SELECT array_agg(bench.project_id(n) ORDER BY n)
                      FROM generate_series(1, 1000) AS n) AS projects
              FROM (SELECT i, bench.h(i, 0) AS h FROM generate_series($1, $2) AS i) g) r
    RETURNING id, organization_id, project_id, user_id, agent_id)%s
    SELECT count(*) FROM ins
    $q$, tbl, id_sql, kind, status_sql, last_sql, age_sql,
         CASE WHEN scopes IS NOT NULL
              THEN format(', sc AS (INSERT INTO %s SELECT * FROM ins)', scopes) ELSE '' END)
    INTO n USING first, last, now0;
    IF scopes IS NOT NULL THEN
        PERFORM set_config('session_replication_role', role, true);
    END IF;
    RETURN n;
END
$$;
