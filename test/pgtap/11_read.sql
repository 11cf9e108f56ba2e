-- get_session, list_sessions, count_sessions, and who sees what
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(50);

SET LOCAL agent_sessions.heartbeat_granularity = 0;

-- Five sessions, labelled by title, created in this order
SELECT id AS s1 FROM agent_sessions.create_session(user_id => 'a', organization_id => 'o1',
    workspace_id => 'w1', project_id => '01933b5a-0000-7000-8000-0000000000a1',
    agent_id => 'x', tags => '{red}', title => 's1') \gset
SELECT id AS s2 FROM agent_sessions.create_session(user_id => 'a', organization_id => 'o1',
    workspace_id => 'w2', project_id => '01933b5a-0000-7000-8000-0000000000a2',
    agent_id => 'y', tags => '{red,blue}', title => 's2') \gset
SELECT clock_timestamp() AS t_mid \gset
SELECT id AS s3 FROM agent_sessions.create_session(user_id => 'b', organization_id => 'o2',
    workspace_id => 'w1', project_id => '01933b5a-0000-7000-8000-0000000000a1',
    agent_id => 'x', tags => '{blue}', title => 's3') \gset
SELECT id AS s4 FROM agent_sessions.create_session(user_id => 'b', agent_id => 'z', title => 's4') \gset
SELECT id AS s5 FROM agent_sessions.create_session(user_id => 'c', organization_id => 'o2',
    tags => '{green,red}', title => 's5') \gset
\o /dev/null
SELECT agent_sessions.start_session(:'s2');
SELECT agent_sessions.start_session(:'s3');
SELECT agent_sessions.complete_session(:'s3');
SELECT agent_sessions.start_session(:'s4');
SELECT agent_sessions.cancel_session(:'s5');
SELECT clock_timestamp() AS t_act \gset
SELECT agent_sessions.heartbeat(:'s4', 'idle');
\o

-- get_session
SELECT is((SELECT g::text FROM agent_sessions.get_session(:'s1'::uuid) AS g),
          (SELECT s::text FROM agent_sessions.sessions AS s WHERE id = :'s1'),
          'get_session(uuid) returns the whole row');
SELECT is((agent_sessions.get_session(:'s1'::text)).id, :'s1'::uuid,
          'get_session(text) takes the UUID form');
SELECT is((agent_sessions.get_session(agent_sessions.format_session_id(:'s1'))).id, :'s1'::uuid,
          'get_session(text) takes the session_<hex> form');
SELECT is((agent_sessions.get_session('session_' || upper(replace(:'s1', '-', '')))).id, :'s1'::uuid,
          'with hex digits in either case');
SELECT is((agent_sessions.get_session(agent_sessions.format_session_id(:'s1'))).title, 's1',
          'an unknown-typed literal resolves to the text form');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.get_session('01933b5a-0000-7000-8000-000000000000'::uuid)$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'a missing session is PT404');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.get_session('session_01933b5a000070008000000000000000')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'a missing session in the prefixed form is PT404');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.get_session('session_01933b5a00007000800000000000000')$$),
          '22P02', 'a malformed id is 22P02');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.get_session('')$$),
          '22P02', 'an empty id is 22P02');
SELECT ok((SELECT g IS NULL FROM agent_sessions.get_session(NULL::uuid) AS g),
          'get_session(NULL) is NULL');

-- list_sessions: order and each filter
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions()),
          ARRAY['s5', 's4', 's3', 's2', 's1'], 'without filters: every session, newest first');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(status => '{running}')),
          ARRAY['s4', 's2'], 'status');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(status => '{completed,cancelled}')),
          ARRAY['s5', 's3'], 'status, several');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(status => '{}')),
          '{}'::text[], 'status, none');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(activity => 'idle')),
          ARRAY['s5', 's4', 's3'], 'activity');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(organization_id => 'o1')),
          ARRAY['s2', 's1'], 'organization_id');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(workspace_id => 'w1')),
          ARRAY['s3', 's1'], 'workspace_id');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(project_id => '01933b5a-0000-7000-8000-0000000000a1')),
          ARRAY['s3', 's1'], 'project_id');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(user_id => 'b')),
          ARRAY['s4', 's3'], 'user_id');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(agent_id => 'x')),
          ARRAY['s3', 's1'], 'agent_id');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(tags_any => '{blue,green}')),
          ARRAY['s5', 's3', 's2'], 'tags_any');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(tags_all => '{red,blue}')),
          ARRAY['s2'], 'tags_all');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(tags_all => '{}')),
          ARRAY['s5', 's4', 's3', 's2', 's1'], 'tags_all, empty: every session');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(created_after => :'t_mid')),
          ARRAY['s5', 's4', 's3'], 'created_after (inclusive)');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(created_before => :'t_mid')),
          ARRAY['s2', 's1'], 'created_before (exclusive)');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(active_after => :'t_act')),
          ARRAY['s4'], 'active_after (inclusive)');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(active_before => :'t_act')),
          ARRAY['s5', 's3', 's2', 's1'], 'active_before (exclusive)');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(
              status => '{queued,running,completed}', tags_any => '{red,blue}',
              created_before => :'t_mid', organization_id => 'o1', agent_id => 'y')),
          ARRAY['s2'], 'filters combine with AND');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(user_id => 'nobody')),
          '{}'::text[], 'no match, no rows');

-- Keyset pagination
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(page_size => 2)),
          ARRAY['s5', 's4'], 'page_size limits the page');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(page_size => 2, after => :'s4')),
          ARRAY['s3', 's2'], 'after the last id of a page comes the next page');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(page_size => 2, after => :'s2')),
          ARRAY['s1'], 'the last page is short');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(page_size => 2, after => :'s1')),
          '{}'::text[], 'and after it there is nothing');
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions(user_id => 'a', page_size => 1, after => :'s2')),
          ARRAY['s1'], 'pagination combines with filters');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.list_sessions(page_size => 0)$$),
          '22023: invalid page_size: must be between 1 and 10000 / Field "page_size" is invalid.',
          'page_size 0 is refused');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.list_sessions(page_size => -1)$$),
          '22023', 'a negative page_size is refused');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.list_sessions(page_size => 10001)$$),
          '22023', 'page_size above 10000 is refused');
SELECT is((SELECT count(*) FROM agent_sessions.list_sessions(page_size => 10000)), 5::bigint,
          'page_size 10000 is allowed');
SELECT count(*) FROM (SELECT agent_sessions.create_session(user_id => 'many') FROM generate_series(1, 101)) AS c \gset
SELECT is((SELECT count(*) FROM agent_sessions.list_sessions(user_id => 'many')), 100::bigint,
          'the default page is 100 sessions');
SELECT is((SELECT count(*) FROM agent_sessions.list_sessions(user_id => 'many', page_size => NULL)), 100::bigint,
          'a NULL page_size is the default');

-- count_sessions counts what list_sessions would return over all pages
CREATE TEMP TABLE marks AS SELECT :'t_mid'::timestamptz AS t_mid, :'t_act'::timestamptz AS t_act;
SELECT is(agent_sessions.count_sessions(user_id => 'many'), 101::bigint, 'count_sessions counts every page');
SELECT is_empty($$
    SELECT f FROM (VALUES
        ('status => ''{running}'''), ('activity => ''idle'''), ('organization_id => ''o1'''),
        ('workspace_id => ''w1'''), ('project_id => ''01933b5a-0000-7000-8000-0000000000a1'''),
        ('user_id => ''b'''), ('agent_id => ''x'''), ('tags_any => ''{blue,green}'''),
        ('tags_all => ''{red,blue}'''), ('created_after => ' || (SELECT quote_literal(t_mid) FROM marks)),
        ('created_before => ' || (SELECT quote_literal(t_mid) FROM marks)), ('active_after => ' || (SELECT quote_literal(t_act) FROM marks)),
        ('active_before => ' || (SELECT quote_literal(t_act) FROM marks))) AS t(f)
     WHERE pg_temp.error_of(format(
               'DO $do$ BEGIN IF agent_sessions.count_sessions(%1$s) <> (SELECT count(*) FROM agent_sessions.list_sessions(%1$s, page_size => 10000)) THEN RAISE EXCEPTION ''differ''; END IF; END $do$', f))
           IS NOT NULL$$,
    'count_sessions agrees with list_sessions for each filter');
SELECT is(agent_sessions.count_sessions(), 106::bigint, 'count_sessions without filters counts everything');

-- Who sees what: row-level security on the claims
SELECT pg_temp.api_role('agent_sessions_tap_web') \gset
SET LOCAL ROLE agent_sessions_tap_web;
SELECT is(agent_sessions.count_sessions(), 0::bigint, 'a role without claims sees nothing');
SET LOCAL request.jwt.claims = '{"sub": "b"}';
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions()), ARRAY['s4'],
          'a user claim alone sees that user''s sessions outside any organization');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.get_session(%L::uuid)', :'s3')),
          format('PT404: session %s does not exist', :'s3'),
          'the user''s session inside an organization is PT404 without the organization claim');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.get_session(%L::uuid)', :'s1')),
          format('PT404: session %s does not exist', :'s1'),
          'another user''s session is PT404, as if it did not exist');
SELECT is(pg_temp.sqlstate_of(format('SELECT agent_sessions.cancel_session(%L)', :'s1')), 'PT404',
          'and cannot be moved');
SET LOCAL request.jwt.claims = '{"sub": "a", "org_id": "o2"}';
SELECT is(ARRAY(SELECT title FROM agent_sessions.list_sessions()), ARRAY['s5', 's3'],
          'an organization claim sees that organization''s sessions');
SELECT is(agent_sessions.count_sessions(user_id => 'c'), 1::bigint,
          'count_sessions counts only visible sessions');
RESET request.jwt.claims;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
