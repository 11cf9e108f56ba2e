-- transition() over the full status matrix, the shorthands, compare-and-set,
-- payloads, and add_usage
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(69);

-- One cell of the matrix: transition() from "f" to "t", checked against
-- the lifecycle, as one pgTAP assertion.
CREATE FUNCTION pg_temp.check_move(f agent_sessions.session_status, t agent_sessions.session_status)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    sid uuid := pg_temp.session_in(f, 'matrix');
    before agent_sessions.sessions;
    after agent_sessions.sessions;
    returned agent_sessions.sessions;
    events_before bigint;
    new_events text[];
    legal boolean := (f, t) IN (('queued', 'starting'), ('queued', 'running'), ('queued', 'failed'),
                                ('queued', 'cancelled'), ('starting', 'running'), ('starting', 'failed'),
                                ('starting', 'cancelled'), ('running', 'completed'), ('running', 'failed'),
                                ('running', 'cancelled'));
    steps int := CASE WHEN (f, t) = ('queued', 'running') THEN 2 ELSE 1 END;
    state text;
    message text;
    problems text[] := '{}';
BEGIN
    SELECT * INTO before FROM agent_sessions.sessions s WHERE s.id = sid;
    SELECT count(*) INTO events_before FROM agent_sessions.session_events e WHERE e.session_id = sid;
    BEGIN
        returned := agent_sessions.transition(sid, t, reason => 'matrix');
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        message := SQLERRM;
    END;
    SELECT * INTO after FROM agent_sessions.sessions s WHERE s.id = sid;
    SELECT array_agg(e.from_status || '>' || e.to_status || ' ' || e.from_activity || '>' || e.to_activity
                     || ' v' || e.version || ' ' || e.actor || ' ' || e.reason ORDER BY e.event_id)
      INTO new_events
      FROM (SELECT * FROM agent_sessions.session_events e WHERE e.session_id = sid
             ORDER BY e.event_id OFFSET events_before) e;

    IF f = t THEN
        IF state IS NOT NULL THEN problems := problems || ('raised ' || state || ': ' || message); END IF;
        IF returned::text IS DISTINCT FROM before::text THEN problems := problems || 'did not return the row unchanged'::text; END IF;
        IF after::text IS DISTINCT FROM before::text THEN problems := problems || 'changed the row'::text; END IF;
        IF new_events IS NOT NULL THEN problems := problems || 'recorded an event'::text; END IF;
    ELSIF legal THEN
        IF state IS NOT NULL THEN problems := problems || ('raised ' || state || ': ' || message); END IF;
        IF returned::text IS DISTINCT FROM after::text THEN problems := problems || 'did not return the new row'::text; END IF;
        IF after.status <> t THEN problems := problems || ('status is ' || after.status); END IF;
        IF after.version <> before.version + steps THEN problems := problems || ('version is ' || after.version); END IF;
        IF NOT (after.updated_at > before.updated_at AND after.last_activity_at = after.updated_at) THEN
            problems := problems || 'updated_at and last_activity_at not stamped'::text;
        END IF;
        IF (t = 'running') <> (after.started_at IS NOT DISTINCT FROM after.updated_at)
           AND NOT (t <> 'running' AND f = 'running') THEN
            problems := problems || 'started_at wrong'::text;
        END IF;
        IF f = 'running' AND after.started_at IS DISTINCT FROM before.started_at THEN
            problems := problems || 'started_at moved'::text;
        END IF;
        IF t IN ('completed', 'failed', 'cancelled') THEN
            IF after.finished_at IS DISTINCT FROM after.updated_at THEN problems := problems || 'finished_at not stamped'::text; END IF;
            IF after.activity <> 'idle' THEN problems := problems || 'terminal but busy'::text; END IF;
            IF after.end_reason IS DISTINCT FROM (CASE t WHEN 'completed' THEN 'completed' WHEN 'failed' THEN 'error' ELSE 'cancelled' END) THEN
                problems := problems || ('end_reason is ' || coalesce(after.end_reason, 'NULL'));
            END IF;
        ELSIF after.finished_at IS NOT NULL OR after.end_reason IS NOT NULL THEN
            problems := problems || 'finished_at or end_reason on a live session'::text;
        END IF;
        IF t = 'running' AND after.activity <> 'busy' THEN problems := problems || 'running but idle'::text; END IF;
        IF new_events IS DISTINCT FROM (CASE
               WHEN steps = 2 THEN ARRAY[format('queued>starting busy>busy v%s %s matrix', before.version + 1, current_user),
                                         format('starting>running busy>busy v%s %s matrix', before.version + 2, current_user)]
               ELSE ARRAY[format('%s>%s %s>%s v%s %s matrix', f, t, before.activity, after.activity, after.version, current_user)]
           END) THEN
            problems := problems || ('events: ' || coalesce(new_events::text, 'none'));
        END IF;
    ELSE
        IF state IS DISTINCT FROM 'PT409' OR message <> format('cannot move session %s from %s to %s', sid, f, t) THEN
            problems := problems || ('raised ' || coalesce(state || ': ' || message, 'nothing'));
        END IF;
        IF after::text IS DISTINCT FROM before::text THEN problems := problems || 'changed the row'::text; END IF;
        IF new_events IS NOT NULL THEN problems := problems || 'recorded an event'::text; END IF;
    END IF;
    IF EXISTS (SELECT FROM pg_temp.broken_invariants()) THEN
        problems := problems || 'broke an invariant'::text;
    END IF;

    RETURN ok(problems = '{}',
              format('%s -> %s: %s', f, t, CASE WHEN f = t THEN 'no-op' WHEN legal THEN 'moves' ELSE 'PT409' END))
           || CASE WHEN problems = '{}' THEN '' ELSE E'\n' || diag(array_to_string(problems, '; ')) END;
END $$;

-- The full 6x6 matrix (36 assertions)
SELECT pg_temp.check_move(f, t)
  FROM unnest(enum_range(NULL::agent_sessions.session_status)) WITH ORDINALITY AS a(f, i),
       unnest(enum_range(NULL::agent_sessions.session_status)) WITH ORDINALITY AS b(t, j)
 ORDER BY i, j;

\o /dev/null
SELECT pg_temp.session_in('running') AS done \gset
SELECT agent_sessions.complete_session(:'done');
\o
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.cancel_session(%L)', :'done')),
          format('PT409: cannot move session %s from completed to cancelled / The session is completed, and completed sessions are final.', :'done'),
          'the conflict names the current and the requested status, and says terminal is final');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.transition('01933b5a-0000-7000-8000-000000000000', 'running')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'moving a missing session is PT404');

-- start_session
SELECT id AS q FROM agent_sessions.create_session(user_id => 'start') \gset
SELECT * FROM agent_sessions.start_session(:'q', machine_id => 'box-1', reason => 'picked up') \gset q_
SELECT is(
    (SELECT array_agg(ROW(from_status, to_status, version, reason, at = :'q_updated_at'::timestamptz)::text ORDER BY event_id)
       FROM agent_sessions.session_events WHERE session_id = :'q' AND from_status IS NOT NULL),
    ARRAY[ROW('queued', 'starting', 2, 'picked up', true)::text,
          ROW('starting', 'running', 3, 'picked up', true)::text],
    'start_session from queued records both steps at one time');
SELECT is(ROW(:'q_status', :'q_activity', :'q_machine_id', :'q_connected_at'::timestamptz = :'q_updated_at'::timestamptz,
              :'q_started_at'::timestamptz = :'q_updated_at'::timestamptz)::text,
          ROW('running', 'busy', 'box-1', true, true)::text,
          'and leaves it running, busy, on its machine, connected and started now');
SELECT is((agent_sessions.start_session(:'q', machine_id => 'box-2')).machine_id, 'box-1',
          'starting a running session again is a no-op (its machine stays)');

-- Compare-and-set on the version
SELECT id AS cas FROM agent_sessions.create_session(user_id => 'cas') \gset
SELECT is((agent_sessions.start_session(:'cas', expected_version => 1)).version, 3::bigint,
          'the expected version lets the move through');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.complete_session(%L, expected_version => 2)', :'cas')),
          format('PT409: session %s is at version 3, not 2 / The session is running.', :'cas'),
          'a stale expected version is PT409');
SELECT is((SELECT status FROM agent_sessions.sessions WHERE id = :'cas'), 'running',
          'and moves nothing');
SELECT is((agent_sessions.complete_session(:'cas', expected_version => 3)).version, 4::bigint,
          'the current version moves it');
SELECT is((agent_sessions.complete_session(:'cas', expected_version => 3)).status, 'completed',
          'repeating the move already made is a no-op, even with the now stale version');
SELECT is(pg_temp.sqlstate_of(format('SELECT agent_sessions.cancel_session(%L, expected_version => 4)', :'cas')),
          'PT409', 'the current version does not make an illegal move legal');

-- complete_session payloads
SELECT id AS c FROM agent_sessions.create_session(user_id => 'pay') \gset
\o /dev/null
SELECT agent_sessions.start_session(:'c');
SELECT agent_sessions.add_usage(:'c', '{"input_tokens": 100, "output_tokens": 10}', 0.5);
\o
SELECT * FROM agent_sessions.complete_session(:'c', output => '{"answer": 42}', summary => 'Done',
    output_preview => 'The answer is 42', usage => '{"input_tokens": 20, "cache_read_tokens": 5}',
    cost => 0.25, reason => 'finished turn') \gset c_
SELECT is(ROW(:'c_status', :'c_activity', :'c_end_reason', :'c_output'::jsonb, :'c_summary',
              :'c_output_preview', :'c_usage'::jsonb, :'c_cost'::numeric)::text,
          ROW('completed', 'idle', 'completed', '{"answer": 42}'::jsonb, 'Done', 'The answer is 42',
              '{"input_tokens": 120, "output_tokens": 10, "cache_read_tokens": 5}'::jsonb, 0.75)::text,
          'complete_session stores output, summary and preview, and adds usage and cost');
SELECT is((SELECT reason FROM agent_sessions.session_events WHERE session_id = :'c' ORDER BY event_id DESC LIMIT 1),
          'finished turn', 'the reason is recorded on the event');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.complete_session(%L, output => ''[1]'')', :'q')),
          '22023: invalid output: must be a JSON object / Field "output" is invalid.',
          'output must be a JSON object');

-- fail_session payloads
SELECT is((agent_sessions.fail_session(pg_temp.session_in('running'),
              error => '{"message": "Upstream said no", "type": "bad_request", "key": "upstream", "data": {"status": 400}}')).error,
          '{"message": "Upstream said no", "type": "bad_request", "key": "upstream", "data": {"status": 400}}'::jsonb,
          'fail_session stores the error object as given');
SELECT is((agent_sessions.fail_session(pg_temp.session_in('starting'),
              error => '{"message": "x", "type": "internal"}', message => 'Worker crashed')).error,
          '{"message": "Worker crashed", "type": "internal"}'::jsonb,
          'message replaces the error''s message');
SELECT is((SELECT ROW(error, end_reason)::text FROM agent_sessions.fail_session(pg_temp.session_in('queued'), message => 'No capacity')),
          ROW('{"message": "No capacity"}'::jsonb, 'error')::text,
          'message alone makes the error object; end_reason defaults to error');
SELECT is((agent_sessions.fail_session(pg_temp.session_in('running'), end_reason => 'inactivity_timeout')).end_reason,
          'inactivity_timeout', 'end_reason can be given');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.fail_session(pg_temp.session_in('running'), error => '"oops"')$$),
          '22023: invalid error: must be a JSON object / Field "error" is invalid.',
          'error must be a JSON object');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.fail_session(pg_temp.session_in('running'), end_reason => '')$$),
          '22023: invalid end_reason: must not be empty / Field "end_reason" is invalid.',
          'end_reason must not be empty');

-- cancel_session
SELECT * FROM agent_sessions.cancel_session(pg_temp.session_in('starting'), reason => 'user pressed stop') \gset x_
SELECT is(ROW(:'x_status', :'x_activity', :'x_end_reason')::text, ROW('cancelled', 'idle', 'cancelled')::text,
          'cancel_session ends the session idle with end_reason cancelled');
SELECT is((SELECT reason FROM agent_sessions.session_events WHERE session_id = :'x_id' ORDER BY event_id DESC LIMIT 1),
          'user pressed stop', 'and records the reason');

-- add_usage
SELECT id AS u FROM agent_sessions.create_session(user_id => 'usage') \gset
\o /dev/null
SELECT agent_sessions.add_usage(:'u', jsonb_build_object('input_tokens', i, 'output_tokens', 1), 0.01)
  FROM generate_series(1, 100) AS i;
\o
SELECT is((SELECT ROW(usage, cost, version)::text FROM agent_sessions.sessions WHERE id = :'u'),
          ROW('{"input_tokens": 5050, "output_tokens": 100}'::jsonb, 1.00, 101)::text,
          'add_usage sums per key and adds cost, one version per call');
SELECT is((agent_sessions.add_usage(:'u', '{"model": "opus", "input_tokens": 1.5}')).usage,
          '{"model": "opus", "input_tokens": 5051.5, "output_tokens": 100}'::jsonb,
          'a new key is added; a number under an existing key is summed');
SELECT is((agent_sessions.add_usage(:'u', '{"model": "sonnet", "input_tokens": "n/a"}')).usage,
          '{"model": "sonnet", "input_tokens": "n/a", "output_tokens": 100}'::jsonb,
          'other values replace the stored ones');
SELECT is((SELECT count(*) FROM agent_sessions.session_events WHERE session_id = :'u'), 1::bigint,
          'usage is not a status or activity change: no event');
SELECT is((agent_sessions.add_usage(:'u')).version, 103::bigint,
          'nothing to add changes nothing, not even the version');
SELECT is((agent_sessions.add_usage(:'u', '{}', 0)).version, 103::bigint,
          'nor does an empty usage and zero cost');
SELECT is((agent_sessions.add_usage(:'done', '{"output_tokens": 7}', 1)).usage, '{"output_tokens": 7}'::jsonb,
          'usage can be added to an ended session');
SELECT is(pg_temp.error_of(format('SELECT agent_sessions.add_usage(%L, ''[1]'')', :'u')),
          '22023: invalid usage: must be a JSON object / Field "usage" is invalid.',
          'usage must be a JSON object');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.add_usage('01933b5a-0000-7000-8000-000000000000', '{"a": 1}')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'add_usage on a missing session is PT404');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.add_usage('01933b5a-0000-7000-8000-000000000000')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'even with nothing to add');

SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold at the end');

SELECT * FROM finish();
ROLLBACK;
