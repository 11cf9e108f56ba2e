-- Tenant isolation and read-only GETs, replayed as PostgREST sends them.
-- Run as authenticator.  Every request here must change nothing;
-- verify.sql then compares every session and the event count with the
-- snapshot taken just before.

SELECT id AS a_live FROM replay.fixtures WHERE name = 'a_live' \gset
SELECT id AS a_queued FROM replay.fixtures WHERE name = 'a_queued' \gset
SELECT 'session_' || replace(id::text, '-', '') AS a_live_prefixed FROM replay.fixtures WHERE name = 'a_live' \gset
SELECT to_regprocedure('agent_sessions.wait_for_session(uuid,integer,bigint)') IS NOT NULL AS have_wait \gset
\set get_headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*","authorization":"Bearer <token>"}'
\set post_headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*","authorization":"Bearer <token>","content-type":"application/json"}'


-- ===== tenant B (organization org_b) against tenant A's sessions ===========

\set role authenticated
\set claims '{"sub":"user_b1","org_id":"org_b","role":"authenticated"}'

\set access 'READ ONLY'
\set method GET
\set headers :get_headers

\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('B: 000 get of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/get_session
\set fn get_session
\set keys '{session_id}'
\set args :'a_live_prefixed'
\ir request.sql
SELECT replay.answered('B: 001 get of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/list_sessions
\set fn list_sessions
\set keys '{agent_id}'
\set args '''agent_a'''
\ir request.sql
SELECT replay.answered('B: 002 list of A''s agent answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.ok(:'r_body'::jsonb = '{"sessions": [], "total": 0}', 'B: 002 list of A''s agent is empty', :'r_body');

\set path /rpc/project_agent_sessions
\set fn project_agent_sessions
\set keys '{id,active}'
\set args '''2489e9ad-2ee2-8e00-8ec9-32d5f69181c0'', ''false'''
\ir request.sql
SELECT replay.answered('B: 004 sessions of A''s project answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.ok(:'r_body'::jsonb = '{"sessions": []}', 'B: 004 sessions of A''s project is empty', :'r_body');

\if :have_wait
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id,wait,timeout}'
\set args :'a_live' ', ''true'', ''1'''
\ir request.sql
SELECT replay.answered('B: 000 get with wait=true of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');
\else
\echo '# skipped: B waiting on A''s session (agent_sessions.wait_for_session is not installed)'
\endif

\set access 'READ WRITE'
\set method POST
\set headers :post_headers

\set path /rpc/create_agent_session
\set fn create_agent_session
\set keys '{prompt,organizationId}'
\set body '{"prompt":"Plant a session in org_a","organizationId":"org_a"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('B: 003 create into A''s organization answers 403', :'http', :'sqlstate', 403, '42501');
\echo '# B POST /rpc/create_agent_session into org_a ->' :http :error_body

\set path /rpc/heartbeat
\set fn heartbeat
\set keys '{session_id,activity}'
SELECT json_build_object('session_id', :'a_live', 'activity', 'idle')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: heartbeat of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set keys '{session_id}'
SELECT json_build_object('session_id', :'a_live')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: heartbeat (time only) of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/complete_session
\set fn complete_session
\set keys '{session_id,output}'
SELECT json_build_object('session_id', :'a_live', 'output', json_build_object('stolen', true))::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: complete of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/cancel_session
\set fn cancel_session
\set keys '{session_id}'
SELECT json_build_object('session_id', :'a_live')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: cancel of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/fail_session
\set fn fail_session
\set keys '{session_id,message}'
SELECT json_build_object('session_id', :'a_live', 'message', 'no')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: fail of A''s session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set path /rpc/start_session
\set fn start_session
\set keys '{session_id,machine_id}'
SELECT json_build_object('session_id', :'a_queued', 'machine_id', 'machine-b9')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('B: start of A''s queued session answers 404', :'http', :'sqlstate', 404, 'PT404');


\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
SELECT quote_literal(id) AS args FROM replay.fixtures WHERE name = 'personal' \gset
\ir request.sql
SELECT replay.answered('B: 000 get of user_p''s personal session answers 404', :'http', :'sqlstate', 404, 'PT404');
\set claims '{"sub":"user_a1","org_id":"org_a","role":"authenticated"}'
\ir request.sql
SELECT replay.answered('A: 000 get of user_p''s personal session answers 404', :'http', :'sqlstate', 404, 'PT404');

-- ===== A's user with a token that names no organization ====================
-- Without an organization claim a caller is confined to its own sessions
-- outside any organization: not those it owns inside org_a.

\set claims '{"sub":"user_a1","role":"authenticated"}'
\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('user_a1 without an organization claim: 000 get of its org_a session answers 404', :'http', :'sqlstate', 404, 'PT404');

\set access 'READ WRITE'
\set method POST
\set headers :post_headers
\set path /rpc/create_agent_session
\set fn create_agent_session
\set keys '{prompt,organizationId}'
\set body '{"prompt":"Into org_a without its claim","organizationId":"org_a"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('user_a1 without an organization claim: create into org_a answers 403', :'http', :'sqlstate', 403, '42501');


-- ===== anonymous (no token: db-anon-role, granted nothing) =================

\set role anon
\set claims '{"role":"anon"}'
\set access 'READ ONLY'
\set method GET
\set headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*"}'
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('anonymous: 000 get answers 401', :'http', :'sqlstate', 401, '42501');
\echo '# anonymous GET /rpc/get_agent_session ->' :http :error_body


-- ===== writes called the way PostgREST runs a GET: READ ONLY ===============

\set role authenticated
\set claims '{"sub":"user_a1","org_id":"org_a","role":"authenticated"}'
\set access 'READ ONLY'
\set method GET
\set headers :get_headers

\set path /rpc/cancel_session
\set fn cancel_session
\set keys '{session_id}'
\set args :'a_live_prefixed'
\ir request.sql
SELECT replay.answered('GET /rpc/cancel_session answers 405', :'http', :'sqlstate', 405, '25006');
\echo '# GET /rpc/cancel_session ->' :http :error_body

\set path /rpc/heartbeat
\set fn heartbeat
\set keys '{session_id,activity}'
\set args :'a_live' ', ''idle'''
\ir request.sql
SELECT replay.answered('GET /rpc/heartbeat answers 405', :'http', :'sqlstate', 405, '25006');
\set keys '{session_id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('GET /rpc/heartbeat (time only) answers 405', :'http', :'sqlstate', 405, '25006');

\set path /rpc/start_session
\set fn start_session
\set keys '{session_id}'
\set args :'a_queued'
\ir request.sql
SELECT replay.answered('GET /rpc/start_session answers 405', :'http', :'sqlstate', 405, '25006');

\set path /rpc/complete_session
\set fn complete_session
\set keys '{session_id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('GET /rpc/complete_session answers 405', :'http', :'sqlstate', 405, '25006');

\set path /rpc/fail_session
\set fn fail_session
\set keys '{session_id}'
\set args :'a_live'
\ir request.sql
SELECT replay.answered('GET /rpc/fail_session answers 405', :'http', :'sqlstate', 405, '25006');

\set path /rpc/create_agent_session
\set fn create_agent_session
\set keys '{prompt}'
\set args '''Created by a GET'''
\ir request.sql
SELECT replay.answered('GET /rpc/create_agent_session answers 405', :'http', :'sqlstate', 405, '25006');
