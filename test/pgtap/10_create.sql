-- create_session: defaults, every parameter, validation, claims, idempotency
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(44);

-- A session with only its owner
SELECT * FROM agent_sessions.create_session(user_id => 'u1') \gset s_
SELECT is(:'s_status'::text, 'queued', 'a new session is queued');
SELECT is(:'s_activity'::text, 'busy', 'a new session is busy');
SELECT is(:'s_version'::bigint, 1::bigint, 'a new session is at version 1');
SELECT ok(:'s_created_at'::timestamptz = :'s_updated_at'::timestamptz
          AND :'s_created_at'::timestamptz = :'s_last_activity_at'::timestamptz,
          'created_at, updated_at and last_activity_at are one reading of the clock');
SELECT ok(:'s_created_at'::timestamptz BETWEEN now() AND clock_timestamp(),
          'created_at is the time of the call');
SELECT is(
    (SELECT ROW(started_at, finished_at, connected_at, end_reason, output, error,
                request_hash, idempotency_key, organization_id)::text
       FROM agent_sessions.sessions WHERE id = :'s_id'),
    ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::text,
    'timestamps of later steps, payloads and the tenant are unset');
SELECT is(
    (SELECT ROW(tags, metadata, capabilities, usage, cost, is_external)::text
       FROM agent_sessions.sessions WHERE id = :'s_id'),
    ROW('{}'::text[], '{}'::jsonb, '[]'::jsonb, '{}'::jsonb, 0::numeric, false)::text,
    'collections, usage, cost and is_external take their defaults');
SELECT is(
    (SELECT array_agg(ROW(from_status, to_status, from_activity, to_activity, version, actor, reason)::text)
       FROM agent_sessions.session_events WHERE session_id = :'s_id'),
    ARRAY[ROW(NULL, 'queued', NULL, 'busy', 1, current_user, NULL)::text],
    'creation is recorded as one event, with the role as actor');
SELECT ok((agent_sessions.create_session(user_id => 'u1')).id > :'s_id'::uuid,
          'ids of later sessions sort after earlier ones');

-- Every parameter sets the column of the same name
SELECT * FROM agent_sessions.create_session(
    user_id => 'u2', prompt => 'Summarise the report', organization_id => 'org',
    workspace_id => 'ws', project_id => '01933b5a-0000-7000-8000-00000000000a',
    agent_id => 'agent-7', agent_name => 'membrane', machine_id => 'm-1',
    caller_role => 'admin', caller_origin => 'cli', tenant_id => 'tenant',
    org_workspace_id => 'ows', team_id => 'team', type => 'chat',
    model => 'anthropic/claude-opus-4.5', model_id => 'opus', title => 'Report',
    preview => 'Summ', workspace_element_type => 'connection',
    workspace_element_id => 'conn-1', is_external => true, source => 'schedule',
    source_schedule_id => 'sched-1', capabilities => '["read", "write"]',
    config => '{"temperature": 0}', agent_state => '{"turn": 3}',
    tags => '{red,blue}', metadata => '{"k": "v"}',
    inactivity_timeout => '5 minutes', start_timeout => '30 seconds',
    idempotency_key => 'key-all') \gset a_
SELECT ok(
    (SELECT to_jsonb(s) @> jsonb_build_object(
        'user_id', 'u2', 'prompt', 'Summarise the report', 'organization_id', 'org',
        'workspace_id', 'ws', 'project_id', '01933b5a-0000-7000-8000-00000000000a',
        'agent_id', 'agent-7', 'agent_name', 'membrane', 'machine_id', 'm-1',
        'caller_role', 'admin', 'caller_origin', 'cli', 'tenant_id', 'tenant',
        'org_workspace_id', 'ows', 'team_id', 'team', 'type', 'chat',
        'model', 'anthropic/claude-opus-4.5', 'model_id', 'opus', 'title', 'Report',
        'preview', 'Summ', 'workspace_element_type', 'connection',
        'workspace_element_id', 'conn-1', 'is_external', true, 'source', 'schedule',
        'source_schedule_id', 'sched-1', 'capabilities', '["read", "write"]'::jsonb,
        'config', '{"temperature": 0}'::jsonb, 'agent_state', '{"turn": 3}'::jsonb,
        'tags', '["red", "blue"]'::jsonb, 'metadata', '{"k": "v"}'::jsonb,
        'inactivity_timeout', '00:05:00', 'start_timeout', '00:00:30',
        'idempotency_key', 'key-all')
       FROM agent_sessions.sessions s WHERE id = :'a_id'),
    'every parameter sets its column');
SELECT is(:'a_connected_at'::timestamptz, :'a_created_at'::timestamptz,
          'a session created with a machine_id is connected at creation');
SELECT ok(:'a_request_hash' <> '', 'a keyed create stores the digest of its request');

-- Validation: each field error is 22023 and names the field
SELECT is_empty(
    $$SELECT f, pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', %I => '''')', f))
        FROM unnest(ARRAY['prompt', 'organization_id', 'workspace_id', 'agent_id',
                          'agent_name', 'machine_id', 'caller_role', 'caller_origin',
                          'tenant_id', 'org_workspace_id', 'team_id', 'type', 'model',
                          'model_id', 'workspace_element_type', 'workspace_element_id',
                          'source', 'source_schedule_id', 'idempotency_key']) AS f
       WHERE pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', %I => '''')', f))
             IS DISTINCT FROM format('22023: invalid %s: must not be empty / Field "%s" is invalid.', f, f)$$,
    'every text field that must not be empty says so with 22023, naming the field');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(user_id => '')$$),
          '22023: invalid user_id: must not be empty / Field "user_id" is invalid.',
          'an empty user_id is refused');
SELECT lives_ok($$SELECT agent_sessions.create_session(user_id => 'u', title => '', preview => '')$$,
                'title and preview may be empty');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(user_id => 'u', tags => '{a,NULL}')$$),
          '22023: invalid tags: must not contain NULL / Field "tags" is invalid.',
          'a NULL tag is refused');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(user_id => 'u', tags => '{a,""}')$$),
          '22023: invalid tags: must not contain an empty tag / Field "tags" is invalid.',
          'an empty tag is refused');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(user_id => 'u', tags => '{{a},{b}}')$$),
          '22023: invalid tags: must be a one-dimensional array / Field "tags" is invalid.',
          'a two-dimensional tags array is refused');
SELECT is_empty(
    $$SELECT f, v, pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', %I => %L::jsonb)', f, v))
        FROM unnest(ARRAY['metadata', 'config', 'agent_state']) AS f,
             unnest(ARRAY['[]', '[{}]', '1', '"text"', 'true', 'null']) AS v
       WHERE pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', %I => %L::jsonb)', f, v))
             IS DISTINCT FROM format('22023: invalid %s: must be a JSON object / Field "%s" is invalid.', f, f)$$,
    'metadata, config and agent_state must be JSON objects');
SELECT is_empty(
    $$SELECT v FROM unnest(ARRAY['{}', '{"a": [1]}', '1', '"read"', 'null']) AS v
       WHERE pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', capabilities => %L::jsonb)', v))
             IS DISTINCT FROM '22023: invalid capabilities: must be a JSON array / Field "capabilities" is invalid.'$$,
    'capabilities must be a JSON array');
SELECT is_empty(
    $$SELECT f, v FROM unnest(ARRAY['inactivity_timeout', 'start_timeout']) AS f,
                       unnest(ARRAY['0', '-1 second', '1 day -24 hours']) AS v
       WHERE pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', %I => %L::interval)', f, v))
             IS DISTINCT FROM format('22023: invalid %s: must be greater than zero / Field "%s" is invalid.', f, f)$$,
    'timeouts must be greater than zero');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(prompt => 'p')$$),
          '22023: invalid user_id: must be given / Field "user_id" is invalid.',
          'without user_id and without a user claim, create refuses');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => %L)', repeat('x', 201))),
          '22023: invalid user_id: must be at most 200 characters / Field "user_id" is invalid.',
          'ids are at most 200 characters');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.create_session(user_id => ''u'', idempotency_key => %L)', repeat('é', 201))),
          '22023: invalid idempotency_key: must be at most 200 characters / Field "idempotency_key" is invalid.',
          'the limit counts characters, not bytes');
SELECT lives_ok(format('SELECT agent_sessions.create_session(user_id => %L, organization_id => %L, idempotency_key => %L, agent_id => %L)',
                       repeat(U&'\+01F600', 200), repeat(U&'\+01F601', 200),
                       repeat(U&'\+01F602', 200), repeat(U&'\+01F603', 200)),
                'the longest ids, at four bytes a character, fit every index together');
SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold after the creates');

-- The caller's claims fill in the owner
SET LOCAL request.jwt.claims = '{"sub": "alice", "org_id": "acme", "role": "web"}';
SELECT is((SELECT ROW(user_id, organization_id)::text FROM agent_sessions.create_session(prompt => 'p')),
          ROW('alice', 'acme')::text,
          'user_id and organization_id default to the request.jwt.claims claims');
SELECT is((SELECT ROW(user_id, organization_id)::text
             FROM agent_sessions.create_session(user_id => 'bob', organization_id => 'other')),
          ROW('bob', 'other')::text,
          'explicit user_id and organization_id win over the claims');
SELECT is((SELECT actor FROM agent_sessions.session_events ORDER BY event_id DESC LIMIT 1),
          'alice', 'the event actor is the user claim');
SET LOCAL request.jwt.claims = '{"sub": 42}';
SELECT is((SELECT user_id FROM agent_sessions.create_session()), '42',
          'a numeric user claim is used as text');
SET LOCAL agent_sessions.user_claim = 'email';
SET LOCAL request.jwt.claims = '{"sub": "x", "email": "carol@example.com"}';
SELECT is((SELECT user_id FROM agent_sessions.create_session()), 'carol@example.com',
          'agent_sessions.user_claim names the claim');
RESET agent_sessions.user_claim;
RESET request.jwt.claims;
SET LOCAL "jwt.claims.sub" = 'dave';
SET LOCAL "jwt.claims.org_id" = 'dave-org';
SELECT is((SELECT ROW(user_id, organization_id)::text FROM agent_sessions.create_session()),
          ROW('dave', 'dave-org')::text,
          'PostGraphile jwt.claims.* settings are read too');
RESET "jwt.claims.sub";
RESET "jwt.claims.org_id";
SET LOCAL "request.jwt.claim.sub" = 'erin';
SELECT is((SELECT user_id FROM agent_sessions.create_session()), 'erin',
          'legacy request.jwt.claim.* settings are read too');
RESET "request.jwt.claim.sub";
SET LOCAL request.jwt.claims = '{"sub": ""}';
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.create_session()$$), '22023',
          'an empty user claim does not stand in for user_id');
RESET request.jwt.claims;

-- Idempotency
SELECT id AS k_id FROM agent_sessions.create_session(user_id => 'k', prompt => 'p', tags => '{a}',
    metadata => '{"x": 1, "y": 2}', idempotency_key => 'key-1') \gset
SELECT count(*) AS k_events FROM agent_sessions.session_events \gset
SELECT is((agent_sessions.create_session(user_id => 'k', prompt => 'p', tags => '{a}',
              metadata => '{"y": 2, "x": 1}', idempotency_key => 'key-1')).id,
          :'k_id'::uuid, 'the same key with the same request returns the first session');
SELECT is((SELECT count(*) FROM agent_sessions.sessions WHERE idempotency_key = 'key-1'), 1::bigint,
          'and inserts no second row');
SELECT is((SELECT count(*) FROM agent_sessions.session_events), :'k_events'::bigint,
          'and records no event');
SELECT is((agent_sessions.start_session(:'k_id')).status::text, 'running', 'the keyed session starts');
SELECT is((SELECT ROW(id, status)::text
             FROM agent_sessions.create_session(user_id => 'k', prompt => 'p', tags => '{a}',
                  metadata => '{"x": 1, "y": 2}', idempotency_key => 'key-1')),
          ROW(:'k_id'::uuid, 'running')::text,
          'a retry after the session moved on returns it as it is now');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.create_session(user_id => 'k', prompt => 'q',
              tags => '{a}', metadata => '{"x": 1, "y": 2}', idempotency_key => 'key-1')$$),
          format('PT409: idempotency key "key-1" was already used with a different request / Session %s was created with this key.', :'k_id'),
          'the same key with another request is a conflict that names the first session');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.create_session(user_id => 'k', prompt => 'p',
              tags => '{a}', metadata => '{"x": 1, "y": 2}', agent_id => 'a', idempotency_key => 'key-1')$$),
          'PT409', 'an added parameter makes another request');
SELECT is((SELECT count(DISTINCT id) FROM (
              SELECT (agent_sessions.create_session(user_id => 'k', prompt => 'p', tags => '{a}',
                       metadata => '{"x": 1, "y": 2}', organization_id => o, idempotency_key => 'key-1')).id
                FROM unnest(ARRAY['o1', 'o2', 'o1']) AS o
              UNION ALL
              SELECT (agent_sessions.create_session(user_id => 'k2', prompt => 'p', tags => '{a}',
                       metadata => '{"x": 1, "y": 2}', idempotency_key => 'key-1')).id
              UNION ALL SELECT :'k_id'::uuid) AS ids),
          4::bigint,
          'keys are scoped to organization and user: same user in two organizations, another user, no organization');
SET LOCAL request.jwt.claims = '{"sub": "k"}';
SELECT is((agent_sessions.create_session(prompt => 'p', tags => '{a}',
              metadata => '{"x": 1, "y": 2}', idempotency_key => 'key-1')).id,
          :'k_id'::uuid, 'a user given by claim retries the same session');
RESET request.jwt.claims;
SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold after the keyed creates');

SELECT * FROM finish();
ROLLBACK;
