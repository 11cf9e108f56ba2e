-- sweep(): who is swept and who never is, per-session and default
-- timeouts, the start timeout, batches, dry runs, the overlapping-sweep
-- lock, and the same outcome session by session in both sweep modes.
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION dblink;
CREATE EXTENSION agent_sessions;
SELECT plan(36);

CREATE TEMP TABLE s (name text PRIMARY KEY, id uuid NOT NULL UNIQUE, version bigint);

-- One session per case, tagged "<tag>:<case>", created in this order (the
-- sweep goes oldest id first).  Its last activity is put "ago" in the past;
-- the guard trigger refuses to move timestamps, so it is bypassed for this
-- set-up only.
CREATE FUNCTION pg_temp.scenario(tag text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c record;
    sid uuid;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
            -- case             status       ago                     own inactivity  own start
            ('run_stale',       'running',   '20 minutes',            NULL,           NULL),
            ('run_fresh',       'running',   '5 minutes',             NULL,           NULL),
            ('run_edge_fresh',  'running',   '14 minutes 55 seconds', NULL,           NULL),
            ('run_edge_stale',  'running',   '15 minutes 1 second',   NULL,           NULL),
            ('run_own_short',   'running',   '2 minutes',             '1 minute',     NULL),
            ('run_own_long',    'running',   '20 minutes',            '1 hour',       NULL),
            ('queued_stale',    'queued',    '11 minutes',            NULL,           NULL),
            ('starting_stale',  'starting',  '11 minutes',            NULL,           NULL),
            ('queued_fresh',    'queued',    '5 minutes',             NULL,           NULL),
            ('queued_own_long', 'queued',    '30 minutes',            '1 minute',     '1 hour'),
            ('queued_own_short','queued',    '2 minutes',             NULL,           '1 minute'),
            ('done_old',        'completed', '1 day',                 NULL,           NULL),
            ('failed_old',      'failed',    '1 day',                 NULL,           NULL),
            ('cancelled_old',   'cancelled', '1 day',                 NULL,           NULL)
        ) AS v(name, status, ago, inactivity, start)
    LOOP
        sid := (agent_sessions.create_session(user_id => 'u1', agent_id => tag,
                    inactivity_timeout => c.inactivity::interval,
                    start_timeout => c.start::interval)).id;
        IF c.status IN ('starting', 'running', 'completed') THEN
            PERFORM agent_sessions.transition(sid, 'starting');
        END IF;
        IF c.status IN ('running', 'completed') THEN
            PERFORM agent_sessions.start_session(sid);
        END IF;
        IF c.status = 'completed' THEN
            PERFORM agent_sessions.complete_session(sid);
        ELSIF c.status = 'failed' THEN
            PERFORM agent_sessions.fail_session(sid);
        ELSIF c.status = 'cancelled' THEN
            PERFORM agent_sessions.cancel_session(sid);
        END IF;
        INSERT INTO s VALUES (tag || ':' || c.name, sid);
        PERFORM set_config('session_replication_role', 'replica', true);
        UPDATE agent_sessions.sessions x
           SET last_activity_at = k.now - c.ago::interval,
               finished_at = CASE WHEN x.finished_at IS NOT NULL THEN k.now - c.ago::interval END
          FROM (SELECT clock_timestamp() AS now) AS k
         WHERE x.id = sid;
        PERFORM set_config('session_replication_role', 'origin', true);
    END LOOP;
    UPDATE s SET version = x.version FROM agent_sessions.sessions x WHERE x.id = s.id;
END
$$;

-- the statuses of a scenario's sessions, as "case=status"
CREATE FUNCTION pg_temp.statuses(tag text) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(split_part(s.name, ':', 2) || '=' || x.status ORDER BY x.id)
      FROM s JOIN agent_sessions.sessions x USING (id)
     WHERE s.name LIKE tag || ':%'
$$;

-- what the sweep left on one session: status, end_reason, error, event
CREATE FUNCTION pg_temp.outcome(tag text)
RETURNS TABLE (name text, status text, end_reason text, error jsonb, version_step bigint,
               stamped boolean, event text)
LANGUAGE sql AS $$
    SELECT split_part(s.name, ':', 2), x.status::text, x.end_reason, x.error,
           x.version - s.version,
           x.finished_at = x.last_activity_at AND x.finished_at = x.updated_at,
           (SELECT string_agg(e.from_status || '>' || e.to_status || '/' || e.from_activity || '>'
                              || e.to_activity || '/' || e.reason || '/v' || e.version, ',')
              FROM agent_sessions.session_events e
             WHERE e.session_id = x.id AND e.version > s.version)
      FROM s JOIN agent_sessions.sessions x USING (id)
     WHERE s.name LIKE tag || ':%'
$$;

\o /dev/null
SELECT pg_temp.scenario('batch');
\o

-- a dry run counts and writes nothing
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep(dry_run => true)$$,
    $$VALUES (6::bigint, 0::bigint, 0::bigint, 3::bigint, 3::bigint, 1, false)$$,
    'dry run: three quiet running sessions and three that never started');
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep(batch_size => 4, max_batches => 1, dry_run => true)$$,
    $$VALUES (4::bigint, 0::bigint, 2::bigint, 3::bigint, 1::bigint, 1, false)$$,
    'dry run with a batch limit: four would go, two would remain');
SELECT is(pg_temp.statuses('batch'),
          ARRAY['run_stale=running', 'run_fresh=running', 'run_edge_fresh=running', 'run_edge_stale=running',
                'run_own_short=running', 'run_own_long=running', 'queued_stale=queued',
                'starting_stale=starting', 'queued_fresh=queued', 'queued_own_long=queued',
                'queued_own_short=queued', 'done_old=completed', 'failed_old=failed',
                'cancelled_old=cancelled'],
          'a dry run changes no session');
SELECT is((SELECT count(*) FROM agent_sessions.session_events e JOIN s ON s.id = e.session_id
            WHERE e.version > s.version), 0::bigint, 'a dry run records no event');

-- An overlapping sweep returns at once.  (Before any sweep here: a sweep
-- holds its lock until the end of its transaction, this whole test.)
\o /dev/null
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
                                      current_setting('unix_socket_directories'),
                                      current_setting('port'), current_database(), current_user));
\o
SELECT ok(locked, 'another session takes the sweep lock')
  FROM dblink('other', 'SELECT pg_try_advisory_lock(7018705500919656497)') AS t(locked boolean);
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep()$$,
    $$VALUES (0::bigint, 0::bigint, NULL::bigint, 0::bigint, 0::bigint, 0, true)$$,
    'a sweep that finds another one running returns at once, locked out');
SELECT is(pg_temp.statuses('batch'),
          ARRAY['run_stale=running', 'run_fresh=running', 'run_edge_fresh=running', 'run_edge_stale=running',
                'run_own_short=running', 'run_own_long=running', 'queued_stale=queued',
                'starting_stale=starting', 'queued_fresh=queued', 'queued_own_long=queued',
                'queued_own_short=queued', 'done_old=completed', 'failed_old=failed',
                'cancelled_old=cancelled'],
          '... having changed nothing');
SELECT results_eq(
    $$SELECT swept, locked_out FROM agent_sessions.sweep(dry_run => true)$$,
    $$VALUES (6::bigint, false)$$,
    'a dry run does not need the lock');
SELECT ok(unlocked, 'the other session lets go')
  FROM dblink('other', 'SELECT pg_advisory_unlock(7018705500919656497)') AS t(unlocked boolean);
\o /dev/null
SELECT dblink_disconnect('other');
\o

-- one batch of four, oldest first
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep(batch_size => 4, max_batches => 1)$$,
    $$VALUES (4::bigint, 0::bigint, 2::bigint, 3::bigint, 1::bigint, 1, false)$$,
    'max_batches stops after one batch of batch_size and counts what remains');
SELECT is(pg_temp.statuses('batch'),
          ARRAY['run_stale=failed', 'run_fresh=running', 'run_edge_fresh=running', 'run_edge_stale=failed',
                'run_own_short=failed', 'run_own_long=running', 'queued_stale=failed',
                'starting_stale=starting', 'queued_fresh=queued', 'queued_own_long=queued',
                'queued_own_short=queued', 'done_old=completed', 'failed_old=failed',
                'cancelled_old=cancelled'],
          'the four oldest stale sessions were swept');
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep()$$,
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint, 2::bigint, 1, false)$$,
    'the next sweep takes the rest');
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep()$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0, false)$$,
    'then nothing is left');

-- what each session looks like afterwards
SELECT results_eq(
    $$SELECT name, status, end_reason, error::text FROM pg_temp.outcome('batch') ORDER BY name$$,
    $$VALUES
        ('cancelled_old', 'cancelled', 'cancelled', NULL),
        ('done_old', 'completed', 'completed', NULL),
        ('failed_old', 'failed', 'error', NULL),
        ('queued_fresh', 'queued', NULL, NULL),
        ('queued_own_long', 'queued', NULL, NULL),
        ('queued_own_short', 'failed', 'start_timeout', '{"type": "timeout", "message": "not started within 60 seconds"}'),
        ('queued_stale', 'failed', 'start_timeout', '{"type": "timeout", "message": "not started within 600 seconds"}'),
        ('run_edge_fresh', 'running', NULL, NULL),
        ('run_edge_stale', 'failed', 'inactivity_timeout', '{"type": "timeout", "message": "no activity for 900 seconds"}'),
        ('run_fresh', 'running', NULL, NULL),
        ('run_own_long', 'running', NULL, NULL),
        ('run_own_short', 'failed', 'inactivity_timeout', '{"type": "timeout", "message": "no activity for 60 seconds"}'),
        ('run_stale', 'failed', 'inactivity_timeout', '{"type": "timeout", "message": "no activity for 900 seconds"}'),
        ('starting_stale', 'failed', 'start_timeout', '{"type": "timeout", "message": "not started within 600 seconds"}')$$,
    'status, end_reason and error of every session: terminal ones untouched, per-session timeouts honoured');
SELECT results_eq(
    $$SELECT name, version_step, stamped, event FROM pg_temp.outcome('batch')
       WHERE status = 'failed' AND end_reason <> 'error' ORDER BY name$$,
    $$VALUES
        ('queued_own_short', 1::bigint, true, 'queued>failed/busy>idle/start_timeout/v2'),
        ('queued_stale', 1::bigint, true, 'queued>failed/busy>idle/start_timeout/v2'),
        ('run_edge_stale', 1::bigint, true, 'running>failed/busy>idle/inactivity_timeout/v4'),
        ('run_own_short', 1::bigint, true, 'running>failed/busy>idle/inactivity_timeout/v4'),
        ('run_stale', 1::bigint, true, 'running>failed/busy>idle/inactivity_timeout/v4'),
        ('starting_stale', 1::bigint, true, 'starting>failed/busy>idle/start_timeout/v3')$$,
    'each swept session: one version step, one event, finished_at = last_activity_at = updated_at');
SELECT results_eq(
    $$SELECT count(*), count(*) FILTER (WHERE version_step = 0 AND event IS NULL)
        FROM pg_temp.outcome('batch') WHERE end_reason IS DISTINCT FROM 'inactivity_timeout'
         AND end_reason IS DISTINCT FROM 'start_timeout'$$,
    $$VALUES (8::bigint, 8::bigint)$$,
    'the eight sessions not swept have no new version and no new event');
CREATE TEMP TABLE batch_outcome AS SELECT * FROM pg_temp.outcome('batch');
SELECT ok((SELECT bool_and(x.finished_at < now() - interval '23 hours')
             FROM s JOIN agent_sessions.sessions x USING (id) WHERE s.name LIKE 'batch:%\_old'),
          'terminal sessions keep their finished_at');
SELECT ok((SELECT bool_and(x.activity = 'idle')
             FROM s JOIN agent_sessions.sessions x USING (id)
            WHERE s.name LIKE 'batch:%' AND x.status = 'failed'), 'swept sessions are idle');

-- the settings, and per-session timeouts winning over them
SET LOCAL agent_sessions.inactivity_timeout = '4min';
SELECT results_eq(
    $$SELECT swept, swept_inactive FROM agent_sessions.sweep()$$,
    $$VALUES (2::bigint, 2::bigint)$$,
    'a shorter agent_sessions.inactivity_timeout reaches more running sessions');
SELECT is(pg_temp.statuses('batch'),
          ARRAY['run_stale=failed', 'run_fresh=failed', 'run_edge_fresh=failed', 'run_edge_stale=failed',
                'run_own_short=failed', 'run_own_long=running', 'queued_stale=failed',
                'starting_stale=failed', 'queued_fresh=queued', 'queued_own_long=queued',
                'queued_own_short=failed', 'done_old=completed', 'failed_old=failed',
                'cancelled_old=cancelled'],
          '... but not one with a longer inactivity_timeout of its own, nor queued ones');
SET LOCAL agent_sessions.start_timeout = '4min';
SELECT results_eq(
    $$SELECT swept, swept_start_timeout FROM agent_sessions.sweep()$$,
    $$VALUES (1::bigint, 1::bigint)$$,
    'a shorter agent_sessions.start_timeout reaches more queued sessions');
SELECT is((SELECT x.status::text FROM s JOIN agent_sessions.sessions x USING (id) WHERE s.name = 'batch:queued_own_long'),
          'queued', 'a queued session is judged by its start timeout, not its inactivity timeout');
RESET agent_sessions.inactivity_timeout;
RESET agent_sessions.start_timeout;

-- a heartbeat keeps a session alive; a session that finished is left alone
\o /dev/null
SELECT pg_temp.scenario('race');
\o
SELECT ok((agent_sessions.heartbeat(id)).accepted, 'heartbeat of a quiet session') FROM s WHERE name = 'race:run_stale';
SELECT ok((agent_sessions.complete_session(id)).status = 'completed', 'a quiet session completes')
  FROM s WHERE name = 'race:run_own_short';
SELECT results_eq(
    $$SELECT swept, swept_inactive, swept_start_timeout FROM agent_sessions.sweep()$$,
    $$VALUES (4::bigint, 1::bigint, 3::bigint)$$,
    'the sweep leaves the session that heartbeated and the one that completed');
SELECT results_eq(
    $$SELECT name, status, end_reason FROM pg_temp.outcome('race')
       WHERE name IN ('run_stale', 'run_own_short') ORDER BY name$$,
    $$VALUES ('run_own_short', 'completed', 'completed'), ('run_stale', 'running', NULL)$$,
    '... which keep their status');

-- the row-wise mode (what Citus needs) leaves exactly the same result
SET LOCAL agent_sessions.sweep_mode = 'row';
\o /dev/null
SELECT pg_temp.scenario('row');
\o
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep(batch_size => 4, max_batches => 1)$$,
    $$VALUES (4::bigint, 0::bigint, 2::bigint, 3::bigint, 1::bigint, 1, false)$$,
    'row mode: one batch of four');
SELECT results_eq(
    $$SELECT * FROM agent_sessions.sweep()$$,
    $$VALUES (2::bigint, 0::bigint, 0::bigint, 0::bigint, 2::bigint, 1, false)$$,
    'row mode: the rest');
SELECT results_eq(
    $$SELECT name, status, end_reason, error::text, version_step, stamped, event
        FROM pg_temp.outcome('row') ORDER BY name$$,
    $$SELECT name, status, end_reason, error::text, version_step, stamped, event
        FROM batch_outcome ORDER BY name$$,
    'row mode: every session ends exactly as in batch mode');
SET LOCAL agent_sessions.sweep_mode = 'auto';

-- many batches in one call
\o /dev/null
SELECT pg_temp.scenario('many:' || n) FROM generate_series(1, 5) AS n;
\o
SELECT results_eq(
    $$SELECT swept, remaining, batches FROM agent_sessions.sweep(batch_size => 7)$$,
    $$VALUES (30::bigint, 0::bigint, 5)$$,
    'one call runs batches until none is left (30 sessions in batches of 7)');
\o /dev/null
SELECT pg_temp.scenario('capped:' || n) FROM generate_series(1, 3) AS n;
\o
SELECT results_eq(
    $$SELECT swept, remaining, batches FROM agent_sessions.sweep(batch_size => 5, max_batches => 2)$$,
    $$VALUES (10::bigint, 8::bigint, 2)$$,
    'max_batches caps the batches of one call');

-- arguments
SELECT throws_ok($$SELECT * FROM agent_sessions.sweep(0)$$,
                 '22023', 'invalid batch_size: must be between 1 and 100000', 'batch_size 0');
SELECT throws_ok($$SELECT * FROM agent_sessions.sweep(100001)$$,
                 '22023', 'invalid batch_size: must be between 1 and 100000', 'batch_size above 100000');
SELECT throws_ok($$SELECT * FROM agent_sessions.sweep(NULL)$$,
                 '22023', 'invalid batch_size: must not be NULL', 'batch_size NULL');
SELECT throws_ok($$SELECT * FROM agent_sessions.sweep(max_batches => 0)$$,
                 '22023', 'invalid max_batches: must be at least 1', 'max_batches 0');
SELECT throws_ok($$SET agent_sessions.sweep_mode = 'sometimes'$$,
                 '22023', NULL, 'sweep_mode takes auto, batch or row');

SELECT * FROM finish();
ROLLBACK;
