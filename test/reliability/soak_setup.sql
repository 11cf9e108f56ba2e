-- The soak's client-side helpers, created in the soak database only (never
-- shipped).  Each runs one operation of the extension on a recent session,
-- so the clients race on the same rows, and swallows exactly the errors the
-- contract promises for a lost race or an illegal move (PT409, PT404);
-- anything else aborts the pgbench client and fails the soak.
--
-- soak.ack is the acknowledged-create record inside the database: a plain,
-- logged table written in the transaction that creates the session, so a
-- session whose create committed has its ack row and the other way round.
-- That proves no later operation (transition, sweep, direct UPDATE) ever
-- loses a session.  The record of what a client saw acknowledged across a
-- crash lives outside the database: pgbench appends each id to a file after
-- the commit has returned (see test/reliability/workload/create.pgbench).

SET client_min_messages = warning;
CREATE EXTENSION agent_sessions;

CREATE SCHEMA soak;

CREATE TABLE soak.ack (
    n   bigserial PRIMARY KEY,
    id  uuid NOT NULL UNIQUE
);

-- non-transactional tallies of what the clients saw
CREATE SEQUENCE soak.conflicts;     -- PT409 caught
CREATE SEQUENCE soak.not_found;     -- PT404 caught
CREATE SEQUENCE soak.sweeps;        -- sweep calls made
CREATE SEQUENCE soak.waits;         -- wait calls made

-- a session among the 200 most recently created, so clients collide
CREATE FUNCTION soak.pick() RETURNS uuid
LANGUAGE sql AS $$
    SELECT id FROM soak.ack
     WHERE n >= (SELECT max(n) - (random() * 200)::int FROM soak.ack)   -- once, so the index serves it
     ORDER BY n LIMIT 1
$$;

CREATE FUNCTION soak.caught(state text) RETURNS text
LANGUAGE sql AS $$
    SELECT state || ':' || nextval(CASE state WHEN 'PT409' THEN 'soak.conflicts'
                                              ELSE 'soak.not_found' END::regclass)
$$;

-- create: one in ten reuses an idempotency key from a small pool, with the
-- same request (returns the first session) or another one (PT409)
CREATE FUNCTION soak.create() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    keyed boolean := random() < 0.1;
    sid uuid;
BEGIN
    SELECT s.id INTO sid
      FROM agent_sessions.create_session(
               user_id => CASE WHEN keyed THEN 'user_keyed' ELSE 'user_' || (random() * 20)::int END,
               organization_id => CASE WHEN keyed OR random() < 0.5 THEN NULL ELSE 'org_' || (random() * 3)::int END,
               prompt => CASE WHEN keyed THEN 'same or not ' || (random())::int ELSE 'soak' END,
               agent_id => 'agent_' || (random() * 10)::int,
               tags => ARRAY['soak'],
               inactivity_timeout => CASE WHEN NOT keyed AND random() < 0.3 THEN interval '2 seconds' END,
               start_timeout => CASE WHEN NOT keyed AND random() < 0.3 THEN interval '3 seconds' END,
               idempotency_key => CASE WHEN keyed THEN 'key_' || (random() * 20)::int END) AS s;
    INSERT INTO soak.ack (id) VALUES (sid) ON CONFLICT (id) DO NOTHING;
    RETURN sid::text;
EXCEPTION WHEN SQLSTATE 'PT409' THEN
    RETURN soak.caught('PT409');
END
$$;

-- heartbeat: busy, idle or just alive; one in ten also reports usage
CREATE FUNCTION soak.beat() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    sid uuid := soak.pick();
    r double precision := random();
BEGIN
    PERFORM agent_sessions.heartbeat(sid, CASE WHEN r < 0.4 THEN 'busy'
                                              WHEN r < 0.8 THEN 'idle' END::agent_sessions.session_activity);
    IF random() < 0.1 THEN
        PERFORM agent_sessions.add_usage(sid, '{"input_tokens": 7, "output_tokens": 3}', 0.001);
    END IF;
    RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'PT404' OR SQLSTATE 'PT409' THEN
    RETURN soak.caught(SQLSTATE);
END
$$;

-- a transition, legal or not: the shorthands, transition() to any status
-- (back to queued included), a stale expected_version, and a direct UPDATE
-- of the status or activity as PostgREST would send it
CREATE FUNCTION soak.move() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    sid uuid := soak.pick();
    r double precision := random();
    any_status agent_sessions.session_status :=
        (enum_range(NULL::agent_sessions.session_status))[1 + floor(random() * 6)::int];
    v bigint;
BEGIN
    IF r < 0.30 THEN
        PERFORM agent_sessions.start_session(sid, machine_id => 'machine_' || (random() * 5)::int);
    ELSIF r < 0.50 THEN
        PERFORM agent_sessions.complete_session(sid, output => '{"answer": 42}', summary => 'done',
                                                usage => '{"input_tokens": 100}', cost => 0.01);
    ELSIF r < 0.58 THEN
        PERFORM agent_sessions.fail_session(sid, message => 'soak failure', error => '{"type": "soak"}');
    ELSIF r < 0.75 THEN
        PERFORM agent_sessions.transition(sid, any_status, reason => 'soak');
    ELSIF r < 0.85 THEN
        SELECT version INTO v FROM agent_sessions.sessions WHERE id = sid;
        PERFORM pg_sleep(0.001);
        PERFORM agent_sessions.transition(sid, any_status, expected_version => v);
    ELSIF r < 0.93 THEN
        UPDATE agent_sessions.sessions SET status = any_status, title = 'patched' WHERE id = sid;
    ELSE
        UPDATE agent_sessions.sessions
           SET activity = CASE WHEN random() < 0.5 THEN 'busy' ELSE 'idle' END::agent_sessions.session_activity
         WHERE id = sid;
    END IF;
    RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'PT404' OR SQLSTATE 'PT409' THEN
    RETURN soak.caught(SQLSTATE);
END
$$;

CREATE FUNCTION soak.cancel() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM agent_sessions.cancel_session(soak.pick(), reason => 'soak cancel');
    RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'PT404' OR SQLSTATE 'PT409' THEN
    RETURN soak.caught(SQLSTATE);
END
$$;

-- the waiting clients' call (they run beside the racing ones)
CREATE FUNCTION soak.wait() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('soak.waits');
    PERFORM agent_sessions.wait_for_session(soak.pick(), timeout_s => 1);
    RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'PT404' OR SQLSTATE 'PT409' THEN
    RETURN soak.caught(SQLSTATE);
END
$$;

CREATE FUNCTION soak.sweep() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('soak.sweeps');
    PERFORM count(*) FROM agent_sessions.sweep(batch_size => 50);
    RETURN 'ok';
END
$$;

-- sessions to aim at from the first transaction on
SELECT count(soak.create()) AS seeded FROM generate_series(1, 50) \gset
