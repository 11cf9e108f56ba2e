-- schedule_sweep() and unschedule_sweep() from a database that is not
-- cron.database_name (the test cluster runs pg_cron from "postgres"): pg_cron
-- cannot be reached from here, and the hint is the statement to run there.
-- The real job is exercised in test/integration/cron_sweep.sh.
SHOW cron.database_name;
SELECT agent_sessions.schedule_sweep();
SELECT agent_sessions.schedule_sweep('*/5 * * * *');
SELECT agent_sessions.unschedule_sweep();
SELECT agent_sessions.schedule_sweep(NULL);
