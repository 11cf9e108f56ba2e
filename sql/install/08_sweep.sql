
-- The sweep: fail live sessions whose agent went quiet
--
-- The sweep walks the live sessions in id order (oldest first).  Only
-- live sessions are in this index, and last_activity_at is in none (a
-- heartbeat must stay a HOT update), so finding the stale ones costs one
-- pass over the live sessions, never over the finished ones.

CREATE INDEX sessions_live_idx ON @extschema@.sessions (id)
    WHERE status OPERATOR(pg_catalog.=) ANY ('{queued,starting,running}'::@extschema@.session_status[]);

CREATE FUNCTION @extschema@.sweep(
    batch_size      integer DEFAULT 1000,
    max_batches     integer DEFAULT NULL,
    dry_run         boolean DEFAULT false)
RETURNS TABLE (
    swept               bigint,
    skipped_locked      bigint,
    remaining           bigint,
    swept_inactive      bigint,
    swept_start_timeout bigint,
    batches             integer,
    locked_out          boolean)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'sweep';
COMMENT ON FUNCTION @extschema@.sweep(integer, integer, boolean) IS
    'Fail the live sessions past their timeout: running ones quiet for longer than inactivity_timeout (end_reason inactivity_timeout), queued or starting ones for longer than start_timeout (end_reason start_timeout), with error {"type": "timeout", "message": ...}. Works in batches of batch_size (1..100000) until none is left or max_batches have run, skipping (skipped_locked) sessions another transaction holds or that changed since they were found. remaining counts the stale sessions left (skipped or not reached). dry_run only counts. A sweep that finds another one running returns at once with locked_out.';
