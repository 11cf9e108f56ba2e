-- Bad input for every SQL-callable function of the extension.
--
-- Loaded into a throwaway database by test/integration/bad_input.sh, with
-- psql variables :huge (on: add 100 MB strings) set.  The functions are
-- read from pg_proc (schemas agent_sessions and agent_sessions_api), so a
-- function added later is covered without touching this file.
--
-- fuzz.plan holds one row per call: the SQL text, and the role, claims and
-- transaction mode it runs under.  CALL fuzz.run() executes the calls in
-- order, each in its own subtransaction that is rolled back even when the
-- call succeeds (so every call sees the same three sessions), and commits
-- the SQLSTATE of each call to fuzz.result as it goes: after a backend
-- crash the first planned call without a result is the one that crashed.

SET client_min_messages = warning;
CREATE EXTENSION agent_sessions;
CREATE SCHEMA fuzz;

-- Roles: a tenant with every privilege the API could grant it, and a role
-- with none (cluster-wide, so dropped by the script at the end).
CREATE ROLE fuzz_tenant NOLOGIN;
CREATE ROLE fuzz_nobody NOLOGIN;
GRANT USAGE ON SCHEMA fuzz TO fuzz_tenant, fuzz_nobody;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions TO fuzz_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agent_sessions TO fuzz_tenant;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agent_sessions TO fuzz_tenant;
DO $$
BEGIN
    IF to_regnamespace('agent_sessions_api') IS NOT NULL THEN
        GRANT USAGE ON SCHEMA agent_sessions_api TO fuzz_tenant;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions_api TO fuzz_tenant;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agent_sessions_api TO fuzz_tenant;
    END IF;
END
$$;

-- Three sessions the calls aim at: queued, running and completed, all idle
-- so that a wait on them returns at once.  They belong to the tenant's
-- claims below.
CREATE TABLE fuzz.target (label text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO fuzz.target
SELECT label, (agent_sessions.create_session(user_id => 'user_fuzz', organization_id => 'org_fuzz',
                                             prompt => 'fuzz ' || label)).id
  FROM (VALUES ('queued'), ('running'), ('completed')) AS t(label);
SELECT agent_sessions.heartbeat(id, 'idle') FROM fuzz.target WHERE label = 'queued';
SELECT agent_sessions.start_session(id) FROM fuzz.target WHERE label IN ('running', 'completed');
SELECT agent_sessions.heartbeat(id, 'idle') FROM fuzz.target WHERE label = 'running';
SELECT agent_sessions.complete_session(id) FROM fuzz.target WHERE label = 'completed';

CREATE FUNCTION fuzz.target(label text) RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT id FROM fuzz.target WHERE target.label = $1 $$;

-- A value that passes the argument's own checks, by type and name.
CREATE FUNCTION fuzz.sane(typ regtype, argname text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN typ = 'uuid'::regtype THEN format('%L::uuid', fuzz.target('running'))
        WHEN typ IN ('text'::regtype, 'character varying'::regtype) AND argname ~ '(^|_)id$'
            THEN format('%L', agent_sessions.format_session_id(fuzz.target('running')))
        WHEN typ IN ('text'::regtype, 'character varying'::regtype) THEN '''fuzz'''
        WHEN typ IN ('jsonb'::regtype, 'json'::regtype) THEN format('''{}''::%s', typ)
        WHEN typ IN ('integer'::regtype, 'bigint'::regtype, 'smallint'::regtype, 'numeric'::regtype)
            THEN format('1::%s', typ)
        WHEN typ = 'interval'::regtype THEN '''1 minute''::interval'
        WHEN typ = 'boolean'::regtype THEN 'false'
        WHEN typ = 'timestamp with time zone'::regtype THEN 'now()'
        WHEN typ = 'text[]'::regtype THEN '''{fuzz}''::text[]'
        WHEN (SELECT typtype FROM pg_type WHERE oid = typ) = 'e'
            THEN format('%L::%s', (SELECT enumlabel FROM pg_enum WHERE enumtypid = typ ORDER BY enumsortorder LIMIT 1), typ)
        ELSE format('NULL::%s', typ)
    END
$$;

-- The hostile values for one argument: (label, SQL expression).
CREATE FUNCTION fuzz.candidates(typ regtype, argname text, huge boolean)
RETURNS TABLE (label text, expr text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t text := typ::text;
    elem regtype;
    kind "char";
    lab text;
BEGIN
    SELECT typtype, NULLIF(typelem, 0)::regtype INTO kind, elem
      FROM pg_type WHERE oid = typ AND typcategory = 'A';
    RETURN QUERY SELECT 'NULL', format('NULL::%s', t);

    IF typ IN ('text'::regtype, 'character varying'::regtype, 'name'::regtype) THEN
        RETURN QUERY VALUES
            ('empty', format('''''::%s', t)),
            ('blank', format(''' ''::%s', t)),
            ('quotes', format('%L::%s', E'\'";\\ --', t)),
            ('1 MB', format('repeat(''x'', 1048576)::%s', t)),
            ('1 MB multibyte', format('repeat(''é日'', 209716)::%s', t)),
            ('cut multibyte', format('(''x'' || repeat(''é'', 100))::%s', t)),
            ('malformed JSON', format('''{"a":''::%s', t)),
            ('JSON null', format('''null''::%s', t)),
            ('bare prefix', format('''session_''::%s', t)),
            ('short id', format('''session_%s''::%s', repeat('0', 31), t)),
            ('non-hex id', format('''session_%s''::%s', repeat('g', 32), t)),
            ('prefixed UUID', format('''session_%s''::%s', fuzz.target('running'), t)),
            ('padded id', format(''' %s''::%s', agent_sessions.format_session_id(fuzz.target('running')), t)),
            ('upper id', format('%L::%s', upper(agent_sessions.format_session_id(fuzz.target('running'))), t)),
            ('UUID text', format('%L::%s', fuzz.target('running'), t)),
            ('unknown id', format('agent_sessions.format_session_id(agent_sessions.uuid_v7())::%s', t));
        FOR lab IN SELECT target.label FROM fuzz.target LOOP
            RETURN QUERY SELECT lab || ' id',
                format('%L::%s', agent_sessions.format_session_id(fuzz.target(lab)), t);
        END LOOP;
        IF huge THEN
            RETURN QUERY SELECT '100 MB', format('repeat(''x'', 104857600)::%s', t);
        END IF;
    ELSIF typ = 'uuid'::regtype THEN
        FOR lab IN SELECT target.label FROM fuzz.target LOOP
            RETURN QUERY SELECT lab || ' id', format('%L::uuid', fuzz.target(lab));
        END LOOP;
        RETURN QUERY VALUES
            ('unknown id', 'agent_sessions.uuid_v7()'),
            ('nil', '''00000000-0000-0000-0000-000000000000''::uuid'),
            ('max', '''ffffffff-ffff-ffff-ffff-ffffffffffff''::uuid'),
            ('malformed id', '''not-a-uuid''::uuid'),
            ('prefixed id as uuid', format('%L::uuid', agent_sessions.format_session_id(fuzz.target('running')))),
            ('wrong-typed id', '42::text::uuid');
    ELSIF typ IN ('jsonb'::regtype, 'json'::regtype) THEN
        RETURN QUERY SELECT v.label, format('(%s)::%s', v.expr, t) FROM (VALUES
            ('empty object', '''{}'''),
            ('array', '''[1, 2]'''),
            ('JSON null', '''null'''),
            ('number', '''1'''),
            ('string', '''"s"'''),
            ('boolean', '''true'''),
            ('wrong-typed fields', '''{"message": 1, "type": [], "input_tokens": "many", "output_tokens": null}'''),
            ('huge numbers', '''{"input_tokens": 1e300, "output_tokens": -1e300, "cost": 1e-300}'''),
            ('negative counts', '''{"input_tokens": -5}'''),
            ('deep nesting', 'repeat(''['', 5000) || repeat('']'', 5000)'),
            ('deep object', 'repeat(''{"a":'', 5000) || ''1'' || repeat(''}'', 5000)'),
            ('1 MB value', 'json_build_object(''message'', repeat(''x'', 1048576))::text'),
            ('100000 keys', '(SELECT json_object_agg(i::text, i) FROM generate_series(1, 100000) AS i)::text'),
            ('malformed JSON', '''{"a":'''),
            ('NUL escape', '''{"a": "\u0000"}''')) AS v(label, expr);
    ELSIF typ IN ('integer'::regtype, 'bigint'::regtype, 'smallint'::regtype) THEN
        RETURN QUERY SELECT v.label, format('(%s)::%s', v.expr, t) FROM (VALUES
            ('zero', '0'), ('minus one', '-1'), ('one', '1'), ('sixty', '60'), ('sixty-one', '61'),
            ('max', CASE typ WHEN 'smallint'::regtype THEN '32767' WHEN 'integer'::regtype THEN '2147483647'
                             ELSE '9223372036854775807' END),
            ('min', CASE typ WHEN 'smallint'::regtype THEN '-32768' WHEN 'integer'::regtype THEN '-2147483648'
                             ELSE '-9223372036854775808' END)) AS v(label, expr);
    ELSIF typ = 'numeric'::regtype THEN
        RETURN QUERY SELECT v.label, format('%s::numeric', v.expr) FROM (VALUES
            ('zero', '0'), ('minus one', '-1'), ('NaN', '''NaN'''), ('Infinity', '''Infinity'''),
            ('-Infinity', '''-Infinity'''), ('1e1000', '1e1000'), ('-1e1000', '-1e1000'),
            ('tiny', '1e-1000')) AS v(label, expr);
    ELSIF typ = 'interval'::regtype THEN
        RETURN QUERY SELECT v.label, format('%L::interval', v.expr) FROM (VALUES
            ('zero', '0'), ('minus one second', '-1 second'), ('one microsecond', '1 microsecond'),
            ('one second', '1 second'), ('178 million years', '178000000 years'),
            ('minus 178 million years', '-178000000 years'),
            ('max days', '2147483647 days 2562047788 hours'),
            ('mixed signs', '1 month -31 days')) AS v(label, expr);
    ELSIF typ = 'boolean'::regtype THEN
        RETURN QUERY VALUES ('true', 'true'), ('false', 'false');
    ELSIF typ IN ('timestamp with time zone'::regtype, 'timestamp without time zone'::regtype) THEN
        RETURN QUERY SELECT v.label, format('%L::%s', v.expr, t) FROM (VALUES
            ('infinity', 'infinity'), ('-infinity', '-infinity'),
            ('earliest', '4713-01-01 00:00:00 BC'), ('latest', '294276-12-31 23:59:59'),
            ('epoch', 'epoch')) AS v(label, expr);
    ELSIF (SELECT typtype FROM pg_type WHERE oid = typ) = 'e' THEN
        RETURN QUERY SELECT 'label ' || e.enumlabel, format('%L::%s', e.enumlabel, t)
          FROM pg_enum e WHERE e.enumtypid = typ ORDER BY e.enumsortorder;
        RETURN QUERY SELECT 'malformed label', format('%L::%s', 'nonsense', t);
    ELSIF elem IS NOT NULL THEN
        RETURN QUERY SELECT v.label, format('%s::%s', v.expr, t) FROM (VALUES
            ('empty array', '''{}'''),
            ('NULL element', '''{NULL}'''),
            ('two dimensions', '''{{a,b},{c,d}}'''),
            ('lower bound 0', '''[0:1]={a,b}''')) AS v(label, expr)
         WHERE elem IN ('text'::regtype, 'character varying'::regtype);
        RETURN QUERY SELECT v.label, format('%s::%s', v.expr, t) FROM (VALUES
            ('empty element', '''{""}'''),
            ('100000 elements', '(SELECT array_agg(i::text) FROM generate_series(1, 100000) AS i)'),
            ('1 MB element', 'ARRAY[repeat(''x'', 1048576)]')) AS v(label, expr)
         WHERE elem IN ('text'::regtype, 'character varying'::regtype);
        IF (SELECT typtype FROM pg_type WHERE oid = elem) = 'e' THEN
            RETURN QUERY VALUES
                ('empty array', format('''{}''::%s', t)),
                ('NULL element', format('''{NULL}''::%s', t)),
                ('every label', format('enum_range(NULL::%s)', elem)),
                ('two dimensions', format('ARRAY[enum_range(NULL::%s), enum_range(NULL::%s)]', elem, elem));
        END IF;
    END IF;
END
$$;

-- The functions under test: every function or procedure of the two schemas.
CREATE VIEW fuzz.functions AS
SELECT p.oid::regprocedure AS fn,
       p.oid AS fn_oid,
       p.pronamespace::regnamespace::text AS schema,
       p.proname::text AS name,
       p.prokind,
       p.pronargs::int AS nargs,
       (p.pronargs - p.pronargdefaults)::int AS nrequired,
       p.proargtypes::regtype[] AS argtypes,
       -- the names of the input arguments (OUT arguments are not passed)
       CASE WHEN p.proargnames IS NULL THEN '{}'
            WHEN p.proargmodes IS NULL THEN p.proargnames
            ELSE coalesce((SELECT array_agg(a.name ORDER BY a.i)
                             FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, i)
                            WHERE a.mode IN ('i', 'b', 'v')), '{}') END AS argnames,
       p.prorettype = 'trigger'::regtype AS is_trigger
  FROM pg_proc p
 WHERE p.pronamespace::regnamespace::text IN ('agent_sessions', 'agent_sessions_api');

CREATE TABLE fuzz.plan (
    n           serial PRIMARY KEY,
    fn          regprocedure NOT NULL,
    arg         text,                   -- the argument under test, NULL for whole-call cases
    label       text NOT NULL,
    role        text NOT NULL DEFAULT 'postgres',
    claims      text,                   -- request.jwt.claims for the call, NULL for none
    read_only   boolean NOT NULL DEFAULT false,
    sql         text NOT NULL
);

CREATE TABLE fuzz.result (
    n           int PRIMARY KEY REFERENCES fuzz.plan,
    sqlstate    text NOT NULL,          -- '00000' when the call succeeded
    message     text
);

-- The SQL that calls f with the given argument expressions (NULL = omit,
-- letting the default apply; named notation when the arguments have names).
CREATE FUNCTION fuzz.call_sql(f fuzz.functions, exprs text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    parts text[] := '{}';
    i int;
    named boolean := cardinality(f.argnames) = f.nargs AND NOT ('' = ANY (f.argnames));
BEGIN
    FOR i IN 1 .. f.nargs LOOP
        IF exprs[i] IS NULL THEN
            CONTINUE;
        END IF;
        parts := parts || CASE WHEN named THEN format('%I => %s', f.argnames[i], exprs[i]) ELSE exprs[i] END;
    END LOOP;
    IF f.prokind = 'p' THEN
        RETURN format('CALL %I.%I(%s)', f.schema, f.name, array_to_string(parts, ', '));
    END IF;
    -- the result is fetched (EXECUTE reads every row), so a stable
    -- function is evaluated, not planned away as an unused column
    RETURN format('SELECT %I.%I(%s)', f.schema, f.name, array_to_string(parts, ', '));
END
$$;

-- Build the plan.
CREATE FUNCTION fuzz.build_plan(huge boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    f fuzz.functions;
    sane text[];
    exprs text[];
    i int;
    cand record;
    claims text;
    tenant constant text := '{"sub": "user_fuzz", "org_id": "org_fuzz", "role": "fuzz_tenant"}';
BEGIN
    FOR f IN SELECT * FROM fuzz.functions ORDER BY schema, name, fn_oid LOOP
        -- required arguments get sane values, optional ones their defaults
        sane := '{}';
        FOR i IN 1 .. f.nargs LOOP
            sane[i] := CASE WHEN i <= f.nrequired THEN fuzz.sane(f.argtypes[i - 1], f.argnames[i]) END;
        END LOOP;

        -- as the owner: each argument in turn takes each hostile value
        FOR i IN 1 .. f.nargs LOOP
            FOR cand IN SELECT * FROM fuzz.candidates(f.argtypes[i - 1], f.argnames[i], huge) LOOP
                exprs := sane;
                exprs[i] := cand.expr;
                INSERT INTO fuzz.plan (fn, arg, label, sql)
                VALUES (f.fn, coalesce(f.argnames[i], i::text), cand.label, fuzz.call_sql(f, exprs));
            END LOOP;
        END LOOP;

        -- every argument NULL at once, and every argument sane
        exprs := array_fill(NULL::text, ARRAY[f.nargs]);
        FOR i IN 1 .. f.nargs LOOP
            exprs[i] := format('NULL::%s', f.argtypes[i - 1]);
        END LOOP;
        INSERT INTO fuzz.plan (fn, label, sql) VALUES (f.fn, 'all NULL', fuzz.call_sql(f, exprs));
        FOR i IN 1 .. f.nargs LOOP
            exprs[i] := fuzz.sane(f.argtypes[i - 1], f.argnames[i]);
        END LOOP;
        INSERT INTO fuzz.plan (fn, label, sql) VALUES (f.fn, 'all sane', fuzz.call_sql(f, exprs));

        -- in a read-only transaction; as a role without privileges
        INSERT INTO fuzz.plan (fn, label, read_only, sql)
        VALUES (f.fn, 'read-only transaction', true, fuzz.call_sql(f, sane));
        INSERT INTO fuzz.plan (fn, label, role, sql)
        VALUES (f.fn, 'no privileges', 'fuzz_nobody', fuzz.call_sql(f, sane));

        -- as a tenant under row-level security, with good and hostile claims
        FOREACH claims IN ARRAY ARRAY[
            tenant,
            '{"sub": "someone_else"}',
            '{"sub": "user_fuzz"}',
            '{"org_id": "org_fuzz"}',
            '{}',
            '',
            '{"sub": ',
            '[1, 2]',
            '"a string"',
            '{"sub": 42, "org_id": 7}',
            '{"sub": null, "org_id": ["org_fuzz"]}',
            '{"sub": {"nested": true}}',
            '{"sub": ""}',
            '{"sub": "' || repeat('x', 1048576) || '"}',
            repeat('[', 100000)]
        LOOP
            INSERT INTO fuzz.plan (fn, label, role, claims, sql)
            VALUES (f.fn, 'tenant claims ' || left(claims, 40), 'fuzz_tenant', claims, fuzz.call_sql(f, sane));
        END LOOP;
    END LOOP;

    -- direct UPDATEs (a PostgREST PATCH) of every column to hostile values,
    -- on each target, through the guard trigger
    INSERT INTO fuzz.plan (fn, arg, label, sql)
    SELECT 'agent_sessions.sessions_guard()'::regprocedure, a.attname, t.label || ' row, ' || c.label,
           format('UPDATE agent_sessions.sessions SET %I = %s WHERE id = %L', a.attname, c.expr, t.id)
      FROM pg_attribute a
      CROSS JOIN fuzz.target t
      CROSS JOIN LATERAL fuzz.candidates(a.atttypid::regtype, a.attname::text, false) c
     WHERE a.attrelid = 'agent_sessions.sessions'::regclass AND a.attnum > 0 AND NOT a.attisdropped;

    RETURN (SELECT count(*) FROM fuzz.plan);
END
$$;

-- Run the plan from call "after" on, committing each result.
CREATE PROCEDURE fuzz.run(after int DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    p fuzz.plan;
    st text;
    msg text;
BEGIN
    FOR p IN SELECT * FROM fuzz.plan WHERE n > after ORDER BY n LOOP
        BEGIN
            IF p.claims IS NOT NULL THEN
                PERFORM set_config('request.jwt.claims', p.claims, true);
            END IF;
            IF p.read_only THEN
                PERFORM set_config('transaction_read_only', 'on', true);
            END IF;
            IF p.role <> 'postgres' THEN
                PERFORM set_config('role', p.role, true);
            END IF;
            EXECUTE p.sql;
            RAISE SQLSTATE 'ZZ000';         -- succeeded: undo it all the same
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF st = 'ZZ000' THEN
                st := '00000';
                msg := NULL;
            END IF;
        END;
        INSERT INTO fuzz.result VALUES (p.n, st, left(msg, 300));
        COMMIT;
    END LOOP;
END
$$;
