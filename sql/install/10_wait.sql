-- Long-poll: wait_for_session, woken at the writer's commit
--
-- With agent_sessions in shared_preload_libraries a wait sleeps on its
-- latch and is woken by the commit of a transaction that changed the
-- session; otherwise it polls (10 ms, doubling to 500 ms between reads).

CREATE FUNCTION @extschema@.wait_for_session(
    id              uuid,
    timeout_s       integer DEFAULT 30,
    since_version   bigint DEFAULT NULL)
RETURNS @extschema@.sessions
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'wait_for_session';
COMMENT ON FUNCTION @extschema@.wait_for_session(uuid, integer, bigint) IS
    'Wait up to timeout_s seconds (1..60, default 30) for the session to change, and return its row. Without since_version: returns at once if the session is idle or terminal, else as soon as it changes. With since_version: returns as soon as its version is greater. On timeout returns the current row. Refused in REPEATABLE READ and SERIALIZABLE transactions (0A000); PT429 when agent_sessions.max_waiters waits are already running.';

CREATE FUNCTION @extschema@.waiters(
    OUT pid             integer,
    OUT session_id      uuid,
    OUT since_version   bigint,
    OUT waiting_since   timestamptz)
RETURNS SETOF record
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'waiters';
COMMENT ON FUNCTION @extschema@.waiters() IS
    'The wait_for_session calls holding a slot of the waiter table: the waiting backend, the session, the version it waits to pass and since when. Empty unless agent_sessions is preloaded. For operators: it shows every tenant''s sessions, so it is not granted to API roles.';
