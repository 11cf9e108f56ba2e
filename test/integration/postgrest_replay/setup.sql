-- Run as the superuser in a fresh database: the extension, the PostgREST
-- roles' grants, the replay helpers and the sessions the suite starts from.

SET client_min_messages = warning;
CREATE EXTENSION agent_sessions;

-- What PostgREST's installer does (README, "PostgREST"): authenticated may
-- call the API; anon gets nothing, so anonymous calls answer 401.
SELECT agent_sessions.grant_api('authenticated') \g /dev/null

CREATE SCHEMA replay;
GRANT USAGE ON SCHEMA replay TO PUBLIC;

-- The statement PostgREST prepares for an RPC call (research/postgrest.md
-- 1.5): GET passes each query parameter as an unknown-typed $n cast to the
-- parameter's type (v13+), POST passes the body as one json $1 unpacked by
-- json_to_record.  keys are the query parameters or body keys, in order.
CREATE FUNCTION replay.prepare_statement(method text, fn text, keys text[])
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    proc pg_proc;
    ret pg_type;
    scalar boolean;
    alias text;
    qfn text := format('%I.%I', 'agent_sessions_api', fn);
    args text[] := '{}';
    cols text[] := '{}';
    coldefs text[] := '{}';
    params text;
    call text;
    source text;
    key text;
    argtype text;
    n integer := 0;
BEGIN
    SELECT p.* INTO STRICT proc
      FROM pg_proc p
     WHERE p.pronamespace = 'agent_sessions_api'::regnamespace AND p.proname = fn;
    SELECT t.* INTO STRICT ret FROM pg_type t WHERE t.oid = proc.prorettype;
    scalar := ret.typtype <> 'c';
    alias := CASE WHEN scalar THEN fn ELSE ret.typname END;

    FOREACH key IN ARRAY keys LOOP
        SELECT format_type(a.type, NULL) INTO argtype
          FROM unnest(proc.proargnames, proc.proargtypes::oid[]) AS a(name, type)
         WHERE a.name = key;
        IF argtype IS NULL THEN
            RAISE EXCEPTION 'replay: % has no parameter %', fn, key;
        END IF;
        n := n + 1;
        IF method = 'GET' THEN
            args := args || format('%I := $%s::%s', key, n, argtype);
        ELSE
            args := args || format('%I := pgrst_body.%I', key, key);
            cols := cols || format('%I', key);
            coldefs := coldefs || format('%I %s', key, argtype);
        END IF;
    END LOOP;

    call := format('%s(%s)', qfn, array_to_string(args, ', '));
    call := CASE WHEN scalar THEN format('(SELECT %s pgrst_scalar) pgrst_call', call)
                 ELSE call || ' pgrst_call' END;
    source := 'SELECT ' || CASE WHEN scalar THEN 'pgrst_call.pgrst_scalar' ELSE '"pgrst_call".*' END || ' FROM ';
    IF method = 'GET' THEN
        source := source || call;
        params := array_to_string(array_fill('unknown'::text, ARRAY[n]), ', ');
    ELSIF n = 0 THEN
        source := source || call;
        params := 'json';
    ELSE
        source := source || format(
            '(SELECT $1 AS json_data) pgrst_payload, LATERAL (SELECT %s FROM json_to_record(pgrst_payload.json_data) AS _(%s) LIMIT 1) pgrst_body , LATERAL %s',
            array_to_string(cols, ', '), array_to_string(coldefs, ', '), call);
        params := 'json';
    END IF;

    RETURN 'PREPARE pgrst_stmt' || CASE WHEN params = '' THEN '' ELSE format('(%s)', params) END || ' AS '
        || format('WITH pgrst_source AS (%s) SELECT null::bigint AS total_result_set, %s AS page_total, %s AS body, nullif(current_setting(''response.headers'', true), '''') AS response_headers, nullif(current_setting(''response.status'', true), '''') AS response_status, '''' AS response_inserted FROM (SELECT %I.* FROM "pgrst_source" AS %I   ) _postgrest_t',
                  source,
                  CASE WHEN proc.proretset THEN 'pg_catalog.count(_postgrest_t)' ELSE '1' END,
                  CASE WHEN scalar AND proc.proretset THEN 'coalesce(json_agg(_postgrest_t.pgrst_scalar), ''[]'')'
                       WHEN scalar THEN 'coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, ''null'')'
                       WHEN proc.proretset THEN 'coalesce(json_agg(_postgrest_t), ''[]'')'
                       ELSE 'coalesce(json_agg(_postgrest_t)->0, ''null'')' END,
                  alias, alias);
END
$$;

-- PostgREST's error body for a failed statement: {code, message, details, hint}.
CREATE FUNCTION replay.error_body(prepare text, execute text)
RETURNS json
LANGUAGE plpgsql
AS $$
DECLARE
    code text;
    message text;
    detail text;
    hint text;
BEGIN
    EXECUTE prepare;
    EXECUTE execute;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN json_build_object('code', code, 'message', message,
                             'details', nullif(detail, ''), 'hint', nullif(hint, ''));
END
$$;

-- The HTTP status PostgREST answers for a SQLSTATE (research/postgrest.md
-- 2.1, v13+).  '00000' is a successful call with a body: 200.
CREATE FUNCTION replay.http_status(sqlstate text, message text, role text)
RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$
SELECT CASE
    WHEN sqlstate = '00000' THEN 200
    WHEN sqlstate ~ '^PT[0-9]{3}$' THEN substr(sqlstate, 3)::integer
    WHEN sqlstate LIKE '08%' THEN 503
    WHEN sqlstate LIKE '09%' THEN 500
    WHEN sqlstate LIKE '0L%' OR sqlstate LIKE '0P%' THEN 403
    WHEN sqlstate IN ('23503', '23505') THEN 409
    WHEN sqlstate = '25006' THEN 405
    WHEN sqlstate = '21000' THEN CASE WHEN message LIKE '%requires a WHERE clause' THEN 400 ELSE 500 END
    WHEN sqlstate = '22023' THEN CASE WHEN message ~ '^role ".*" does not exist$' THEN 401 ELSE 400 END
    WHEN sqlstate LIKE '25%' THEN 500
    WHEN sqlstate LIKE '28%' THEN 403
    WHEN sqlstate LIKE '2D%' OR sqlstate LIKE '38%' OR sqlstate LIKE '39%' OR sqlstate LIKE '3B%' THEN 500
    WHEN sqlstate LIKE '40%' THEN 500
    WHEN sqlstate = '42883' THEN CASE WHEN message LIKE 'function xmlagg(%' THEN 406 ELSE 404 END
    WHEN sqlstate = '42P01' THEN 404
    WHEN sqlstate = '42P17' THEN 500
    WHEN sqlstate = '42501' THEN CASE WHEN role = 'anon' THEN 401 ELSE 403 END
    WHEN sqlstate = '53400' THEN 500
    WHEN sqlstate LIKE '53%' THEN 503
    WHEN sqlstate LIKE '54%' OR sqlstate LIKE '55%' THEN 500
    WHEN sqlstate = '57P01' THEN 503
    WHEN sqlstate LIKE '57%' OR sqlstate LIKE '58%' OR sqlstate LIKE 'F0%'
      OR sqlstate LIKE 'HV%' OR sqlstate LIKE 'XX%' THEN 500
    WHEN sqlstate = 'P0001' THEN 400
    WHEN sqlstate LIKE 'P0%' THEN 500
    ELSE 400
END
$$;

-- Test output: one line per check, "ok - ..." or "not ok - ...".
CREATE FUNCTION replay.ok(pass boolean, description text, problem text DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT CASE WHEN pass THEN 'ok - ' || description
            ELSE 'not ok - ' || description || coalesce(': ' || problem, '') END
$$;

CREATE FUNCTION replay.is(got text, want text, description text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT replay.ok(got IS NOT DISTINCT FROM want, description,
                 format('got %s, want %s', coalesce(got, 'NULL'), coalesce(want, 'NULL')))
$$;

-- A request's outcome: HTTP status and SQLSTATE.
CREATE FUNCTION replay.answered(description text, http text, sqlstate text,
                                want_http integer, want_sqlstate text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT replay.ok(http::integer = want_http AND sqlstate = want_sqlstate, description,
                 format('HTTP %s (SQLSTATE %s), want HTTP %s (SQLSTATE %s)',
                        http, sqlstate, want_http, want_sqlstate))
$$;

-- The date-time pattern of the Membrane seed (000, 003), verbatim.
CREATE FUNCTION replay.seed_datetime_pattern()
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT '^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z))$'
$$;

-- Check a JSON object field by field against a spec taken from a seed page:
--   {"field": {"t": JSON type or "integer", "req": required, "null": nullable,
--              "enum": [...], "fmt": "date-time" | "uuid" | "session_id"}}
-- and, when closed, that it has no field the spec does not list.
CREATE FUNCTION replay.check_fields(label text, body json, spec jsonb, closed boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    field text;
    rule jsonb;
    value json;
    kind text;
    problems text[];
    pattern text;
    extra text;
BEGIN
    IF json_typeof(body) IS DISTINCT FROM 'object' THEN
        RETURN NEXT replay.ok(false, label || ' is an object', coalesce(body::text, 'NULL'));
        RETURN;
    END IF;
    FOR field, rule IN SELECT e.key, e.value FROM jsonb_each(spec) e ORDER BY e.key LOOP
        value := body -> field;
        problems := '{}';
        IF value IS NULL THEN
            IF coalesce((rule ->> 'req')::boolean, false) THEN
                problems := problems || 'required but absent'::text;
            END IF;
        ELSE
            kind := json_typeof(value);
            IF kind = 'null' THEN
                IF NOT coalesce((rule ->> 'null')::boolean, false) THEN
                    problems := problems || 'null, but not nullable'::text;
                END IF;
            ELSIF rule ->> 't' = 'integer' THEN
                IF kind <> 'number' OR value::text !~ '^-?[0-9]+$' THEN
                    problems := problems || format('%s is not an integer', value);
                END IF;
            ELSIF rule ? 't' AND kind <> rule ->> 't' THEN
                problems := problems || format('a %s (%s), not a %s', kind, value, rule ->> 't');
            END IF;
            IF kind <> 'null' AND rule ? 'enum' AND NOT (rule -> 'enum') ? (value #>> '{}') THEN
                problems := problems || format('%s is not one of %s', value, rule -> 'enum');
            END IF;
            pattern := CASE rule ->> 'fmt'
                           WHEN 'date-time' THEN replay.seed_datetime_pattern()
                           WHEN 'uuid' THEN '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
                           WHEN 'session_id' THEN '^session_[0-9a-f]{32}$' END;
            IF kind = 'string' AND (value #>> '{}') !~ pattern THEN
                problems := problems || format('%s is not a %s', value, rule ->> 'fmt');
            END IF;
        END IF;
        RETURN NEXT replay.ok(cardinality(problems) = 0, format('%s.%s', label, field),
                              array_to_string(problems, '; '));
    END LOOP;
    IF closed THEN
        SELECT string_agg(k, ', ') INTO extra
          FROM json_object_keys(body) AS k WHERE NOT spec ? k;
        RETURN NEXT replay.ok(extra IS NULL, label || ' has no field beyond the spec', extra);
    END IF;
END
$$;

-- Field specs, from the seed pages in shared/seeds/.
CREATE TABLE replay.specs (name text PRIMARY KEY, spec jsonb NOT NULL);
INSERT INTO replay.specs VALUES
-- 000 GET /agent/sessions/{id} and 003's response: required fields are
-- marked so; the others are optional strings, never null.  The last five
-- are this API's additions.
('membrane_session', '{
  "id": {"t": "string", "req": true, "fmt": "uuid"},
  "workspaceId": {"t": "string", "req": true},
  "workspaceElementType": {"t": "string", "req": true, "enum": ["customer", "app", "connector", "integration", "flow", "flow-instance", "flow-run", "action", "package", "action-instance", "connection", "field-mapping", "field-mapping-instance", "data-source", "data-source-instance", "data-link-table", "data-link-table-instance", "app-event-type", "app-event-subscription", "app-event-log-record", "app-data-schema", "app-data-schema-instance", "external-event-subscription", "external-event-log-record", "external-event-pull", "screen", "action-run-log-record", "external-api-log-record", "incoming-webhook-log-record", "connected-product"]},
  "workspaceElementId": {"t": "string", "req": true},
  "type": {"t": "string", "req": true},
  "status": {"t": "string", "req": true, "enum": ["queued", "starting", "running", "completed", "failed", "cancelled"]},
  "prompt": {"t": "string", "req": true},
  "lastActivityAt": {"t": "string", "req": true, "fmt": "date-time"},
  "hasWorker": {"t": "boolean", "req": true},
  "createdAt": {"t": "string", "req": true, "fmt": "date-time"},
  "updatedAt": {"t": "string", "req": true, "fmt": "date-time"},
  "userId": {"t": "string"},
  "tenantId": {"t": "string"},
  "orgWorkspaceId": {"t": "string"},
  "error": {"t": "object"},
  "title": {"t": "string"},
  "summary": {"t": "string"},
  "cost": {"t": "number"},
  "state": {"t": "string", "enum": ["busy", "idle"]},
  "isExternal": {"t": "boolean"},
  "agentName": {"t": "string", "enum": ["membrane", "membrane-core", "self-integrating", "connection-building", "action-building", "universe"]},
  "output": {"t": "object"},
  "model": {"t": "string"},
  "version": {"t": "integer", "req": true},
  "startedAt": {"t": "string", "fmt": "date-time"},
  "finishedAt": {"t": "string", "fmt": "date-time"},
  "endReason": {"t": "string"}
}'),
-- 000's error object
('membrane_error', '{
  "message": {"t": "string"},
  "type": {"t": "string"},
  "key": {"t": "string"},
  "data": {"t": "object"},
  "stack": {"t": "object"},
  "causedByError": {},
  "logs": {"t": "array"}
}'),
-- 001 GET /v1/sessions/{session_id}
('v1_session', '{
  "agent_id": {"t": "string", "req": true},
  "capabilities": {"t": "array"},
  "created_at": {"t": "string", "req": true, "fmt": "date-time"},
  "finished_at": {"t": "string", "null": true, "fmt": "date-time"},
  "id": {"t": "string", "req": true, "fmt": "session_id"},
  "model_id": {"t": "string", "null": true},
  "organization_id": {"t": "string", "req": true},
  "output_preview": {"t": "string", "null": true},
  "preview": {"t": "string", "null": true},
  "started_at": {"t": "string", "null": true, "fmt": "date-time"},
  "status": {"t": "string", "req": true, "enum": ["started", "active", "idle"]},
  "tags": {"t": "array"},
  "title": {"t": "string", "null": true},
  "updated_at": {"t": "string", "req": true, "fmt": "date-time"},
  "usage": {"t": "object", "null": true}
}'),
-- 002 GET /sessions?agent_id=
('agent_session_list', '{
  "sessions": {"t": "array", "req": true},
  "total": {"t": "integer", "req": true}
}'),
('session_view', '{
  "session": {"t": "object", "req": true},
  "is_running": {"t": "boolean", "req": true},
  "team": {"t": "object", "null": true}
}'),
('session_record', '{
  "user_id": {"t": "string", "req": true},
  "agent_id": {"t": "string", "req": true},
  "config": {"t": "object", "null": true},
  "id": {"t": "string", "req": true, "fmt": "uuid"},
  "updated_at": {"t": "string", "req": true, "fmt": "date-time"},
  "created_at": {"t": "string", "req": true, "fmt": "date-time"},
  "source": {"t": "string", "null": true},
  "source_schedule_id": {"t": "string", "null": true},
  "team_id": {"t": "string", "null": true},
  "state": {"t": "object", "null": true}
}'),
-- 004 GET /projects/{id}/agent-sessions
('project_sessions', '{
  "sessions": {"t": "array", "req": true}
}'),
('project_session', '{
  "session_id": {"t": "string", "req": true, "fmt": "uuid"},
  "machine_id": {"t": "string", "req": true},
  "user_id": {"t": "string", "req": true},
  "project_id": {"t": "string", "null": true},
  "caller_role": {"t": "string", "null": true},
  "caller_origin": {"t": "string", "null": true},
  "connected_at": {"t": "string", "null": true, "fmt": "date-time"},
  "last_activity_at": {"t": "string", "req": true, "fmt": "date-time"}
}'),
-- the worker calls
('heartbeat', '{
  "id": {"t": "string", "req": true, "fmt": "uuid"},
  "status": {"t": "string", "req": true, "enum": ["queued", "starting", "running", "completed", "failed", "cancelled"]},
  "activity": {"t": "string", "req": true, "enum": ["busy", "idle"]},
  "version": {"t": "integer", "req": true},
  "last_activity_at": {"t": "string", "req": true, "fmt": "date-time"},
  "accepted": {"t": "boolean", "req": true},
  "terminal": {"t": "boolean", "req": true},
  "cancel_requested": {"t": "boolean", "req": true}
}'),
('session_row', '{
  "id": {"t": "string", "req": true, "fmt": "uuid"},
  "status": {"t": "string", "req": true, "enum": ["queued", "starting", "running", "completed", "failed", "cancelled"]},
  "activity": {"t": "string", "req": true, "enum": ["busy", "idle"]},
  "is_running": {"t": "boolean", "req": true},
  "version": {"t": "integer", "req": true},
  "created_at": {"t": "string", "req": true, "fmt": "date-time"},
  "updated_at": {"t": "string", "req": true, "fmt": "date-time"},
  "last_activity_at": {"t": "string", "req": true, "fmt": "date-time"},
  "started_at": {"t": "string", "null": true, "fmt": "date-time"},
  "finished_at": {"t": "string", "null": true, "fmt": "date-time"},
  "connected_at": {"t": "string", "null": true, "fmt": "date-time"}
}');

CREATE FUNCTION replay.spec(name text)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT s.spec FROM replay.specs s WHERE s.name = spec.name $$;

-- The sessions the suite starts from, created as the superuser.
-- Tenant A is organization org_a (user user_a1), tenant B org_b (user_b1).
CREATE TABLE replay.fixtures (name text PRIMARY KEY, id uuid NOT NULL);

-- Created oldest first: list_sessions shows the newest first.
INSERT INTO replay.fixtures
SELECT 'a_ended_long_ago', (agent_sessions.create_session(
           user_id => 'user_a1', organization_id => 'org_a', prompt => 'Finished ten minutes ago',
           project_id => '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', agent_id => 'agent_a',
           machine_id => 'machine-a5')).id
UNION ALL
SELECT 'a_ended_recently', (agent_sessions.create_session(
           user_id => 'user_a1', organization_id => 'org_a', prompt => 'Finished two minutes ago',
           project_id => '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', agent_id => 'agent_a',
           machine_id => 'machine-a4')).id
UNION ALL
SELECT 'a_stale', (agent_sessions.create_session(
           user_id => 'user_a1', organization_id => 'org_a', prompt => 'Gone quiet',
           project_id => '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', agent_id => 'agent_a',
           machine_id => 'machine-a3')).id
UNION ALL
SELECT 'a_queued', (agent_sessions.create_session(
           user_id => 'user_a2', organization_id => 'org_a', prompt => 'Triage the inbox',
           project_id => '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', agent_id => 'agent_a',
           machine_id => 'machine-a2', caller_role => 'member', caller_origin => 'web')).id
UNION ALL
SELECT 'a_live', (agent_sessions.create_session(
           user_id => 'user_a1', organization_id => 'org_a', prompt => 'Watch the build',
           project_id => '2489e9ad-2ee2-8e00-8ec9-32d5f69181c0', agent_id => 'agent_a',
           machine_id => 'machine-a1', caller_role => 'owner', caller_origin => 'cli',
           source => 'user', tags => '{ci}',
           config => '{"name": "build-watcher", "chat_model_config": {"type": "anthropic", "model": "claude-sonnet-4.6"}}',
           agent_state => '{"summary": "", "cur_iter": 3}')).id
UNION ALL
SELECT 'b_live', (agent_sessions.create_session(
           user_id => 'user_b1', organization_id => 'org_b', prompt => 'Tenant B at work',
           project_id => '7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f', agent_id => 'agent_b',
           machine_id => 'machine-b1')).id;

SELECT count(agent_sessions.start_session(id)) AS started
  FROM replay.fixtures WHERE name IN ('a_live', 'a_stale', 'b_live', 'a_ended_recently', 'a_ended_long_ago') \gset
SELECT count(agent_sessions.complete_session(id, output => '{"ok": true}')) AS completed
  FROM replay.fixtures WHERE name LIKE 'a_ended%' \gset

-- Move activity into the past.  Timestamps are the extension's to set, so
-- the guard trigger is bypassed for these fixtures only.
SET session_replication_role = replica;
UPDATE agent_sessions.sessions s
   SET last_activity_at = now() - interval '10 minutes'
  FROM replay.fixtures f WHERE f.id = s.id AND f.name = 'a_stale';
UPDATE agent_sessions.sessions s
   SET last_activity_at = now() - interval '2 minutes',
       finished_at = now() - interval '2 minutes',
       updated_at = now() - interval '2 minutes'
  FROM replay.fixtures f WHERE f.id = s.id AND f.name = 'a_ended_recently';
UPDATE agent_sessions.sessions s
   SET last_activity_at = now() - interval '10 minutes',
       finished_at = now() - interval '10 minutes',
       updated_at = now() - interval '10 minutes'
  FROM replay.fixtures f WHERE f.id = s.id AND f.name = 'a_ended_long_ago';
RESET session_replication_role;

GRANT SELECT ON ALL TABLES IN SCHEMA replay TO PUBLIC;

-- What the cross-tenant suite compares against: every session and event
-- as it is before tenant B's requests.
CREATE TABLE replay.before_isolation (LIKE agent_sessions.sessions);
CREATE TABLE replay.events_before_isolation (n bigint);
