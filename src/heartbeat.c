/*-------------------------------------------------------------------------
 *
 * heartbeat.c
 *	  heartbeat(id, activity): a worker reports that its session is alive,
 *	  and learns whether it should stop.
 *
 * The hot path.  A heartbeat writes last_activity_at (and, when the
 * activity flips, activity, version and updated_at), none of which is
 * indexed, so the update is HOT.  A heartbeat that changes nothing but the
 * time, arriving sooner than agent_sessions.heartbeat_granularity after the
 * last write, writes nothing.  Each outcome costs one statement in the
 * common case:
 *
 *	  activity flips	 -> flip statement (an event and a notification)
 *	  time only			 -> touch statement
 *	  coalesced, ended	 -> the touch matches nothing; one read reports why
 *
 * Both writes re-check that the session is live inside the UPDATE, so a
 * heartbeat racing a transition either lands before it or reports the new
 * status; it never revives a terminal session.  A flip that waited for the
 * row behind another writer keeps the later of the two times (GREATEST), so
 * a session's timestamps and the times of its events never go back.
 *
 * heartbeat() carries no SET search_path, which would cost every call a
 * GUC save and restore: its statements, and the history row a flip
 * records, name every table, type and operator in full, so the caller's
 * search_path cannot change what they call.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(heartbeat);

static SPIPlanPtr flip_plan = NULL;
static SPIPlanPtr touch_plan = NULL;
static SPIPlanPtr read_plan = NULL;

#define RESULT_COLUMNS 8

/*
 * The touch and the read return these columns in this order, and the flip
 * starts with them.
 */
#define COL_STATUS			2
#define COL_ACTIVITY		3
#define COL_VERSION			4
#define COL_LAST_ACTIVITY	5

/* The result row type, looked up once per function (an OID never changes type) */
static Oid	result_fn = InvalidOid;
static Oid	result_type = InvalidOid;

Datum
heartbeat(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id;
	TimestampTz now = as_now();
	TupleDesc	desc;
	Datum		out[RESULT_COLUMNS];
	bool		outnulls[RESULT_COLUMNS] = {false};
	Datum		values[3];
	bool		accepted = false;
	bool		isnull;
	AsStatus	status = AS_QUEUED;
	int64		version = 0;
	TimestampTz last_activity = 0;
	char	   *activity = NULL;
	HeapTuple	result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid id: must not be NULL"),
				 errdetail("Field \"id\" is invalid.")));
	id = PG_GETARG_UUID_P(0);
	if (!PG_ARGISNULL(1))
		activity = DatumGetCString(DirectFunctionCall1(enum_out, PG_GETARG_DATUM(1)));

	if (fcinfo->flinfo->fn_oid != result_fn || !OidIsValid(result_type))
	{
		Oid			typid;

		if (get_call_result_type(fcinfo, &typid, NULL) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "heartbeat must return a composite type");
		result_type = typid;
		result_fn = fcinfo->flinfo->fn_oid;
	}

	values[0] = UUIDPGetDatum(id);
	values[1] = TimestampTzGetDatum(now);

	SPI_connect();

	if (activity != NULL)
	{
		Oid			argtypes[3] = {UUIDOID, TIMESTAMPTZOID, TEXTOID};

		values[2] = CStringGetTextDatum(activity);
		as_execute(as_keep_plan(&flip_plan,
								"UPDATE agent_sessions.sessions SET"
								"  activity = $3::agent_sessions.session_activity,"
								"  version = version OPERATOR(pg_catalog.+) 1,"
								"  updated_at = GREATEST(updated_at, $2),"
								"  last_activity_at = GREATEST(last_activity_at, $2)"
								" WHERE id OPERATOR(pg_catalog.=) $1"
								"   AND status OPERATOR(pg_catalog.=) ANY (" AS_LIVE_STATUSES ")"
								"   AND activity OPERATOR(pg_catalog.<>) $3::agent_sessions.session_activity"
								" RETURNING id, status, activity, version,"
								"   last_activity_at, updated_at, organization_id, user_id",
								3, argtypes),
				   values, NULL, false, 1);
		if (SPI_processed == 1)
		{
			AsChange	change = {0};

			accepted = true;
			change.id = *id;
			change.organization_id = as_get_text_attr(0, "organization_id");
			change.user_id = as_get_text_attr(0, "user_id");
			change.from_status = change.to_status = as_get_text_attr(0, "status");
			change.from_activity = strcmp(activity, "busy") == 0 ? "idle" : "busy";
			change.to_activity = activity;
			change.version = DatumGetInt64(as_get_attnum(0, COL_VERSION));
			change.at = DatumGetTimestampTz(as_get_attr(0, "updated_at", &isnull));
			/* keep the row: recording the change reuses SPI_tuptable */
			out[1] = as_get_attnum(0, COL_STATUS);
			out[2] = PG_GETARG_DATUM(1);
			version = change.version;
			last_activity = DatumGetTimestampTz(as_get_attnum(0, COL_LAST_ACTIVITY));
			status = as_status_from_datum(out[1]);
			as_record_change(&change);
		}
	}

	if (!accepted)
	{
		Oid			argtypes[3] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

		values[2] = TimestampTzGetDatum(now - (TimestampTz) as_heartbeat_granularity_ms * 1000);
		as_execute(as_keep_plan(&touch_plan,
								"UPDATE agent_sessions.sessions SET"
								"  last_activity_at = $2"
								" WHERE id OPERATOR(pg_catalog.=) $1"
								"   AND status OPERATOR(pg_catalog.=) ANY (" AS_LIVE_STATUSES ")"
								"   AND last_activity_at OPERATOR(pg_catalog.<=) $3"
								" RETURNING id, status, activity, version,"
								"   last_activity_at",
								3, argtypes),
				   values, NULL, false, 1);
		accepted = (SPI_processed == 1);

		if (!accepted)
		{
			Oid			readtypes[1] = {UUIDOID};

			/*
			 * Not read-only, so that the read takes a new snapshot: when the
			 * touch waited for a transition that made the session terminal,
			 * the snapshot of the calling statement still shows it live.
			 */
			as_execute(as_keep_plan(&read_plan,
									"SELECT id, status, activity, version,"
									"   last_activity_at"
									" FROM agent_sessions.sessions"
									" WHERE id OPERATOR(pg_catalog.=) $1",
									1, readtypes),
					   values, NULL, false, 1);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_AS_NOT_FOUND),
						 errmsg("session %s does not exist",
								DatumGetCString(DirectFunctionCall1(uuid_out,
																	UUIDPGetDatum(id))))));
		}
		/* the enums are OIDs, passed by value: they outlive SPI_finish() */
		out[1] = as_get_attnum(0, COL_STATUS);
		out[2] = as_get_attnum(0, COL_ACTIVITY);
		version = DatumGetInt64(as_get_attnum(0, COL_VERSION));
		last_activity = DatumGetTimestampTz(as_get_attnum(0, COL_LAST_ACTIVITY));
		status = as_status_from_datum(out[1]);
	}

	SPI_finish();

	/*
	 * id, status, activity, version, last_activity_at, accepted, terminal,
	 * cancel_requested; an int8 or a timestamptz is a pointer on builds
	 * without 8-byte pass-by-value, so it is made here, outside SPI memory.
	 */
	out[0] = UUIDPGetDatum(id);
	out[3] = Int64GetDatum(version);
	out[4] = TimestampTzGetDatum(last_activity);
	out[5] = BoolGetDatum(accepted);
	out[6] = BoolGetDatum(AS_IS_TERMINAL(status));
	out[7] = BoolGetDatum(status == AS_CANCELLED);

	desc = lookup_rowtype_tupdesc(result_type, -1);
	result = heap_form_tuple(desc, out, outnulls);
	ReleaseTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}
