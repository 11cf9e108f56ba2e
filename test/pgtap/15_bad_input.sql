-- Bad input to every core function: NULL in each argument, empty strings,
-- 1 MB strings, malformed JSON, unknown enum labels.  The backend survives
-- and each error is the documented one.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(42);

-- A new session in status "st"
CREATE FUNCTION pg_temp.fresh(st agent_sessions.session_status) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    id uuid := (agent_sessions.create_session(user_id => 'bad')).id;
BEGIN
    IF st = 'running' THEN
        PERFORM agent_sessions.start_session(id);
    END IF;
    RETURN id;
END $$;

-- The core functions (the ones this suite covers)
CREATE TEMP TABLE core AS
SELECT p.oid::regprocedure AS fn, p.proname::text AS name, p.proisstrict AS strict,
       COALESCE(p.proargnames, '{}') AS argnames,
       COALESCE((SELECT array_agg(t::regtype::text ORDER BY o) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, o)), '{}') AS argtypes
  FROM pg_proc p
 WHERE p.pronamespace = 'agent_sessions'::regnamespace
   AND p.proname IN ('uuid_v7', 'format_session_id', 'parse_session_id', 'caller_user_id',
                     'caller_organization_id', 'create_session', 'get_session', 'list_sessions',
                     'count_sessions', 'usage_add', 'transition', 'start_session', 'complete_session',
                     'fail_session', 'cancel_session', 'add_usage', 'heartbeat');

SELECT is((SELECT count(*) FROM core), 18::bigint, 'the eighteen core functions are covered');

-- get_session is STABLE: it sees the sessions of earlier statements only
CREATE TEMP TABLE existing AS SELECT (agent_sessions.create_session(user_id => 'bad')).id;

-- A valid SQL value for argument "arg" of type "typ" of function "fn"
CREATE FUNCTION pg_temp.good(fn text, arg text, typ text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE
        WHEN arg = 'id' AND typ = 'uuid' AND fn IN ('start_session') THEN 'pg_temp.fresh(''queued'')'
        WHEN arg = 'id' AND typ = 'uuid' AND fn IN ('get_session', 'format_session_id') THEN '(SELECT id FROM existing)'
        WHEN arg = 'id' AND typ = 'uuid' THEN 'pg_temp.fresh(''running'')'
        WHEN arg = 'id' AND typ = 'text' THEN 'agent_sessions.format_session_id((SELECT id FROM existing))'
        WHEN arg = 'expected_version' THEN CASE WHEN fn = 'start_session' THEN '1' ELSE '3' END
        WHEN arg = 'to_status' THEN '''completed'''
        WHEN arg = 'status' THEN '''{running}'''
        WHEN arg = 'idempotency_key' THEN 'md5(random()::text)'
        WHEN arg = 'capabilities' THEN '''["read"]'''
        WHEN arg = 'page_size' THEN '10'
        WHEN arg = 'cost' THEN '0.5'
        WHEN arg IN ('usage', 'delta') THEN '''{"input_tokens": 1}'''
        WHEN typ = 'jsonb' THEN '''{"k": "v"}'''
        WHEN typ = 'text' THEN '''v'''
        WHEN typ = 'text[]' THEN '''{v}'''
        WHEN typ = 'uuid' THEN 'gen_random_uuid()'
        WHEN typ = 'boolean' THEN 'true'
        WHEN typ = 'interval' THEN '''1 minute'''
        WHEN typ = 'timestamp with time zone' THEN 'now()'
        WHEN typ = 'agent_sessions.session_activity' THEN '''idle'''
    END
$$;

-- The outcome of calling core function "f" with valid arguments, except
-- argument "pos" set to SQL expression "expr": 'ok', 'NULL' (the call
-- returned NULL), or the SQLSTATE raised.
CREATE FUNCTION pg_temp.outcome(f regprocedure, pos int, expr text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c core;
    args text := '';
    result text;
BEGIN
    SELECT * INTO c FROM core WHERE fn = f;
    FOR i IN 1 .. cardinality(c.argtypes) LOOP
        args := args || CASE WHEN i > 1 THEN ', ' ELSE '' END
             || format('%I => (%s)::%s', c.argnames[i],
                       CASE WHEN i = pos THEN expr ELSE pg_temp.good(c.name, c.argnames[i], c.argtypes[i]) END,
                       c.argtypes[i]);
    END LOOP;
    BEGIN
        EXECUTE format('SELECT CASE WHEN r IS NULL THEN ''NULL'' ELSE ''ok'' END FROM (SELECT agent_sessions.%I(%s) AS r OFFSET 0) AS s LIMIT 1',
                       c.name, args)
           INTO result;
        RETURN COALESCE(result, 'ok');
    EXCEPTION WHEN OTHERS THEN
        RETURN SQLSTATE;
    END;
END $$;

-- Sanity: valid arguments succeed everywhere (the base of every test below)
SELECT is_empty($$SELECT fn, o FROM core, pg_temp.outcome(fn, 0, NULL) AS o
                   WHERE o <> 'ok'$$,
                'every core function succeeds with valid arguments');

-- NULL in each argument
SELECT is_empty(format($$
    SELECT argnames[i], o FROM core, generate_series(1, cardinality(argtypes)) AS i,
           pg_temp.outcome(fn, i, 'NULL') AS o
     WHERE fn = %L::regprocedure
       AND o IS DISTINCT FROM CASE
             WHEN strict THEN 'NULL'
             WHEN (name, argnames[i]) IN (('create_session', 'user_id'), ('transition', 'to_status'))
               OR (argnames[i] = 'id' AND name IN ('transition', 'start_session', 'complete_session',
                                                   'fail_session', 'cancel_session', 'add_usage', 'heartbeat'))
               THEN '22023'
             WHEN name = 'usage_add' AND argnames[i] = 'usage' THEN 'NULL'
             ELSE 'ok' END$$, fn),
    fn || ': NULL in each argument')
  FROM core WHERE cardinality(argtypes) > 0 ORDER BY fn::text;
SELECT is(pg_temp.error_of($$SELECT agent_sessions.transition(NULL, 'running')$$),
          '22023: invalid id: must not be NULL / Field "id" is invalid.', 'a NULL id names the field');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.transition(agent_sessions.uuid_v7(), NULL)$$),
          '22023: invalid to_status: must not be NULL / Field "to_status" is invalid.', 'a NULL to_status names the field');

-- Empty strings in each text argument
SELECT is_empty($$
    SELECT fn, argnames[i], o FROM core, generate_series(1, cardinality(argtypes)) AS i,
           pg_temp.outcome(fn, i, '''''') AS o
     WHERE argtypes[i] = 'text'
       AND o IS DISTINCT FROM CASE
             WHEN name IN ('get_session', 'parse_session_id') THEN '22P02'
             WHEN name = 'create_session' AND argnames[i] NOT IN ('title', 'preview') THEN '22023'
             WHEN (name, argnames[i]) IN (('start_session', 'machine_id'), ('transition', 'end_reason'),
                                          ('fail_session', 'end_reason')) THEN '22023'
             ELSE 'ok' END$$,
    'empty strings: 22023 where a value must not be empty, 22P02 for ids, accepted elsewhere');

-- 1 MB strings in each text argument (incompressible, so nothing stays small)
CREATE TEMP TABLE big AS SELECT string_agg(md5(i::text), '') AS v FROM generate_series(1, 32768) AS i;
SELECT is((SELECT octet_length(v) FROM big), 1048576, 'the big string is 1 MB');
SELECT is_empty($$
    SELECT fn, argnames[i], o FROM core, generate_series(1, cardinality(argtypes)) AS i,
           pg_temp.outcome(fn, i, '(SELECT v FROM big)') AS o
     WHERE argtypes[i] = 'text'
       AND o IS DISTINCT FROM CASE
             WHEN name IN ('get_session', 'parse_session_id') THEN '22P02'
             WHEN name = 'create_session' AND argnames[i] IN ('user_id', 'organization_id', 'workspace_id',
                 'agent_id', 'machine_id', 'tenant_id', 'org_workspace_id', 'team_id', 'workspace_element_id',
                 'source_schedule_id', 'idempotency_key') THEN '22023'
             WHEN (name, argnames[i]) = ('start_session', 'machine_id') THEN '22023'
             ELSE 'ok' END$$,
    '1 MB strings: 22023 for ids (at most 200 characters), 22P02 for session ids, stored elsewhere');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => %L)', (SELECT v FROM big))),
          '22023: invalid user_id: must be at most 200 characters / Field "user_id" is invalid.',
          'a 1 MB user_id is refused by name, not by the index');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.get_session((SELECT v FROM big))$$),
          '22P02: invalid session id: "' || (SELECT left(v, 40) FROM big) || '..." / The value is 1048576 bytes long.',
          'a 1 MB session id is refused, quoting only its start');
SELECT is((SELECT octet_length(prompt) FROM agent_sessions.create_session(user_id => 'bad', prompt => (SELECT v FROM big))),
          1048576, 'a 1 MB prompt is stored whole');
SELECT id AS big_reason FROM agent_sessions.cancel_session(pg_temp.fresh('running'), reason => (SELECT v FROM big)) \gset
SELECT is((SELECT octet_length(reason) FROM agent_sessions.session_events
            WHERE session_id = :'big_reason' ORDER BY event_id DESC LIMIT 1),
          1048576, 'a 1 MB reason is recorded whole');
SELECT is((SELECT octet_length(error->>'message') FROM agent_sessions.fail_session(pg_temp.fresh('running'), message => (SELECT v FROM big))),
          1048576, 'a 1 MB failure message is stored whole');
SELECT is((SELECT octet_length(metadata->>'blob') FROM agent_sessions.create_session(user_id => 'bad',
              metadata => jsonb_build_object('blob', (SELECT v FROM big)))),
          1048576, '1 MB of metadata is stored whole');

-- Malformed JSON: the cast fails before the call, with 22P02
SELECT is_empty($$
    SELECT fn, argnames[i], o FROM core, generate_series(1, cardinality(argtypes)) AS i,
           pg_temp.outcome(fn, i, '''{"unterminated": ''') AS o
     WHERE argtypes[i] = 'jsonb' AND o IS DISTINCT FROM '22P02'$$,
    'malformed JSON text in each jsonb argument is 22P02');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.create_session(user_id => 'u', metadata => '{bad')$$),
          '22P02', 'also as an untyped literal');
SET LOCAL request.jwt.claims = '{"sub": ';
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.create_session(prompt => 'p')$$),
          '22P02', 'malformed request.jwt.claims is 22P02');
RESET request.jwt.claims;

-- Unknown enum labels
SELECT is(pg_temp.error_of($$SELECT 'bogus'::agent_sessions.session_status$$),
          '22P02: invalid input value for enum agent_sessions.session_status: "bogus"',
          'an unknown status label is 22P02');
SELECT is(pg_temp.sqlstate_of($$SELECT 'asleep'::agent_sessions.session_activity$$),
          '22P02', 'an unknown activity label is 22P02');
SELECT is_empty($$
    SELECT fn, argnames[i], o FROM core, generate_series(1, cardinality(argtypes)) AS i,
           pg_temp.outcome(fn, i, CASE WHEN argtypes[i] LIKE '%[]' THEN '''{running,bogus}''' ELSE '''bogus''' END) AS o
     WHERE argtypes[i] LIKE 'agent_sessions.session_%' AND o IS DISTINCT FROM '22P02'$$,
    'an unknown label in each status or activity argument is 22P02');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.transition(pg_temp.fresh('running'), 'Completed')$$),
          '22P02', 'labels are case-sensitive');

-- Numbers out of range
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.list_sessions(page_size => 2147483647)$$), '22023',
          'the largest page_size is refused');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.start_session(pg_temp.fresh('queued'), expected_version => -1)$$),
          'PT409', 'a negative expected_version is a version mismatch');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.add_usage(pg_temp.fresh('running'), cost => 'NaN')$$),
          '22023: invalid cost: must be a finite number / Field "cost" is invalid.',
          'a NaN cost is refused');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.complete_session(pg_temp.fresh('running'), cost => 'Infinity')$$),
          '22023', 'an infinite cost is refused');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.create_session(user_id => 'u', inactivity_timeout => '178000000 years')$$),
          NULL, 'the longest interval is a valid timeout');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.get_session('not-a-uuid'::uuid)$$),
          '22P02', 'a malformed uuid is 22P02');

SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold after all of it');

SELECT * FROM finish();
ROLLBACK;
