-- wait_for_session: arguments, isolation, what returns at once, timeouts,
-- visibility.  Waits woken by another session's commit are in
-- test/integration/wait.sh.

\set VERBOSITY default
SET client_min_messages = warning;

SELECT (agent_sessions.create_session(user_id => 'wait_user', prompt => 'busy')).id AS busy \gset
SELECT version AS busy_version FROM agent_sessions.start_session(:'busy') \gset
SELECT (agent_sessions.create_session(user_id => 'wait_user', prompt => 'idle')).id AS idle \gset
SELECT version AS idle_version FROM agent_sessions.heartbeat(
    (agent_sessions.start_session(:'idle')).id, 'idle') \gset
SELECT (agent_sessions.create_session(user_id => 'wait_user', prompt => 'done')).id AS done \gset
SELECT version AS done_version FROM agent_sessions.complete_session(
    (agent_sessions.start_session(:'done')).id) \gset

-- invalid arguments: 22023 naming the field
SELECT agent_sessions.wait_for_session(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT agent_sessions.wait_for_session(:'busy', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT agent_sessions.wait_for_session(:'busy', 61);
\echo :LAST_ERROR_SQLSTATE
SELECT agent_sessions.wait_for_session(:'busy', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT agent_sessions.wait_for_session(:'busy', NULL);
\echo :LAST_ERROR_SQLSTATE

-- a session that does not exist: PT404
SELECT agent_sessions.wait_for_session('01933b5a-0000-7000-8000-000000000001', 1);
\echo :LAST_ERROR_SQLSTATE

-- a wait never sees a change under a transaction snapshot: refused
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT agent_sessions.wait_for_session(:'idle');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT agent_sessions.wait_for_session(:'idle');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- What returns at once.  Each of these would otherwise wait 60 s and be
-- cancelled by the statement timeout.
SET statement_timeout = '10s';

-- without since_version, a settled session: idle, or terminal
SELECT status, activity, version = :idle_version AS same_version
  FROM agent_sessions.wait_for_session(:'idle', 60);
SELECT status, activity, version = :done_version AS same_version
  FROM agent_sessions.wait_for_session(:'done', 60);
-- inside a READ COMMITTED transaction block too
BEGIN;
SELECT status, activity FROM agent_sessions.wait_for_session(:'idle', 60);
COMMIT;

-- a version already past since_version, whatever the state
SELECT status, activity, version = :busy_version AS same_version
  FROM agent_sessions.wait_for_session(:'busy', 60, :busy_version - 1);
SELECT status, version = :busy_version AS same_version
  FROM agent_sessions.wait_for_session(:'busy', 60, 0);
SELECT status, version = :busy_version AS same_version
  FROM agent_sessions.wait_for_session(:'busy', 60, -1);

RESET statement_timeout;

-- Nothing changes: after timeout_s seconds the current row.  A busy
-- session; and a settled one whose since_version is not passed (the caller
-- has seen this version and waits for the next).
SELECT status, activity, version = :busy_version AS same_version
  FROM agent_sessions.wait_for_session(:'busy', 1);
SELECT status, activity, version = :idle_version AS same_version
  FROM agent_sessions.wait_for_session(:'idle', 1, :idle_version);
SELECT status, activity, version = :done_version AS same_version
  FROM agent_sessions.wait_for_session(:'done', 1, :done_version);

-- the default timeout_s is 30, since_version NULL
SELECT pg_catalog.pg_get_function_arguments('agent_sessions.wait_for_session'::regproc);
SELECT provolatile, proisstrict FROM pg_catalog.pg_proc
 WHERE oid = 'agent_sessions.wait_for_session'::regproc;

-- Row-level security applies: a session the caller cannot see is missing.
CREATE ROLE regress_wait_tenant;
GRANT SELECT ON agent_sessions.sessions TO regress_wait_tenant;
GRANT EXECUTE ON FUNCTION agent_sessions.wait_for_session(uuid, integer, bigint)
    TO regress_wait_tenant;
SET ROLE regress_wait_tenant;
SELECT set_config('request.jwt.claims', '{"sub": "someone_else"}', false) IS NOT NULL AS claims_set;
\set VERBOSITY sqlstate
SELECT agent_sessions.wait_for_session(:'idle', 1);
\set VERBOSITY default
SELECT set_config('request.jwt.claims', '{"sub": "wait_user"}', false) IS NOT NULL AS claims_set;
SELECT status, activity FROM agent_sessions.wait_for_session(:'idle', 1);
-- the waiter table shows every tenant's waits: not granted
SELECT * FROM agent_sessions.waiters();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET request.jwt.claims;
REVOKE ALL ON agent_sessions.sessions FROM regress_wait_tenant;
REVOKE ALL ON FUNCTION agent_sessions.wait_for_session(uuid, integer, bigint)
    FROM regress_wait_tenant;
DROP ROLE regress_wait_tenant;

-- no wait of this backend holds a slot any more
SELECT count(*) AS my_slots FROM agent_sessions.waiters() WHERE pid = pg_backend_pid();
