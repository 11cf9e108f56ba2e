/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  schedule_sweep(schedule) and unschedule_sweep(): the sweep as a
 *	  pg_cron job named agent_sessions_sweep.
 *
 * pg_cron is optional: the extension does not require it, and looks for it
 * only when these functions are called.  pg_cron keeps its jobs, and its
 * functions, in the one database named by cron.database_name.  From that
 * database these functions schedule the job through cron.schedule (which
 * replaces a job of the same name and role).  From any other database
 * cron.* cannot be reached, so they raise an error whose hint is the exact
 * statement to run in the cron database instead.  That job is named
 * agent_sessions_sweep_<database>: pg_cron job names are unique per role,
 * so jobs for several databases need names of their own.
 *
 * The job runs sweep() as the role that scheduled it.  Row-level security
 * would hide every session from a role it applies to, and the job would
 * sweep nothing, so scheduling refuses such a role.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

PG_FUNCTION_INFO_V1(schedule_sweep);
PG_FUNCTION_INFO_V1(unschedule_sweep);

#define SWEEP_JOB_NAME	"agent_sessions_sweep"
#define SWEEP_COMMAND	"SELECT * FROM agent_sessions.sweep()"

typedef enum CronState
{
	CRON_NOT_LOADED,			/* pg_cron is not in shared_preload_libraries */
	CRON_OTHER_DATABASE,		/* pg_cron runs from another database */
	CRON_NOT_CREATED,			/* this is the cron database, no pg_cron yet */
	CRON_READY
} CronState;

/* Where pg_cron stands, seen from this database. */
static CronState
cron_state(const char **cron_database)
{
	const char *name = "cron.database_name";

	*cron_database = GetConfigOption(name, true, false);
	if (*cron_database == NULL ||
		(GetConfigOptionFlags(name, false) & GUC_CUSTOM_PLACEHOLDER) != 0)
		return CRON_NOT_LOADED;
	if (strcmp(*cron_database, get_database_name(MyDatabaseId)) != 0)
		return CRON_OTHER_DATABASE;
	if (!OidIsValid(get_extension_oid("pg_cron", true)))
		return CRON_NOT_CREATED;
	return CRON_READY;
}

/* The job's name for a database other than the cron database. */
static char *
other_job_name(const char *database)
{
	return psprintf("%s_%s", SWEEP_JOB_NAME, database);
}

/* agent_sessions.sweep(integer, integer, boolean) */
static Oid
sweep_function(void)
{
	Oid			argtypes[3] = {INT4OID, INT4OID, BOOLOID};

	return LookupFuncName(list_make2(makeString("agent_sessions"), makeString("sweep")),
						  3, argtypes, false);
}

static void
other_database_error(const char *cron_database, const char *action,
					 const char *statement)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s the sweep from database \"%s\"",
					action, get_database_name(MyDatabaseId)),
			 errdetail("pg_cron keeps its jobs in database \"%s\" (cron.database_name), and its functions exist only there.",
					   cron_database),
			 errhint("In database \"%s\", run as a superuser: %s",
					 cron_database, statement)));
}

/* schedule_sweep(schedule text DEFAULT '* * * * *') RETURNS bigint */
Datum
schedule_sweep(PG_FUNCTION_ARGS)
{
	const char *cron_database;
	const char *database = get_database_name(MyDatabaseId);
	char	   *schedule;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	bool		isnull;
	int64		jobid;

	if (PG_ARGISNULL(0))
		as_invalid_argument("schedule", "must not be NULL");
	schedule = text_to_cstring(PG_GETARG_TEXT_PP(0));

	switch (cron_state(&cron_database))
	{
		case CRON_NOT_LOADED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("pg_cron is not available"),
					 errdetail("pg_cron is not in shared_preload_libraries."),
					 errhint("Add pg_cron to shared_preload_libraries, set cron.database_name, restart the server and run CREATE EXTENSION pg_cron in that database; or call agent_sessions.sweep() from another scheduler.")));
			break;
		case CRON_OTHER_DATABASE:
			other_database_error(cron_database, "schedule",
								 psprintf("SELECT cron.schedule_in_database(%s, %s, %s, %s);",
										  quote_literal_cstr(other_job_name(database)),
										  quote_literal_cstr(schedule),
										  quote_literal_cstr(SWEEP_COMMAND),
										  quote_literal_cstr(database)));
			break;
		case CRON_NOT_CREATED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("pg_cron is not installed in database \"%s\"", database),
					 errhint("Run CREATE EXTENSION pg_cron; here, then schedule the sweep again.")));
			break;
		case CRON_READY:
			break;
	}

	if (pg_proc_aclcheck(sweep_function(), GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the sweep job would run as role \"%s\", which may not execute agent_sessions.sweep()",
						GetUserNameFromId(GetUserId(), false)),
				 errhint("Schedule the sweep as the owner of the extension, or GRANT EXECUTE ON FUNCTION agent_sessions.sweep(integer, integer, boolean) to the role.")));
	if (check_enable_rls(get_relname_relid("sessions", get_namespace_oid("agent_sessions", false)),
						 InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the sweep job would run as role \"%s\", for which row-level security hides the sessions",
						GetUserNameFromId(GetUserId(), false)),
				 errhint("Schedule the sweep as the owner of agent_sessions.sessions, a superuser or a role with BYPASSRLS.")));

	values[0] = CStringGetTextDatum(SWEEP_JOB_NAME);
	values[1] = CStringGetTextDatum(schedule);
	values[2] = CStringGetTextDatum(SWEEP_COMMAND);

	SPI_connect();
	if (SPI_execute_with_args("SELECT cron.schedule($1, $2, $3)",
							  3, argtypes, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "cron.schedule returned no job id");
	jobid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	PG_RETURN_INT64(jobid);
}

/*
 * unschedule_sweep() RETURNS boolean: whether a job was removed.  Without
 * pg_cron there is no job to remove, which is not an error.
 */
Datum
unschedule_sweep(PG_FUNCTION_ARGS)
{
	const char *cron_database;
	const char *database = get_database_name(MyDatabaseId);
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	bool		removed;

	switch (cron_state(&cron_database))
	{
		case CRON_NOT_LOADED:
		case CRON_NOT_CREATED:
			PG_RETURN_BOOL(false);
		case CRON_OTHER_DATABASE:
			other_database_error(cron_database, "unschedule",
								 psprintf("SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = %s AND database = %s;",
										  quote_literal_cstr(other_job_name(database)),
										  quote_literal_cstr(database)));
			break;
		case CRON_READY:
			break;
	}

	/* cron.unschedule(name) raises an error for a missing job: look first */
	values[0] = CStringGetTextDatum(SWEEP_JOB_NAME);
	values[1] = CStringGetTextDatum(database);

	SPI_connect();
	if (SPI_execute_with_args("SELECT cron.unschedule(jobid) FROM cron.job"
							  " WHERE jobname = $1 AND database = $2",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not unschedule the sweep");
	removed = SPI_processed > 0;
	SPI_finish();

	PG_RETURN_BOOL(removed);
}
