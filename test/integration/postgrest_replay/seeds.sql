-- Every seed endpoint and the worker calls, replayed as PostgREST sends them,
-- as tenant A (organization org_a, user user_a1).  Run as authenticator.

\set role authenticated
\set claims '{"sub":"user_a1","org_id":"org_a","role":"authenticated"}'
\set get_headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*","authorization":"Bearer <token of user_a1>"}'
\set post_headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*","authorization":"Bearer <token of user_a1>","content-type":"application/json"}'

SELECT id AS a_live FROM replay.fixtures WHERE name = 'a_live' \gset
SELECT id AS a_queued FROM replay.fixtures WHERE name = 'a_queued' \gset
SELECT id AS a_stale FROM replay.fixtures WHERE name = 'a_stale' \gset
SELECT id AS a_ended_recently FROM replay.fixtures WHERE name = 'a_ended_recently' \gset
SELECT id AS a_ended_long_ago FROM replay.fixtures WHERE name = 'a_ended_long_ago' \gset
SELECT to_regprocedure('agent_sessions.wait_for_session(uuid,integer,bigint)') IS NOT NULL AS have_wait \gset


-- ===== seed 003: POST create, validated =====================================

\set access 'READ WRITE'
\set method POST
\set path /rpc/create_agent_session
\set fn create_agent_session
\set headers :post_headers

\set keys '{prompt,workspaceElementType,workspaceElementId,model,agentName,type,title,agentId}'
\set body '{"prompt":"Summarise the open issues","workspaceElementType":"connection","workspaceElementId":"conn_123","model":"anthropic/claude-sonnet-4.6","agentName":"membrane","type":"chat","title":"Issue summary","agentId":"agent_membrane"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('003 create', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'queued', '003 create: status is queued');
SELECT replay.is(:'r_body'::json ->> 'state', 'busy', '003 create: state is busy');
SELECT replay.is(:'r_body'::json ->> 'hasWorker', 'false', '003 create: no worker yet');
SELECT replay.is(:'r_body'::json ->> 'userId', 'user_a1', '003 create: owned by the token''s user');
SELECT replay.is(:'r_body'::json ->> 'workspaceId', 'org_a', '003 create: workspaceId falls back to the token''s organization');
SELECT replay.is(:'r_body'::json ->> 'workspaceElementId', 'conn_123', '003 create: workspaceElementId stored');
SELECT replay.is(:'r_body'::json ->> 'model', 'anthropic/claude-sonnet-4.6', '003 create: model stored');
SELECT replay.ok(NOT (:'r_body'::jsonb ?| ARRAY['error', 'output', 'summary', 'finishedAt']),
                 '003 create: null fields are left out');
\echo '# 003 POST /rpc/create_agent_session ->' :r_body
SELECT :'r_body'::json ->> 'id' AS created \gset
SELECT 'session_' || replace(:'created', '-', '') AS created_prefixed \gset

-- the 31st element type is accepted on create
\set keys '{prompt,workspaceElementType}'
\set body '{"prompt":"Watch the event type","workspaceElementType":"external-event-type"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with workspaceElementType external-event-type answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'workspaceElementType', 'external-event-type', '003 create: external-event-type stored');

-- field errors: 400 with SQLSTATE 22023, the field named in message and details
\set keys '{}'
\set body '{}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create without prompt answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "prompt" is invalid.', '003 create without prompt: details name prompt');
\echo '# 003 POST /rpc/create_agent_session {} ->' :http :error_body

\set keys '{prompt}'
\set body '{"prompt":""}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an empty prompt answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "prompt" is invalid.', '003 create with an empty prompt: details name prompt');
SELECT replay.is(:'error_body'::json ->> 'message', 'invalid prompt: must not be empty', '003 create with an empty prompt: message');

\set keys '{prompt,workspaceElementType}'
\set body '{"prompt":"x","workspaceElementType":"spreadsheet"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an unknown workspaceElementType answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "workspaceElementType" is invalid.', '003 create with an unknown workspaceElementType: details name it');
SELECT replay.ok(:'error_body'::json ->> 'hint' LIKE 'Accepted values: customer, app, %connected-product.', '003 create with an unknown workspaceElementType: hint lists the values');

\set keys '{prompt,workspaceElementId}'
\set body '{"prompt":"x","workspaceElementId":""}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an empty workspaceElementId answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "workspaceElementId" is invalid.', '003 create with an empty workspaceElementId: details name it');

\set keys '{prompt,model}'
\set body '{"prompt":"x","model":"openai/gpt-4"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an unknown model answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "model" is invalid.', '003 create with an unknown model: details name it');
\echo '# 003 POST /rpc/create_agent_session model openai/gpt-4 ->' :http :error_body

\set keys '{prompt,agentName}'
\set body '{"prompt":"x","agentName":"clippy"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an unknown agentName answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "agentName" is invalid.', '003 create with an unknown agentName: details name it');

\set keys '{prompt,projectId}'
\set body '{"prompt":"x","projectId":"not-a-uuid"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with a malformed projectId answers 400', :'http', :'sqlstate', 400, '22P02');

-- idempotent create: the Idempotency-Key header
\set headers '{"host":"api.example.com","user-agent":"curl/8.5.0","accept":"*/*","authorization":"Bearer <token of user_a1>","content-type":"application/json","idempotency-key":"create-7f3a"}'
\set keys '{prompt,agentName}'
\set body '{"prompt":"Retry me","agentName":"universe"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with an Idempotency-Key answers 200', :'http', :'sqlstate', 200, '00000');
SELECT :'r_body'::json ->> 'id' AS keyed \gset
\ir request.sql
SELECT replay.answered('003 create retried with the same key and body answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'id', :'keyed', '003 create retried: the same session');
\set body '{"prompt":"Something else","agentName":"universe"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create reusing the key with another body answers 409', :'http', :'sqlstate', 409, 'PT409');
\set headers :post_headers


-- a token without an organization claim: a personal session
\set claims '{"sub":"user_p","role":"authenticated"}'
\set keys '{prompt}'
\set body '{"prompt":"Personal notes"}'
\set args :'body'
\ir request.sql
SELECT replay.answered('003 create with a token naming no organization answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'userId', 'user_p', '003 create with a token naming no organization: owned by its user');
SELECT replay.ok(NOT (:'r_body'::jsonb ? 'workspaceId'), '003 create with a token naming no organization: in no workspace');
SELECT :'r_body'::json ->> 'id' AS personal \gset
\set access 'READ ONLY'
\set method GET
\set path /rpc/get_agent_session
\set fn get_agent_session
\set headers :get_headers
\set keys '{id}'
\set args :'personal'
\ir request.sql
SELECT replay.answered('000 get of one''s own personal session answers 200', :'http', :'sqlstate', 200, '00000');
\set claims '{"sub":"user_a1","org_id":"org_a","role":"authenticated"}'

-- ===== seed 000: GET a session by id, wait and timeout ======================

\set access 'READ ONLY'
\set method GET
\set path /rpc/get_agent_session
\set fn get_agent_session
\set headers :get_headers

\set keys '{id}'
\set args :'created'
\ir request.sql
SELECT replay.answered('000 get answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('000 get', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.is(:'r_body'::json ->> 'id', :'created', '000 get: the session asked for');
SELECT replay.is(:'r_body'::json ->> 'prompt', 'Summarise the open issues', '000 get: prompt');
\echo '# 000 GET /rpc/get_agent_session?id=... ->' :r_body

\set args :'created_prefixed'
\ir request.sql
SELECT replay.answered('000 get by session_<hex> id answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'id', :'created', '000 get by session_<hex> id: the same session');

\set keys '{id,timeout}'
\set args :'created' ', ''0'''
\ir request.sql
SELECT replay.answered('000 get with timeout=0 answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "timeout" is invalid.', '000 get with timeout=0: details name timeout');
\set args :'created' ', ''61'''
\ir request.sql
SELECT replay.answered('000 get with timeout=61 answers 400', :'http', :'sqlstate', 400, '22023');
\set args :'created' ', ''60'''
\ir request.sql
SELECT replay.answered('000 get with timeout=60 answers 200', :'http', :'sqlstate', 200, '00000');
\set args :'created' ', ''soon'''
\ir request.sql
SELECT replay.answered('000 get with timeout=soon answers 400', :'http', :'sqlstate', 400, '22P02');

\set keys '{id}'
\set args '''not-a-session'''
\ir request.sql
SELECT replay.answered('000 get with a malformed id answers 400', :'http', :'sqlstate', 400, '22P02');
\set args '''0190a000-0000-7000-8000-000000000000'''
\ir request.sql
SELECT replay.answered('000 get of a session that does not exist answers 404', :'http', :'sqlstate', 404, 'PT404');
\echo '# 000 GET /rpc/get_agent_session?id=<unknown> ->' :http :error_body


-- ===== worker: start, heartbeat ============================================

\set access 'READ WRITE'
\set method POST
\set headers :post_headers

\set path /rpc/start_session
\set fn start_session
\set keys '{session_id,machine_id}'
SELECT json_build_object('session_id', :'created_prefixed', 'machine_id', 'machine-7')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('start_session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('start_session', :'r_body'::json, replay.spec('session_row'), false);
SELECT replay.is(:'r_body'::json ->> 'status', 'running', 'start_session: running');
SELECT replay.is(:'r_body'::json ->> 'activity', 'busy', 'start_session: busy');
SELECT replay.is(:'r_body'::json ->> 'machine_id', 'machine-7', 'start_session: machine_id stored');
SELECT replay.ok(:'r_body'::json ->> 'connected_at' IS NOT NULL, 'start_session: connected_at set');

\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'created'
\ir request.sql
SELECT replay.check_fields('000 get of a running session', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.is(:'r_body'::json ->> 'hasWorker', 'true', '000 get of a running session: hasWorker');
SELECT replay.is(:'r_body'::json ->> 'state', 'busy', '000 get of a running session: state busy');
\echo '# 000 GET /rpc/get_agent_session?id=... (running) ->' :r_body

\set path /rpc/get_session
\set fn get_session
\set keys '{session_id}'
\set args :'created_prefixed'
\ir request.sql
SELECT replay.answered('001 get answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('001 get of a running, busy session', :'r_body'::json, replay.spec('v1_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'active', '001 get: running and busy is active');
SELECT replay.is(:'r_body'::json ->> 'id', :'created_prefixed', '001 get: the prefixed id');

\set access 'READ WRITE'
\set method POST
\set headers :post_headers
\set path /rpc/heartbeat
\set fn heartbeat
\set keys '{session_id,activity}'
SELECT json_build_object('session_id', :'created', 'activity', 'idle')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('heartbeat answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('heartbeat', :'r_body'::json, replay.spec('heartbeat'));
SELECT replay.is(:'r_body'::json ->> 'activity', 'idle', 'heartbeat: now idle');
SELECT replay.is(:'r_body'::json ->> 'accepted', 'true', 'heartbeat: accepted');
SELECT replay.is(:'r_body'::json ->> 'cancel_requested', 'false', 'heartbeat: no cancel requested');
\echo '# POST /rpc/heartbeat ->' :r_body

SELECT json_build_object('session_id', :'created', 'activity', 'asleep')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('heartbeat with an unknown activity answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "activity" is invalid.', 'heartbeat with an unknown activity: details name it');


-- ===== seed 001: GET by session_<hex> id ===================================

\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_session
\set fn get_session
\set keys '{session_id}'
\set args :'created_prefixed'
\ir request.sql
SELECT replay.check_fields('001 get of a running, idle session', :'r_body'::json, replay.spec('v1_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'idle', '001 get: running and idle is idle');
SELECT replay.ok(:'r_body'::json ->> 'started_at' IS NOT NULL AND json_typeof(:'r_body'::json -> 'finished_at') = 'null',
                 '001 get: started, not finished');
\echo '# 001 GET /rpc/get_session?session_id=session_... ->' :r_body

SELECT quote_literal('session_' || replace(:'a_queued', '-', '')) AS args \gset
\ir request.sql
SELECT replay.check_fields('001 get of a queued session', :'r_body'::json, replay.spec('v1_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'started', '001 get: queued is started');
SELECT replay.is(:'r_body'::json ->> 'organization_id', 'org_a', '001 get: organization_id');

\set args '''session_0190a000zz0070008000000000000000'''
\ir request.sql
SELECT replay.answered('001 get with an invalid session id answers 400', :'http', :'sqlstate', 400, '22P02');
\echo '# 001 GET /rpc/get_session?session_id=<invalid> ->' :http :error_body
\set args '''session_0190a000000070008000000000000000'''
\ir request.sql
SELECT replay.answered('001 get of a session that does not exist answers 404', :'http', :'sqlstate', 404, 'PT404');
\echo '# 001 GET /rpc/get_session?session_id=<unknown> ->' :http :error_body


-- ===== worker: complete, fail, cancel ======================================

\set access 'READ WRITE'
\set method POST
\set headers :post_headers
\set path /rpc/complete_session
\set fn complete_session
\set keys '{session_id,output,summary,output_preview,usage,cost}'
SELECT json_build_object('session_id', :'created', 'output', json_build_object('issues', 12, 'report', 'All triaged'),
                         'summary', 'Summarised 12 open issues', 'output_preview', 'All triaged',
                         'usage', json_build_object('input_tokens', 1200, 'output_tokens', 340),
                         'cost', 0.0123)::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('complete_session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('complete_session', :'r_body'::json, replay.spec('session_row'), false);
SELECT replay.is(:'r_body'::json ->> 'status', 'completed', 'complete_session: completed');
SELECT replay.is(:'r_body'::json ->> 'activity', 'idle', 'complete_session: idle');
SELECT :'r_body'::json ->> 'version' AS completed_version \gset

-- completing again is a no-op; starting it again is an illegal move
\ir request.sql
SELECT replay.answered('complete_session repeated answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'version', :'completed_version', 'complete_session repeated: version unchanged');
\set path /rpc/start_session
\set fn start_session
\set keys '{session_id}'
SELECT json_build_object('session_id', :'created')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('start_session of a completed session answers 409', :'http', :'sqlstate', 409, 'PT409');
\echo '# POST /rpc/start_session (completed) ->' :http :error_body

\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'created'
\ir request.sql
SELECT replay.check_fields('000 get of a completed session', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'completed', '000 get of a completed session: status');
SELECT replay.is(:'r_body'::json ->> 'state', 'idle', '000 get of a completed session: state idle');
SELECT replay.is(:'r_body'::json ->> 'hasWorker', 'false', '000 get of a completed session: no worker');
SELECT replay.is(:'r_body'::json -> 'output' ->> 'issues', '12', '000 get of a completed session: output');
SELECT replay.is(:'r_body'::json ->> 'cost', '0.0123', '000 get of a completed session: cost');
SELECT replay.is(:'r_body'::json ->> 'summary', 'Summarised 12 open issues', '000 get of a completed session: summary');
\echo '# 000 GET /rpc/get_agent_session?id=... (completed) ->' :r_body

\set path /rpc/get_session
\set fn get_session
\set keys '{session_id}'
\set args :'created_prefixed'
\ir request.sql
SELECT replay.check_fields('001 get of a completed session', :'r_body'::json, replay.spec('v1_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'idle', '001 get: completed is idle');
SELECT replay.ok(:'r_body'::json ->> 'finished_at' IS NOT NULL, '001 get of a completed session: finished_at set');
SELECT replay.is(:'r_body'::json -> 'usage' ->> 'output_tokens', '340', '001 get of a completed session: usage');

-- a session that fails, with the seed's error object
\set access 'READ WRITE'
\set method POST
\set headers :post_headers
\set path /rpc/create_agent_session
\set fn create_agent_session
\set keys '{prompt,workspaceElementType,workspaceElementId,type}'
\set body '{"prompt":"Build a connection","workspaceElementType":"connection","workspaceElementId":"conn_9","type":"build"}'
\set args :'body'
\ir request.sql
SELECT :'r_body'::json ->> 'id' AS failing \gset
\set path /rpc/start_session
\set fn start_session
\set keys '{session_id}'
SELECT json_build_object('session_id', :'failing')::text AS body \gset
\set args :'body'
\ir request.sql
\set path /rpc/fail_session
\set fn fail_session
\set keys '{session_id,error}'
SELECT json_build_object('session_id', :'failing',
                         'error', json_build_object('message', 'The upstream API rejected the credentials',
                                                    'type', 'bad_request', 'key', 'invalid_credentials',
                                                    'data', json_build_object('status', 401),
                                                    'stack', json_build_object(),
                                                    'logs', json_build_array(json_build_object('level', 'error'))))::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('fail_session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'status', 'failed', 'fail_session: failed');
SELECT replay.is(:'r_body'::json ->> 'end_reason', 'error', 'fail_session: end_reason error');

\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id}'
\set args :'failing'
\ir request.sql
SELECT replay.check_fields('000 get of a failed session', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.check_fields('000 get of a failed session: error', :'r_body'::json -> 'error', replay.spec('membrane_error'));
SELECT replay.is(:'r_body'::json -> 'error' ->> 'type', 'bad_request', '000 get of a failed session: error.type');
\echo '# 000 GET /rpc/get_agent_session?id=... (failed) ->' :r_body

-- a session cancelled before it starts; its heartbeat tells the worker
\set access 'READ WRITE'
\set method POST
\set headers :post_headers
\set path /rpc/create_agent_session
\set fn create_agent_session
\set keys '{prompt}'
\set body '{"prompt":"Cancel me"}'
\set args :'body'
\ir request.sql
SELECT :'r_body'::json ->> 'id' AS cancelling \gset
\set path /rpc/cancel_session
\set fn cancel_session
\set keys '{session_id,reason}'
SELECT json_build_object('session_id', :'cancelling', 'reason', 'user pressed stop')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('cancel_session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'status', 'cancelled', 'cancel_session: cancelled');
\set path /rpc/heartbeat
\set fn heartbeat
\set keys '{session_id}'
SELECT json_build_object('session_id', :'cancelling')::text AS body \gset
\set args :'body'
\ir request.sql
SELECT replay.answered('heartbeat of a cancelled session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'cancel_requested', 'true', 'heartbeat of a cancelled session: cancel_requested');
SELECT replay.is(:'r_body'::json ->> 'terminal', 'true', 'heartbeat of a cancelled session: terminal');
SELECT replay.is(:'r_body'::json ->> 'accepted', 'false', 'heartbeat of a cancelled session: not accepted');

-- missing ids are field errors too
\set path /rpc/complete_session
\set fn complete_session
\set keys '{}'
\set body '{}'
\set args :'body'
\ir request.sql
SELECT replay.answered('complete_session without session_id answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "session_id" is invalid.', 'complete_session without session_id: details name it');


-- ===== seed 002: list sessions for an agent ================================

\set access 'READ ONLY'
\set method GET
\set headers :get_headers
\set path /rpc/list_sessions
\set fn list_sessions
\set keys '{agent_id}'
\set args '''agent_a'''
\ir request.sql
SELECT replay.answered('002 list answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('002 list', :'r_body'::json, replay.spec('agent_session_list'));
SELECT replay.is(:'r_body'::json ->> 'total', '5', '002 list: total counts the agent''s five sessions');
SELECT replay.is(json_array_length(:'r_body'::json -> 'sessions')::text, '5', '002 list: five sessions');
SELECT replay.check_fields('002 list: sessions[' || i || ']', v, replay.spec('session_view'))
  FROM json_array_elements(:'r_body'::json -> 'sessions') WITH ORDINALITY AS e(v, i);
SELECT replay.check_fields('002 list: sessions[' || i || '].session', v -> 'session', replay.spec('session_record'))
  FROM json_array_elements(:'r_body'::json -> 'sessions') WITH ORDINALITY AS e(v, i);
SELECT replay.ok(bool_and((v ->> 'is_running')::boolean = (v -> 'session' ->> 'id' IN (:'a_live', :'a_stale'))),
                 '002 list: the running, busy sessions are running; queued and ended ones are not')
  FROM json_array_elements(:'r_body'::json -> 'sessions') AS e(v);
SELECT replay.ok(array_agg(v -> 'session' ->> 'id' ORDER BY i) = array_agg(v -> 'session' ->> 'id' ORDER BY (v -> 'session' ->> 'id') DESC),
                 '002 list: newest first')
  FROM json_array_elements(:'r_body'::json -> 'sessions') WITH ORDINALITY AS e(v, i);
SELECT json_build_object('sessions', json_build_array(:'r_body'::json -> 'sessions' -> 0), 'total', :'r_body'::json -> 'total') AS first_of_list \gset
\echo '# 002 GET /rpc/list_sessions?agent_id=agent_a (first item shown) ->' :first_of_list

\set keys '{agent_id,page_size}'
\set args '''agent_a'', ''2'''
\ir request.sql
SELECT replay.is(json_array_length(:'r_body'::json -> 'sessions')::text, '2', '002 list with page_size=2: two sessions');
SELECT replay.is(:'r_body'::json ->> 'total', '5', '002 list with page_size=2: total still 5');
SELECT :'r_body'::json -> 'sessions' -> 1 -> 'session' ->> 'id' AS page_end \gset
\set keys '{agent_id,page_size,after}'
\set args '''agent_a'', ''2'', ' :'page_end'
\ir request.sql
SELECT replay.ok((:'r_body'::json -> 'sessions' -> 0 -> 'session' ->> 'id') < :'page_end', '002 list after the first page: the next sessions');

\set keys '{}'
\set args ''
\ir request.sql
SELECT replay.answered('002 list without agent_id answers 400', :'http', :'sqlstate', 400, '22023');
SELECT replay.is(:'error_body'::json ->> 'details', 'Field "agent_id" is invalid.', '002 list without agent_id: details name it');


-- ===== seed 004: a project's active sessions ===============================

\set path /rpc/project_agent_sessions
\set fn project_agent_sessions
\set keys '{id}'
\set args '''2489E9AD-2EE2-8E00-8EC9-32D5F69181C0'''
\ir request.sql
SELECT replay.answered('004 project sessions answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('004 project sessions', :'r_body'::json, replay.spec('project_sessions'));
SELECT replay.check_fields('004 project sessions: sessions[' || i || ']', v, replay.spec('project_session'))
  FROM json_array_elements(:'r_body'::json -> 'sessions') WITH ORDINALITY AS e(v, i);
SELECT replay.ok(array_agg(v ->> 'session_id' ORDER BY v ->> 'session_id')
                 = (SELECT array_agg(id::text ORDER BY id::text) FROM replay.fixtures
                     WHERE name IN ('a_live', 'a_queued', 'a_ended_recently')),
                 '004 active=true (default): live sessions active within 5 minutes and the one that ended 2 minutes ago')
  FROM json_array_elements(:'r_body'::json -> 'sessions') AS e(v);
SELECT replay.ok(array_agg(v ->> 'last_activity_at' ORDER BY i) = array_agg(v ->> 'last_activity_at' ORDER BY v ->> 'last_activity_at' DESC),
                 '004 active=true: most recently active first')
  FROM json_array_elements(:'r_body'::json -> 'sessions') WITH ORDINALITY AS e(v, i);
\echo '# 004 GET /rpc/project_agent_sessions?id=2489E9AD-... ->' :r_body

\set keys '{id,active}'
\set args '''2489e9ad-2ee2-8e00-8ec9-32d5f69181c0'', ''false'''
\ir request.sql
SELECT replay.answered('004 project sessions with active=false answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.ok(array_agg(v ->> 'session_id' ORDER BY v ->> 'session_id')
                 = (SELECT array_agg(id::text ORDER BY id::text) FROM replay.fixtures WHERE name LIKE 'a\_%'),
                 '004 active=false: all five of the project''s sessions')
  FROM json_array_elements(:'r_body'::json -> 'sessions') AS e(v);

\set args '''2489e9ad-2ee2-8e00-8ec9-32d5f69181c0'', ''maybe'''
\ir request.sql
SELECT replay.answered('004 project sessions with active=maybe answers 400', :'http', :'sqlstate', 400, '22P02');
\set keys '{id}'
\set args '''project-1'''
\ir request.sql
SELECT replay.answered('004 project sessions with a malformed project id answers 400', :'http', :'sqlstate', 400, '22P02');


-- ===== seed 000 with wait=true (needs agent_sessions.wait_for_session) =====

\if :have_wait
\set path /rpc/get_agent_session
\set fn get_agent_session
\set keys '{id,wait,timeout}'
-- already settled (completed): answers at once
\set args :'created' ', ''true'', ''5'''
\ir request.sql
SELECT replay.answered('000 get with wait=true on a settled session answers 200', :'http', :'sqlstate', 200, '00000');
SELECT replay.check_fields('000 get with wait=true', :'r_body'::json, replay.spec('membrane_session'));
SELECT replay.is(:'r_body'::json ->> 'status', 'completed', '000 get with wait=true on a settled session: the session');
-- still busy: answers after the timeout with the session as it is
\set args :'a_live' ', ''true'', ''1'''
\ir request.sql
SELECT replay.answered('000 get with wait=true on a busy session answers 200 at the timeout', :'http', :'sqlstate', 200, '00000');
SELECT replay.is(:'r_body'::json ->> 'state', 'busy', '000 get with wait=true at the timeout: still busy');
\set args :'created' ', ''true'', ''61'''
\ir request.sql
SELECT replay.answered('000 get with wait=true and timeout=61 answers 400', :'http', :'sqlstate', 400, '22023');
\else
\echo '# skipped: 000 with wait=true (agent_sessions.wait_for_session is not installed)'
\endif
