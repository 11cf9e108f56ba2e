-- heartbeat: coalescing, busy/idle flips, what a worker learns, what is written
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION agent_sessions;
\ir include/core.psql

SELECT plan(35);

-- Row updates of sessions made so far in this transaction
CREATE FUNCTION pg_temp.updates() RETURNS bigint LANGUAGE sql AS $$
    SELECT n_tup_upd FROM pg_stat_xact_user_tables
     WHERE relid = 'agent_sessions.sessions'::regclass
$$;
CREATE FUNCTION pg_temp.hot_updates() RETURNS bigint LANGUAGE sql AS $$
    SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables
     WHERE relid = 'agent_sessions.sessions'::regclass
$$;
CREATE FUNCTION pg_temp.row_of(id uuid) RETURNS text LANGUAGE sql AS $$
    SELECT s::text FROM agent_sessions.sessions s WHERE s.id = row_of.id
$$;
CREATE FUNCTION pg_temp.events_of(id uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM agent_sessions.session_events e WHERE e.session_id = events_of.id
$$;

SELECT is_empty($$
    SELECT indexrelid::regclass FROM pg_index
     WHERE indrelid = 'agent_sessions.sessions'::regclass
       AND pg_get_indexdef(indexrelid) ~ '\m(last_activity_at|activity|version|updated_at)\M'$$,
    'no index (column, expression or predicate) covers a column heartbeats write');

SELECT id AS s FROM agent_sessions.create_session(user_id => 'hb') \gset
\o /dev/null
SELECT agent_sessions.start_session(:'s');
\o
SELECT * FROM agent_sessions.sessions WHERE id = :'s' \gset r_

-- Coalescing: a time-only heartbeat soon after the last write writes nothing
SET LOCAL agent_sessions.heartbeat_granularity = '1h';
SELECT pg_temp.updates() AS upd, pg_temp.row_of(:'s') AS before_row \gset
SELECT * FROM agent_sessions.heartbeat(:'s') \gset h_
SELECT is(ROW(:'h_id'::uuid, :'h_status', :'h_activity', :'h_version'::bigint, :'h_last_activity_at'::timestamptz,
              :'h_accepted', :'h_terminal', :'h_cancel_requested')::text,
          ROW(:'s'::uuid, 'running', 'busy', :'r_version'::bigint, :'r_last_activity_at'::timestamptz,
              false, false, false)::text,
          'a heartbeat within the granularity is coalesced: not accepted, and reports the stored row');
SELECT is(pg_temp.updates(), :'upd'::bigint, 'a coalesced heartbeat writes nothing');
SELECT is(pg_temp.row_of(:'s'), :'before_row', 'and the row is as it was');

-- Granularity 0: every time-only heartbeat is written, and only the time
SET LOCAL agent_sessions.heartbeat_granularity = 0;
SELECT * FROM agent_sessions.heartbeat(:'s') \gset h_
SELECT is(ROW(:'h_accepted', :'h_terminal', :'h_cancel_requested', :'h_version'::bigint)::text,
          ROW(true, false, false, :'r_version'::bigint)::text,
          'with granularity 0 the heartbeat is accepted; the version stays');
SELECT ok(:'h_last_activity_at'::timestamptz > :'r_last_activity_at'::timestamptz,
          'last_activity_at moves forward');
SELECT is((SELECT ROW(last_activity_at, updated_at, version)::text FROM agent_sessions.sessions WHERE id = :'s'),
          ROW(:'h_last_activity_at'::timestamptz, :'r_updated_at'::timestamptz, :'r_version'::bigint)::text,
          'only last_activity_at is written: updated_at and version are untouched');
SELECT is(pg_temp.updates(), :'upd'::bigint + 1, 'one heartbeat, one row update');
SELECT is(pg_temp.events_of(:'s'), 3::bigint, 'a time-only heartbeat records no event');

SELECT pg_temp.updates() AS upd, pg_temp.hot_updates() AS hot \gset
DO $$
BEGIN
    FOR i IN 1..20 LOOP
        PERFORM agent_sessions.heartbeat((SELECT id FROM agent_sessions.sessions WHERE user_id = 'hb'));
    END LOOP;
END $$;
SELECT is(ROW(pg_temp.updates() - :'upd'::bigint, pg_temp.hot_updates() - :'hot'::bigint)::text,
          ROW(20, 20)::text, 'twenty heartbeats are twenty HOT updates');
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'s'), :'r_version'::bigint,
          'heartbeats leave the version alone');
SELECT is(pg_temp.events_of(:'s'), 3::bigint, 'and record no events');

-- Flips: busy <-> idle is a change, never coalesced
SET LOCAL agent_sessions.heartbeat_granularity = '1h';
SELECT * FROM agent_sessions.heartbeat(:'s', 'idle') \gset h_
SELECT is(ROW(:'h_status', :'h_activity', :'h_version'::bigint, :'h_accepted', :'h_terminal')::text,
          ROW('running', 'idle', :'r_version'::bigint + 1, true, false)::text,
          'a flip to idle is accepted within the granularity and bumps the version');
SELECT is((SELECT ROW(activity, version, updated_at, last_activity_at)::text FROM agent_sessions.sessions WHERE id = :'s'),
          ROW('idle', :'h_version'::bigint, :'h_last_activity_at'::timestamptz, :'h_last_activity_at'::timestamptz)::text,
          'the flip stamps updated_at and last_activity_at');
SELECT is((SELECT ROW(from_status, to_status, from_activity, to_activity, version, actor, at)::text
             FROM agent_sessions.session_events WHERE session_id = :'s' ORDER BY event_id DESC LIMIT 1),
          ROW('running', 'running', 'busy', 'idle', :'h_version'::bigint, current_user, :'h_last_activity_at'::timestamptz)::text,
          'the flip is recorded as an event');
SELECT pg_temp.updates() AS upd \gset
SELECT * FROM agent_sessions.heartbeat(:'s', 'idle') \gset h2_
SELECT is(ROW(:'h2_activity', :'h2_version'::bigint, :'h2_accepted')::text,
          ROW('idle', :'h_version'::bigint, false)::text,
          'repeating the activity it has is a time-only heartbeat, coalesced here');
SELECT is(pg_temp.updates(), :'upd'::bigint, 'and writes nothing');
SELECT is((agent_sessions.heartbeat(:'s', 'busy')).activity, 'busy', 'a flip back to busy');
SELECT is(pg_temp.events_of(:'s'), 5::bigint, 'two flips, two events');
SELECT is((SELECT version FROM agent_sessions.sessions WHERE id = :'s'), :'r_version'::bigint + 2,
          'two flips, two versions');

-- Live sessions other than running take heartbeats too
SELECT id AS q FROM agent_sessions.create_session(user_id => 'hb') \gset
SELECT is((SELECT ROW(status, activity, accepted)::text FROM agent_sessions.heartbeat(:'q', 'idle')),
          ROW('queued', 'idle', true)::text, 'a queued session can go idle');

-- Ended sessions: the worker learns to stop, nothing is written
\o /dev/null
SELECT agent_sessions.cancel_session(:'s', reason => 'stop');
\o
SET LOCAL agent_sessions.heartbeat_granularity = 0;
SELECT pg_temp.updates() AS upd, pg_temp.row_of(:'s') AS cancelled_row, pg_temp.events_of(:'s') AS ev \gset
SELECT is((SELECT ROW(status, activity, accepted, terminal, cancel_requested)::text FROM agent_sessions.heartbeat(:'s')),
          ROW('cancelled', 'idle', false, true, true)::text,
          'a heartbeat on a cancelled session reports terminal and cancel_requested');
SELECT is((SELECT ROW(status, activity, accepted, terminal, cancel_requested)::text FROM agent_sessions.heartbeat(:'s', 'busy')),
          ROW('cancelled', 'idle', false, true, true)::text,
          'even one asking for busy: an ended session stays idle');
SELECT is(pg_temp.updates(), :'upd'::bigint, 'heartbeats on an ended session write nothing');
SELECT is(pg_temp.row_of(:'s'), :'cancelled_row', 'the row is unchanged');
SELECT is(pg_temp.events_of(:'s'), :'ev'::bigint, 'and no event is recorded');

SELECT id AS c FROM agent_sessions.create_session(user_id => 'hb') \gset
\o /dev/null
SELECT agent_sessions.start_session(:'c');
SELECT agent_sessions.complete_session(:'c');
\o
SELECT is((SELECT ROW(status, accepted, terminal, cancel_requested)::text FROM agent_sessions.heartbeat(:'c', 'idle')),
          ROW('completed', false, true, false)::text,
          'a completed session: terminal, not cancel_requested');
SELECT id AS f FROM agent_sessions.create_session(user_id => 'hb') \gset
\o /dev/null
SELECT agent_sessions.fail_session(:'f', message => 'boom');
\o
SELECT is((SELECT ROW(status, accepted, terminal, cancel_requested)::text FROM agent_sessions.heartbeat(:'f')),
          ROW('failed', false, true, false)::text,
          'a failed session: terminal, not cancel_requested');

-- Errors
SELECT is(pg_temp.error_of($$SELECT agent_sessions.heartbeat('01933b5a-0000-7000-8000-000000000000')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'a heartbeat for a missing session is PT404');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.heartbeat('01933b5a-0000-7000-8000-000000000000', 'idle')$$),
          'PT404: session 01933b5a-0000-7000-8000-000000000000 does not exist',
          'with an activity too');
SELECT is(pg_temp.error_of($$SELECT agent_sessions.heartbeat(NULL)$$),
          '22023: invalid id: must not be NULL / Field "id" is invalid.',
          'a NULL id is 22023');
SELECT is(pg_temp.sqlstate_of($$SELECT agent_sessions.heartbeat(agent_sessions.uuid_v7(), 'sleeping')$$),
          '22P02', 'an unknown activity is 22P02');

-- Who sees what: another user's session is missing
SELECT pg_temp.api_role('agent_sessions_tap_worker') \gset
SET LOCAL ROLE agent_sessions_tap_worker;
SET LOCAL request.jwt.claims = '{"sub": "someone-else"}';
SELECT is(pg_temp.sqlstate_of(format('SELECT agent_sessions.heartbeat(%L, ''idle'')', :'q')), 'PT404',
          'a heartbeat for a session the caller cannot see is PT404');
RESET request.jwt.claims;
RESET ROLE;
SELECT is((SELECT activity FROM agent_sessions.sessions WHERE id = :'q'), 'idle',
          'and changes nothing');

SELECT is_empty('SELECT * FROM pg_temp.broken_invariants()', 'invariants hold at the end');

SELECT * FROM finish();
ROLLBACK;
