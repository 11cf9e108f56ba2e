/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The BEFORE UPDATE trigger that holds direct UPDATEs of sessions (a
 *	  PostgREST PATCH, a hand-written statement) to the lifecycle.
 *
 * Statements the extension runs itself pass straight through.  Any other
 * UPDATE:
 *	  - may not change the id, the version or any timestamp (428C9);
 *	  - may change the status only along the lifecycle (PT409), and then
 *		gets the timestamps, activity and end_reason the move implies;
 *	  - may not make a terminal session busy (PT409);
 *	  - may not make a tenancy or idempotency key longer than an index
 *		entry can hold (22023);
 *	  - bumps the version and updated_at when it changes anything, and
 *		records status and activity changes in session_events.
 * Every UPDATE that bumps the version, the extension's own included, also
 * wakes the session's waiters at commit (wait.c).
 * Notifications are sent only by the extension's functions, never from here.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(sessions_guard);

static const char *const protected_columns[] = {
	"id", "version", "created_at", "updated_at", "started_at",
	"finished_at", "last_activity_at", "connected_at", "request_hash"
};

static int
attnum(TupleDesc desc, const char *name)
{
	int			n = SPI_fnumber(desc, name);

	if (n <= 0)
		elog(ERROR, "sessions has no column \"%s\"", name);
	return n;
}

static bool
column_changed(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc, int n)
{
	Form_pg_attribute att = TupleDescAttr(desc, n - 1);
	bool		oldnull,
				newnull;
	Datum		oldval = heap_getattr(oldtup, n, desc, &oldnull);
	Datum		newval = heap_getattr(newtup, n, desc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	/* by content: a value read from disk and the same value typed anew */
	return !datum_image_eq(oldval, newval, att->attbyval, att->attlen);
}

/* Whether the UPDATE changes any column at all. */
static bool
row_changed(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc)
{
	int			n;

	for (n = 1; n <= desc->natts; n++)
		if (!TupleDescAttr(desc, n - 1)->attisdropped &&
			column_changed(oldtup, newtup, desc, n))
			return true;
	return false;
}

static char *
label(HeapTuple tup, TupleDesc desc, int n)
{
	return SPI_getvalue(tup, desc, n);
}

/*
 * An UPDATE that bumps a session's version wakes its waiters when it
 * commits (wait.c), whatever wrote it: the extension's functions, set-based
 * statements of its own, or a direct UPDATE.
 */
static void
note_version_bump(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc)
{
	static int	version_att = 0;
	bool		isnull;
	int64		old_version;
	int64		new_version;

	/* every heartbeat comes here: find the column by name only when it moved */
	if (version_att <= 0 || version_att > desc->natts ||
		strcmp(NameStr(TupleDescAttr(desc, version_att - 1)->attname), "version") != 0)
		version_att = attnum(desc, "version");

	old_version = DatumGetInt64(heap_getattr(oldtup, version_att, desc, &isnull));
	new_version = DatumGetInt64(heap_getattr(newtup, version_att, desc, &isnull));

	if (old_version != new_version)
		as_wait_note_change(DatumGetUUIDP(heap_getattr(newtup, attnum(desc, "id"),
													   desc, &isnull)));
}

Datum
sessions_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup,
				newtup;
	int			status_att,
				activity_att;
	AsStatus	from,
				to;
	char	   *old_activity;
	char	   *new_activity;
	bool		status_changed,
				activity_changed;
	TimestampTz now;
	int			cols[8];
	Datum		vals[8];
	bool		nulls[8];
	int			ncols = 0;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"sessions_guard")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE UPDATE FOR EACH ROW",
						"sessions_guard")));

	newtup = trigdata->tg_newtuple;
	oldtup = trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);

	if (as_in_api_write())
	{
		note_version_bump(oldtup, newtup, desc);
		return PointerGetDatum(newtup);
	}

	for (i = 0; i < (int) lengthof(protected_columns); i++)
		if (column_changed(oldtup, newtup, desc, attnum(desc, protected_columns[i])))
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("column \"%s\" of a session can only be set by agent_sessions",
							protected_columns[i]),
					 errhint("Move sessions with the agent_sessions functions; they set ids, versions and timestamps.")));

	for (i = 0; i < as_num_key_columns; i++)
	{
		int			n = attnum(desc, as_key_columns[i]);
		bool		isnull;
		Datum		value = heap_getattr(newtup, n, desc, &isnull);

		if (!isnull && column_changed(oldtup, newtup, desc, n))
			as_check_id_arg(as_key_columns[i], value);
	}

	/* nothing changed at all: leave the version and updated_at alone */
	if (!row_changed(oldtup, newtup, desc))
		return PointerGetDatum(newtup);

	status_att = attnum(desc, "status");
	activity_att = attnum(desc, "activity");

	/*
	 * A NULL status or activity is left to the NOT NULL constraints, which
	 * run after this trigger and raise 23502.
	 */
	if (heap_attisnull(newtup, status_att, desc) ||
		heap_attisnull(newtup, activity_att, desc))
		return PointerGetDatum(newtup);

	from = as_status_from_name(label(oldtup, desc, status_att));
	to = as_status_from_name(label(newtup, desc, status_att));
	old_activity = label(oldtup, desc, activity_att);
	new_activity = label(newtup, desc, activity_att);
	status_changed = (from != to);

	if (status_changed && !as_transition_allowed(from, to))
		ereport(ERROR,
				(errcode(ERRCODE_AS_CONFLICT),
				 errmsg("cannot move session %s from %s to %s",
						label(oldtup, desc, attnum(desc, "id")),
						as_status_name(from), as_status_name(to)),
				 errdetail("The session is %s.", as_status_name(from))));

	now = as_now();

	if (AS_IS_TERMINAL(to))
	{
		if (!status_changed && strcmp(new_activity, "idle") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_AS_CONFLICT),
					 errmsg("cannot make session %s busy",
							label(oldtup, desc, attnum(desc, "id"))),
					 errdetail("The session is %s, and ended sessions are idle.",
							   as_status_name(to))));
		new_activity = "idle";
	}
	activity_changed = strcmp(old_activity, new_activity) != 0;

	cols[ncols] = attnum(desc, "version");
	vals[ncols] = Int64GetDatum(DatumGetInt64(heap_getattr(oldtup, cols[ncols], desc, &nulls[ncols])) + 1);
	nulls[ncols++] = false;
	cols[ncols] = attnum(desc, "updated_at");
	vals[ncols] = TimestampTzGetDatum(now);
	nulls[ncols++] = false;
	if (status_changed || activity_changed)
	{
		cols[ncols] = attnum(desc, "last_activity_at");
		vals[ncols] = TimestampTzGetDatum(now);
		nulls[ncols++] = false;
	}
	if (status_changed && to == AS_RUNNING)
	{
		cols[ncols] = attnum(desc, "started_at");
		vals[ncols] = TimestampTzGetDatum(now);
		nulls[ncols++] = false;
	}
	if (status_changed && AS_IS_TERMINAL(to))
	{
		int			end_att = attnum(desc, "end_reason");
		bool		end_null;

		cols[ncols] = attnum(desc, "finished_at");
		vals[ncols] = TimestampTzGetDatum(now);
		nulls[ncols++] = false;
		if (strcmp(label(newtup, desc, activity_att), "idle") != 0)
		{
			cols[ncols] = activity_att;
			vals[ncols] = DirectFunctionCall2(enum_in, CStringGetDatum("idle"),
											  ObjectIdGetDatum(TupleDescAttr(desc, activity_att - 1)->atttypid));
			nulls[ncols++] = false;
		}
		(void) heap_getattr(newtup, end_att, desc, &end_null);
		if (end_null)
		{
			cols[ncols] = end_att;
			vals[ncols] = CStringGetTextDatum(to == AS_COMPLETED ? "completed" :
											  to == AS_FAILED ? "error" : "cancelled");
			nulls[ncols++] = false;
		}
	}

	newtup = heap_modify_tuple_by_cols(newtup, desc, ncols, cols, vals, nulls);

	if (status_changed || activity_changed)
	{
		AsChange	change = {0};
		bool		isnull;

		memcpy(&change.id,
			   DatumGetUUIDP(heap_getattr(newtup, attnum(desc, "id"), desc, &isnull)),
			   sizeof(pg_uuid_t));
		change.organization_id = label(newtup, desc, attnum(desc, "organization_id"));
		change.user_id = label(newtup, desc, attnum(desc, "user_id"));
		change.from_status = as_status_name(from);
		change.to_status = as_status_name(to);
		change.from_activity = old_activity;
		change.to_activity = new_activity;
		change.version = DatumGetInt64(vals[0]);
		change.reason = "direct update";
		change.at = now;
		change.quiet = true;

		SPI_connect();
		as_record_change(&change);
		SPI_finish();
	}

	note_version_bump(oldtup, newtup, desc);
	return PointerGetDatum(newtup);
}
