
-- Scheduling the sweep with pg_cron (optional: pg_cron is not required)

CREATE FUNCTION @extschema@.schedule_sweep(schedule text DEFAULT '* * * * *')
RETURNS bigint
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'schedule_sweep';
COMMENT ON FUNCTION @extschema@.schedule_sweep(text) IS
    'Run agent_sessions.sweep() on this cron schedule (default every minute, the finest pg_cron 1.4 offers) as the pg_cron job agent_sessions_sweep, replacing that job if this role already has it; returns the job id. Must be called in the database named by cron.database_name; from another one the error''s hint gives the cron.schedule_in_database call to run there.';

CREATE FUNCTION @extschema@.unschedule_sweep()
RETURNS boolean
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'unschedule_sweep';
COMMENT ON FUNCTION @extschema@.unschedule_sweep() IS
    'Remove the pg_cron job agent_sessions_sweep of this database; false when there is none (also when pg_cron is absent).';
