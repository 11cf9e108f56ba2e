/*-------------------------------------------------------------------------
 *
 * scopes.c
 *	  sessions_scopes(): the trigger that keeps session_scopes equal to
 *	  sessions for the writes made outside the extension's functions.
 *
 * session_scopes holds each session's id and scopes (organization, project,
 * user, agent) with the listing indexes, so that ending a session, which
 * rewrites its row in sessions, does not write those indexes again.  It is
 * derived data, like an index:
 *	  - create_session() inserts both rows in one statement, so the row it
 *		is inserting is left alone here;
 *	  - any other INSERT (a PostgREST POST, a migration, a restore), and an
 *		UPDATE that changes a scope (the extension's never do), write the
 *		scopes row here, replacing a stale one (say, a row the owner wrote
 *		while repairing) or adding a missing one;
 *	  - DELETE and TRUNCATE remove the rows.
 *
 * The trigger runs with the rights of the statement's user, as the
 * statement itself does: a role that may write sessions needs the same
 * privilege on session_scopes (grant_api() grants both), and the row-level
 * security policy of session_scopes is that of sessions.  Its statements
 * name everything in full and call no function or operator found by name,
 * so it carries no SET search_path, which would cost every row written.
 *
 * session_scopes_guard(), on session_scopes itself, refuses the writes of
 * any other role than the table's owner that come from neither of the two.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(sessions_scopes);
PG_FUNCTION_INFO_V1(session_scopes_guard);

/* statements sessions_scopes() is running: session_scopes_guard lets them by */
static int	sync_depth = 0;

#define NUM_SCOPE_COLUMNS 5

/* the columns of session_scopes, in the order of its statements' $n */
static const char *const scope_columns[NUM_SCOPE_COLUMNS] = {
	"id", "organization_id", "project_id", "user_id", "agent_id"
};

static SPIPlanPtr upsert_plan = NULL;
static SPIPlanPtr delete_plan = NULL;

static Oid	scope_types[NUM_SCOPE_COLUMNS] = {
	UUIDOID, TEXTOID, UUIDOID, TEXTOID, TEXTOID
};

/* The scope columns of a sessions row, as $1..$5. */
static void
scope_values(HeapTuple tuple, TupleDesc desc, Datum *values, char *nulls)
{
	int			i;

	for (i = 0; i < NUM_SCOPE_COLUMNS; i++)
	{
		int			n = SPI_fnumber(desc, scope_columns[i]);
		bool		isnull;

		if (n <= 0)
			elog(ERROR, "sessions has no column \"%s\"", scope_columns[i]);
		if (SPI_gettypeid(desc, n) != scope_types[i])
			elog(ERROR, "column \"%s\" of sessions has an unexpected type",
				 scope_columns[i]);
		values[i] = heap_getattr(tuple, n, desc, &isnull);
		nulls[i] = isnull ? 'n' : ' ';
	}
}

static void
run(SPIPlanPtr *cache, const char *sql, HeapTuple tuple, TupleDesc desc)
{
	Datum		values[NUM_SCOPE_COLUMNS];
	char		nulls[NUM_SCOPE_COLUMNS];
	SPIPlanPtr	plan;
	int			ret;

	scope_values(tuple, desc, values, nulls);
	plan = as_keep_plan(cache, sql, NUM_SCOPE_COLUMNS, scope_types);
	sync_depth++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		sync_depth--;
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
}

Datum
sessions_scopes(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER INSERT, UPDATE, DELETE or TRUNCATE",
						"sessions_scopes")));

	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) &&
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired FOR EACH ROW on INSERT, UPDATE and DELETE",
						"sessions_scopes")));

	desc = RelationGetDescr(trigdata->tg_relation);

	/* create_session() has written this scopes row in its own statement */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		isnull;
		Datum		id = heap_getattr(trigdata->tg_trigtuple,
									  SPI_fnumber(desc, "id"), desc, &isnull);

		if (!isnull && as_scopes_written_with(DatumGetUUIDP(id)))
			return PointerGetDatum(NULL);
	}

	SPI_connect();

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		/* TRUNCATE fires no row trigger, and needs its own privilege */
		if (SPI_execute("TRUNCATE agent_sessions.session_scopes", false, 0) < 0)
			elog(ERROR, "could not truncate session_scopes");
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		run(&delete_plan,
			"DELETE FROM agent_sessions.session_scopes"
			" WHERE id OPERATOR(pg_catalog.=) $1",
			trigdata->tg_trigtuple, desc);
	else
		run(&upsert_plan,
			"INSERT INTO agent_sessions.session_scopes AS sc"
			" (id, organization_id, project_id, user_id, agent_id)"
			" VALUES ($1, $2, $3, $4, $5)"
			" ON CONFLICT (id) DO UPDATE SET"
			"  organization_id = excluded.organization_id,"
			"  project_id = excluded.project_id,"
			"  user_id = excluded.user_id,"
			"  agent_id = excluded.agent_id",
			TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
			trigdata->tg_newtuple : trigdata->tg_trigtuple, desc);

	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * session_scopes_guard(): BEFORE INSERT, UPDATE and DELETE of session_scopes,
 * each row.  The rows follow sessions, so only the extension writes them:
 * sessions_scopes() and create_session().  The owner of the table (or a
 * superuser) may write it directly, to repair rows loaded with triggers
 * off; any other role gets 42501, although it holds INSERT and UPDATE for
 * the trigger's and create_session()'s sake.
 */
Datum
session_scopes_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	result;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE INSERT, UPDATE or DELETE FOR EACH ROW",
						"session_scopes_guard")));

	rel = trigdata->tg_relation;
	result = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;

	if (sync_depth > 0)
		return PointerGetDatum(result);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		id = heap_getattr(result, SPI_fnumber(desc, "id"), desc, &isnull);

		if (!isnull && as_scopes_written_with(DatumGetUUIDP(id)))
			return PointerGetDatum(result);
	}

	if (pg_class_ownercheck(RelationGetRelid(rel), GetUserId()))
		return PointerGetDatum(result);

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to write session_scopes directly"),
			 errdetail("session_scopes follows sessions; only its owner may write it directly."),
			 errhint("Write agent_sessions.sessions, or call the agent_sessions functions.")));
	return PointerGetDatum(NULL);	/* not reached */
}
