-- create_session() returns its row the same wherever it is called: in FROM,
-- in a select list, through ROWS FROM and LATERAL, and in PL/pgSQL (a
-- composite of the table's row type).  After a column has been added to the
-- table and another dropped, every function that returns sessions rows
-- still returns each column in its place: "*" leaves a dropped column out,
-- while the table's row type keeps a place for it.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;

SELECT plan(19);

-- the row of session id as the table holds it
CREATE FUNCTION pg_temp.stored(sid uuid) RETURNS agent_sessions.sessions
LANGUAGE sql STABLE AS $$ SELECT s FROM agent_sessions.sessions AS s WHERE s.id = sid $$;

CREATE TEMP TABLE got_from AS
SELECT * FROM agent_sessions.create_session(
    user_id => 'from', prompt => 'p', tags => '{a,b}', metadata => '{"k": 1}',
    inactivity_timeout => '90 seconds');
SELECT results_eq(
    'SELECT * FROM pg_temp.got_from',
    'SELECT s.* FROM pg_temp.got_from AS g, LATERAL pg_temp.stored(g.id) AS s',
    'in FROM: the row returned is the row stored, every column');

CREATE TEMP TABLE got_list AS
SELECT (x.r).* FROM (SELECT agent_sessions.create_session(user_id => 'list', prompt => 'q') AS r
                       OFFSET 0) AS x;
SELECT results_eq(
    'SELECT * FROM pg_temp.got_list',
    'SELECT s.* FROM pg_temp.got_list AS g, LATERAL pg_temp.stored(g.id) AS s',
    'in a select list: the row returned is the row stored');
SELECT is(pg_typeof(agent_sessions.create_session(user_id => 'typed'))::text,
          'agent_sessions.sessions',
          'in a select list: the value has the table''s row type');

SELECT results_eq(
    $$SELECT ordinality, status::text, user_id
        FROM ROWS FROM (agent_sessions.create_session(user_id => 'rows-from')) WITH ORDINALITY$$,
    $$VALUES (1::bigint, 'queued', 'rows-from')$$,
    'ROWS FROM ... WITH ORDINALITY: one row, numbered 1');

SELECT results_eq(
    $$SELECT count(DISTINCT s.id), count(*), string_agg(s.user_id, ',' ORDER BY g)
        FROM generate_series(1, 3) AS g,
             LATERAL agent_sessions.create_session(user_id => 'lateral-' || g) AS s$$,
    $$VALUES (3::bigint, 3::bigint, 'lateral-1,lateral-2,lateral-3')$$,
    'LATERAL: one new session per outer row');

CREATE FUNCTION pg_temp.plpgsql_forms() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a agent_sessions.sessions;
    b agent_sessions.sessions;
BEGIN
    a := agent_sessions.create_session(user_id => 'plpgsql-a');
    SELECT * INTO b FROM agent_sessions.create_session(user_id => 'plpgsql-b');
    RETURN format('%s %s %s %s %s', a.user_id, a.status, b.user_id, b.status,
                  a = pg_temp.stored(a.id) AND b = pg_temp.stored(b.id));
END
$$;
SELECT is(pg_temp.plpgsql_forms(), 'plpgsql-a queued plpgsql-b queued t',
          'PL/pgSQL: assignment and SELECT INTO both get the stored row');

-- an idempotent repeat returns the first session, in either form
CREATE TEMP TABLE keyed AS
SELECT * FROM agent_sessions.create_session(user_id => 'keyed', idempotency_key => 'k-1');
SELECT results_eq(
    $$SELECT s FROM agent_sessions.create_session(user_id => 'keyed', idempotency_key => 'k-1') AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.keyed',
    'a repeated key in FROM returns the first session''s stored row');
SELECT is((agent_sessions.create_session(user_id => 'keyed', idempotency_key => 'k-1')).id,
          (SELECT id FROM pg_temp.keyed),
          'a repeated key in a select list returns the first session');

-- the table gains a column and loses another: the row type then has a
-- dropped attribute, which "*" leaves out, before a live one
ALTER TABLE agent_sessions.sessions ADD COLUMN extra_gone integer,
                                    ADD COLUMN extra_kept text DEFAULT 'kept';
ALTER TABLE agent_sessions.sessions DROP COLUMN extra_gone;

CREATE TEMP TABLE altered AS
SELECT * FROM agent_sessions.create_session(user_id => 'altered', prompt => 'r',
                                            project_id => '00000000-0000-4000-8000-0000000000aa');
SELECT results_eq(
    'SELECT * FROM pg_temp.altered',
    'SELECT s.* FROM pg_temp.altered AS g, LATERAL pg_temp.stored(g.id) AS s',
    'after ADD and DROP COLUMN, in FROM: the row returned is the row stored');
SELECT is((SELECT extra_kept FROM pg_temp.altered), 'kept',
          'after ADD and DROP COLUMN, in FROM: the added column comes back');

CREATE TEMP TABLE altered_list AS
SELECT x.r FROM (SELECT agent_sessions.create_session(user_id => 'altered-list') AS r OFFSET 0) AS x;
SELECT is((SELECT a.r IS NOT DISTINCT FROM pg_temp.stored((a.r).id) FROM pg_temp.altered_list AS a),
          true,
          'after ADD and DROP COLUMN, in a select list: the row returned is the row stored');

SELECT results_eq(
    $$SELECT s FROM agent_sessions.create_session(user_id => 'keyed', idempotency_key => 'k-1') AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.keyed',
    'after ADD and DROP COLUMN, a repeated key still returns the stored row');
SELECT is((SELECT count(*) FROM agent_sessions.sessions WHERE user_id = 'keyed'), 1::bigint,
          'the repeated key made no second session');

-- every other function that returns sessions rows
SELECT results_eq(
    $$SELECT s FROM agent_sessions.get_session((SELECT id FROM pg_temp.altered)) AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.altered',
    'after ADD and DROP COLUMN: get_session(uuid)');
SELECT results_eq(
    $$SELECT s FROM agent_sessions.get_session(agent_sessions.format_session_id((SELECT id FROM pg_temp.altered))) AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.altered',
    'after ADD and DROP COLUMN: get_session(text)');
SELECT results_eq(
    $$SELECT s FROM agent_sessions.wait_for_session((SELECT id FROM pg_temp.altered), 1, 0) AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.altered',
    'after ADD and DROP COLUMN: wait_for_session');
SELECT results_eq(
    $$SELECT s FROM agent_sessions.list_sessions(project_id => '00000000-0000-4000-8000-0000000000aa') AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.altered',
    'after ADD and DROP COLUMN: list_sessions, every column in its place');
SELECT results_eq(
    $$SELECT s FROM agent_sessions.active_sessions('5 minutes',
                                                   project_id => '00000000-0000-4000-8000-0000000000aa') AS s$$,
    'SELECT pg_temp.stored(id) FROM pg_temp.altered',
    'after ADD and DROP COLUMN: active_sessions, every column in its place');
SELECT results_eq(
    $$SELECT s.status::text, s.extra_kept FROM agent_sessions.start_session((SELECT id FROM pg_temp.altered)) AS s$$,
    $$VALUES ('running', 'kept')$$,
    'after ADD and DROP COLUMN: start_session');

SELECT * FROM finish();
ROLLBACK;
