/*-------------------------------------------------------------------------
 *
 * active.c
 *	  active_sessions(within, scope..., cursor, page_size): the sessions
 *	  with activity inside a recent window, newest activity first.
 *
 * A session is active when its last_activity_at lies within the window.
 * That includes sessions that ended inside it: a terminal session's
 * last_activity_at is its finished_at, since every move stamps both.
 *
 * Heartbeats write last_activity_at, so no index holds it (a heartbeat
 * must stay a HOT update).  The statement therefore reads two disjoint
 * parts, each from indexes that heartbeats never touch:
 *	  live sessions		  sessions_live_<scope>_idx (the live sessions of
 *						  the scope), filtered on last_activity_at;
 *	  finished sessions	  sessions_finished_window_idx, a range scan of
 *						  finished_at from the cutoff that checks the
 *						  driving scope on each index entry, so its cost
 *						  follows how many sessions ended inside the window;
 * each part keeps its newest page_size rows and the union is cut to
 * page_size again.  The cutoff is computed once here and bound.
 *
 * One kept plan per driving scope.  With several scopes the first of
 * project, agent, user, organization drives the index scan and the others
 * filter.  A scoped plan is generic, made before any cutoff is known; for
 * it the finished part also bounds finished_at from above ($9, always
 * infinity), since the planner takes a range with two unknown ends to be
 * narrow and a one-sided one to cover a third of the table, which would
 * send it to the scope's listing index instead (every session the scope
 * ever had).  A call without a scope is scoped to the caller's organization
 * claim, else its user claim; row-level security would limit it to those
 * sessions anyway, and this way an index serves it.  Only a caller with
 * neither claim (a DBA, the table owner) reads across all tenants, served
 * by sessions_live_idx and sessions_finished_window_idx with a plan made
 * for the actual cutoff.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(active_sessions);

/* Parameters of the statement, numbered as in SQL ($1 is the cutoff) */
#define P_CUTOFF			1
#define P_ORGANIZATION_ID	2
#define P_PROJECT_ID		3
#define P_USER_ID			4
#define P_AGENT_ID			5
#define P_AFTER_AT			6
#define P_AFTER_ID			7
#define P_PAGE_SIZE			8
#define P_FINISHED_UNTIL	9
#define ACTIVE_NARGS		9

/* The scopes in the order in which they drive the index scan */
typedef struct ActiveScope
{
	const char *column;
	int			param;
} ActiveScope;

static const ActiveScope scopes[] = {
	{"project_id", P_PROJECT_ID},
	{"agent_id", P_AGENT_ID},
	{"user_id", P_USER_ID},
	{"organization_id", P_ORGANIZATION_ID},
};

#define NUM_SCOPES		((int) lengthof(scopes))
#define UNSCOPED		NUM_SCOPES

static SPIPlanPtr active_plans[NUM_SCOPES + 1];

/*
 * The statement for driving scope "driver" (UNSCOPED for none): the scope
 * column is an index condition, the other scopes and the cursor filter.
 */
static char *
active_sql(int driver)
{
	StringInfoData filters;
	int			i;

	initStringInfo(&filters);
	for (i = 0; i < NUM_SCOPES; i++)
	{
		if (i == driver)
			appendStringInfo(&filters, " AND s.%s = $%d",
							 scopes[i].column, scopes[i].param);
		else
			appendStringInfo(&filters, " AND ($%d IS NULL OR s.%s = $%d)",
							 scopes[i].param, scopes[i].column, scopes[i].param);
	}
	appendStringInfo(&filters,
					 " AND ($%d IS NULL OR (s.last_activity_at, s.id) < ($%d, $%d))",
					 P_AFTER_AT, P_AFTER_AT, P_AFTER_ID);

	return psprintf("SELECT a.* FROM ("
					"(SELECT * FROM agent_sessions.sessions s"
					"  WHERE s.status = ANY (" AS_LIVE_STATUSES ")"
					"    AND s.last_activity_at >= $%d%s"
					"  ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $%d)"
					" UNION ALL "
					"(SELECT * FROM agent_sessions.sessions s"
					"  WHERE s.finished_at >= $%d AND s.finished_at <= $%d"
					"    AND s.last_activity_at >= $%d%s"
					"  ORDER BY s.last_activity_at DESC, s.id DESC LIMIT $%d)"
					") a ORDER BY a.last_activity_at DESC, a.id DESC LIMIT $%d",
					P_CUTOFF, filters.data, P_PAGE_SIZE,
					P_CUTOFF, P_FINISHED_UNTIL, P_CUTOFF, filters.data, P_PAGE_SIZE,
					P_PAGE_SIZE);
}

static SPIPlanPtr
active_plan(int driver)
{
	Oid			argtypes[ACTIVE_NARGS] = {
		TIMESTAMPTZOID, TEXTOID, UUIDOID, TEXTOID, TEXTOID,
		TIMESTAMPTZOID, UUIDOID, INT4OID, TIMESTAMPTZOID
	};

	if (active_plans[driver] != NULL)
		return active_plans[driver];

	/*
	 * A scoped statement is a generic plan; the unscoped one is planned for
	 * each cutoff, because only the actual cutoff tells the planner how few
	 * finished sessions lie after it.
	 */
	if (driver == UNSCOPED)
		return as_keep_custom_plan(&active_plans[driver], active_sql(driver),
								   ACTIVE_NARGS, argtypes);
	return as_keep_generic_plan(&active_plans[driver], active_sql(driver),
								ACTIVE_NARGS, argtypes);
}

/*
 * active_sessions(within, organization_id, project_id, user_id, agent_id,
 *				   after_last_activity_at, after_id, page_size)
 */
Datum
active_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[ACTIVE_NARGS];
	bool		nulls[ACTIVE_NARGS];
	Interval	zero = {0};
	Interval	longest = {.time = 0, .day = 0, .month = 100 * MONTHS_PER_YEAR};
	Datum		within;
	int32		page_size;
	TimestampTz finished_until;
	int			driver = UNSCOPED;
	int			i;

	if (PG_ARGISNULL(0))
		as_invalid_argument("within", "must not be NULL");
	within = PG_GETARG_DATUM(0);
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, within,
										  IntervalPGetDatum(&zero))) <= 0)
		as_invalid_argument("within", "must be greater than zero");
	/* a window reaching back further than timestamps go is a mistake */
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, within,
										  IntervalPGetDatum(&longest))) > 0)
		as_invalid_argument("within", "must be at most 100 years");
	if (PG_ARGISNULL(5) != PG_ARGISNULL(6))
		as_invalid_argument(PG_ARGISNULL(5) ? "after_last_activity_at" : "after_id",
							"must be given together with the other cursor field");
	page_size = PG_ARGISNULL(7) ? 100 : PG_GETARG_INT32(7);
	if (page_size < 1 || page_size > 10000)
		as_invalid_argument("page_size", "must be between 1 and 10000");

	/* $2..$7 are the arguments 2..7 */
	for (i = P_ORGANIZATION_ID - 1; i <= P_AFTER_ID - 1; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	values[P_CUTOFF - 1] = DirectFunctionCall2(timestamptz_mi_interval,
											   TimestampTzGetDatum(as_now()),
											   within);
	nulls[P_CUTOFF - 1] = false;
	values[P_PAGE_SIZE - 1] = Int32GetDatum(page_size);
	nulls[P_PAGE_SIZE - 1] = false;
	TIMESTAMP_NOEND(finished_until);
	values[P_FINISHED_UNTIL - 1] = TimestampTzGetDatum(finished_until);
	nulls[P_FINISHED_UNTIL - 1] = false;

	for (i = 0; i < NUM_SCOPES && driver == UNSCOPED; i++)
		if (!nulls[scopes[i].param - 1])
			driver = i;

	/* no scope given: the caller's own, as row-level security would have it */
	if (driver == UNSCOPED)
	{
		const char *organization_id = as_caller_organization_id();
		const char *user_id = as_caller_user_id();

		if (organization_id[0] != '\0')
		{
			values[P_ORGANIZATION_ID - 1] = CStringGetTextDatum(organization_id);
			nulls[P_ORGANIZATION_ID - 1] = false;
		}
		else if (user_id[0] != '\0')
		{
			values[P_USER_ID - 1] = CStringGetTextDatum(user_id);
			nulls[P_USER_ID - 1] = false;
		}
		for (i = 0; i < NUM_SCOPES && driver == UNSCOPED; i++)
			if (!nulls[scopes[i].param - 1])
				driver = i;
	}

	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	as_execute(active_plan(driver), values, nulls, true, 0);
	as_store_rows(rsinfo);
	SPI_finish();

	return (Datum) 0;
}
