/*-------------------------------------------------------------------------
 *
 * transitions.c
 *	  Moving a session through its lifecycle: transition() and the
 *	  start/complete/fail/cancel shorthands, and add_usage().
 *
 * A transition locks the session row, checks the move against the
 * lifecycle (lifecycle.c), updates the row and records the change.  So when
 * several writers race on one session exactly one move wins; the others see
 * the new status once the winner commits and get either the no-op (they
 * asked for the status the session now has) or PT409.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(transition);
PG_FUNCTION_INFO_V1(start_session);
PG_FUNCTION_INFO_V1(complete_session);
PG_FUNCTION_INFO_V1(fail_session);
PG_FUNCTION_INFO_V1(cancel_session);
PG_FUNCTION_INFO_V1(add_usage);

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr row_plan = NULL;
static SPIPlanPtr move_plan = NULL;
static SPIPlanPtr usage_plan = NULL;

#define MOVE_NARGS 15

static char *
uuid_text(const pg_uuid_t *id)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id)));
}

static pg_uuid_t *
required_id(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid id: must not be NULL"),
				 errdetail("Field \"id\" is invalid.")));
	return PG_GETARG_UUID_P(argno);
}

static Datum
optional_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? (Datum) 0 : PG_GETARG_DATUM(argno);
}

static void
require_object(Datum value, const char *name)
{
	Jsonb	   *jb;

	if (value == (Datum) 0)
		return;
	jb = DatumGetJsonbP(value);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: must be a JSON object", name),
				 errdetail("Field \"%s\" is invalid.", name)));
}

static void
require_not_empty(const char *value, const char *name)
{
	if (value != NULL && value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: must not be empty", name),
				 errdetail("Field \"%s\" is invalid.", name)));
}

static void
require_finite(Datum value, const char *name)
{
	if (value == (Datum) 0)
		return;
	if (numeric_is_nan(DatumGetNumeric(value)) ||
		numeric_is_inf(DatumGetNumeric(value)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: must be a finite number", name),
				 errdetail("Field \"%s\" is invalid.", name)));
}

static const char *
default_end_reason(AsStatus to)
{
	switch (to)
	{
		case AS_COMPLETED:
			return "completed";
		case AS_FAILED:
			return "error";
		case AS_CANCELLED:
			return "cancelled";
		default:
			return NULL;
	}
}

/*
 * Move the locked row of session "id" from its status "from" to "to" in
 * one UPDATE and record the change.  *activity is the row's activity before
 * and is set to the one after.  Returns the new row (in the memory context
 * current at SPI_connect).  Must run inside SPI; the caller has checked the
 * move against the lifecycle.
 *
 * With via_starting (queued -> running), the session passes through
 * starting: the UPDATE writes the end state directly, bumps the version
 * twice, and both steps are recorded, queued -> starting and starting ->
 * running, exactly as two single moves would record them.  (The row version
 * in between could never be seen by another transaction; writing it would
 * cost a second non-HOT update.)
 */
static Datum
move_locked(const pg_uuid_t *id, AsStatus from, AsStatus to, bool via_starting,
			const char **activity, const AsMoveExtras *x, TimestampTz now)
{
	Datum		result;
	Oid			argtypes[MOVE_NARGS] = {
		UUIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TEXTOID, JSONBOID, JSONBOID, TEXTOID,
		TEXTOID, TEXTOID, JSONBOID, NUMERICOID, INT8OID
	};
	Datum		values[MOVE_NARGS];
	bool		nulls[MOVE_NARGS];
	const char *to_activity;
	const char *end_reason = NULL;
	AsChange	change = {0};
	bool		isnull;
	int			i;

	if (AS_IS_TERMINAL(to))
	{
		to_activity = "idle";
		end_reason = x->end_reason ? x->end_reason : default_end_reason(to);
	}
	else if (to == AS_RUNNING)
		to_activity = "busy";
	else
		to_activity = *activity;

	memset(values, 0, sizeof(values));
	memset(nulls, true, sizeof(nulls));
	values[0] = UUIDPGetDatum(id);
	values[1] = CStringGetTextDatum(as_status_name(to));
	values[2] = CStringGetTextDatum(to_activity);
	values[3] = TimestampTzGetDatum(now);
	values[4] = TimestampTzGetDatum(now);	/* started_at */
	values[5] = TimestampTzGetDatum(now);	/* finished_at */
	if (end_reason)
		values[6] = CStringGetTextDatum(end_reason);
	values[7] = x->output;
	values[8] = x->error;
	values[9] = x->summary;
	values[10] = x->output_preview;
	values[11] = x->machine_id;
	values[12] = x->usage;
	values[13] = x->cost;
	for (i = 0; i < 14; i++)
		nulls[i] = (values[i] == (Datum) 0);
	values[14] = Int64GetDatum(via_starting ? 2 : 1);
	nulls[0] = nulls[1] = nulls[2] = nulls[3] = nulls[14] = false;
	nulls[4] = (to != AS_RUNNING);
	nulls[5] = !AS_IS_TERMINAL(to);
	nulls[6] = (end_reason == NULL);

	as_execute(as_keep_plan(&move_plan,
							"UPDATE agent_sessions.sessions AS s SET"
							"  status = $2::agent_sessions.session_status,"
							"  activity = $3::agent_sessions.session_activity,"
							"  version = version OPERATOR(pg_catalog.+) $15,"
							"  updated_at = $4,"
							"  last_activity_at = $4,"
							"  started_at = COALESCE($5, started_at),"
							"  finished_at = $6,"
							"  end_reason = COALESCE($7, end_reason),"
							"  output = COALESCE($8, output),"
							"  error = COALESCE($9, error),"
							"  summary = COALESCE($10, summary),"
							"  output_preview = COALESCE($11, output_preview),"
							"  machine_id = COALESCE($12, machine_id),"
							"  connected_at = COALESCE(connected_at, CASE WHEN $12 IS NOT NULL THEN $4 END),"
							"  usage = CASE WHEN $13 IS NULL THEN usage"
							"               ELSE agent_sessions.usage_add(usage, $13) END,"
							"  cost = cost OPERATOR(pg_catalog.+) COALESCE($14, 0::pg_catalog.numeric)"
							" WHERE id OPERATOR(pg_catalog.=) $1"
							" RETURNING s AS session_row, organization_id, user_id,"
							"   activity, version",
							MOVE_NARGS, argtypes),
			   values, nulls, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "locked session %s vanished", uuid_text(id));
	result = as_get_row(0, "session_row");

	change.id = *id;
	change.organization_id = as_get_text_attr(0, "organization_id");
	change.user_id = as_get_text_attr(0, "user_id");
	change.to_activity = as_get_text_attr(0, "activity");
	change.version = DatumGetInt64(as_get_attr(0, "version", &isnull));
	change.reason = x->reason;
	change.at = now;
	if (via_starting)
	{
		/* the step in between changes the status only */
		AsChange	first = change;

		first.from_status = as_status_name(from);
		first.to_status = as_status_name(AS_STARTING);
		first.from_activity = first.to_activity = *activity;
		first.version = change.version - 1;
		as_record_change(&first);
		from = AS_STARTING;
	}
	change.from_status = as_status_name(from);
	change.to_status = as_status_name(to);
	change.from_activity = *activity;
	as_record_change(&change);

	*activity = change.to_activity;
	return result;
}

/*
 * One legal step of session "id", whose row the caller has locked, from
 * status "from" to "to": update the row and record the change.  *activity
 * is the row's activity before the step and is set to the one after it.
 * Returns the new row (in the memory context current at SPI_connect).  Must
 * run inside SPI; the caller has checked the move against the lifecycle.
 */
Datum
as_move_locked(const pg_uuid_t *id, AsStatus from, AsStatus to,
			   const char **activity, const AsMoveExtras *x, TimestampTz now)
{
	return move_locked(id, from, to, false, activity, x, now);
}

/*
 * Lock session "id" and leave its status, activity and version in
 * SPI_tuptable; PT404 if missing.  (Only those three: building a result of
 * every column would cost more than the rest of the statement.)
 */
static void
lock_session(const pg_uuid_t *id)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];

	values[0] = UUIDPGetDatum(id);
	as_execute(as_keep_plan(&lock_plan,
							"SELECT status, activity, version"
							" FROM agent_sessions.sessions"
							" WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
							1, argtypes),
			   values, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_NOT_FOUND),
				 errmsg("session %s does not exist", uuid_text(id))));
}

/* The whole row of session "id", which this transaction has locked. */
static Datum
locked_row(const pg_uuid_t *id)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];

	values[0] = UUIDPGetDatum(id);
	as_execute(as_keep_plan(&row_plan,
							"SELECT s AS session_row FROM agent_sessions.sessions AS s"
							" WHERE id OPERATOR(pg_catalog.=) $1",
							1, argtypes),
			   values, NULL, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "locked session %s vanished", uuid_text(id));
	return as_get_row(0, "session_row");
}

/*
 * Move session "id" to status "to" and return its row.  Moving to the
 * status the session already has returns the row unchanged.  start_session
 * from queued walks through starting, recording both steps.
 */
static Datum
move(const pg_uuid_t *id, AsStatus to, const AsMoveExtras *x)
{
	TimestampTz now;
	AsStatus	from;
	const char *activity;
	int64		version;
	bool		isnull;
	Datum		result;

	require_not_empty(x->end_reason, "end_reason");
	require_object(x->output, "output");
	require_object(x->error, "error");
	require_object(x->usage, "usage");
	require_finite(x->cost, "cost");

	SPI_connect();
	lock_session(id);

	/*
	 * Read the clock only once the row is ours: a writer that got the lock
	 * first has already stamped the row, so the session's timestamps and
	 * the times of its events never go back.
	 */
	now = as_now();
	from = as_status_from_datum(as_get_attr(0, "status", &isnull));
	version = DatumGetInt64(as_get_attr(0, "version", &isnull));

	if (from == to)
	{
		result = locked_row(id);
		SPI_finish();
		return result;
	}

	if (x->has_expected_version && x->expected_version != version)
		ereport(ERROR,
				(errcode(ERRCODE_AS_CONFLICT),
				 errmsg("session %s is at version " INT64_FORMAT ", not " INT64_FORMAT,
						uuid_text(id), version, x->expected_version),
				 errdetail("The session is %s.", as_status_name(from)),
				 errhint("Read the session again and retry with its current version.")));

	if (!as_transition_allowed(from, to) &&
		!(from == AS_QUEUED && to == AS_RUNNING))
		ereport(ERROR,
				(errcode(ERRCODE_AS_CONFLICT),
				 errmsg("cannot move session %s from %s to %s",
						uuid_text(id), as_status_name(from), as_status_name(to)),
				 AS_IS_TERMINAL(from) ?
				 errdetail("The session is %s, and %s sessions are final.",
						   as_status_name(from), as_status_name(from)) :
				 errdetail("The session is %s.", as_status_name(from))));

	activity = as_get_text_attr(0, "activity");
	result = move_locked(id, from, to, from == AS_QUEUED && to == AS_RUNNING,
						 &activity, x, now);

	SPI_finish();
	return result;
}

static void
expected_version_arg(FunctionCallInfo fcinfo, int argno, AsMoveExtras *x)
{
	if (!PG_ARGISNULL(argno))
	{
		x->has_expected_version = true;
		x->expected_version = PG_GETARG_INT64(argno);
	}
}

static const char *
text_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static AsStatus
status_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid to_status: must not be NULL"),
				 errdetail("Field \"to_status\" is invalid.")));
	return as_status_from_datum(PG_GETARG_DATUM(argno));
}

/*
 * transition(id, to_status, expected_version, reason, output, error,
 *			  summary, output_preview, end_reason)
 */
Datum
transition(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	AsStatus	to = status_arg(fcinfo, 1);
	AsMoveExtras	x = {0};

	expected_version_arg(fcinfo, 2, &x);
	x.reason = text_arg(fcinfo, 3);
	x.output = optional_arg(fcinfo, 4);
	x.error = optional_arg(fcinfo, 5);
	x.summary = optional_arg(fcinfo, 6);
	x.output_preview = optional_arg(fcinfo, 7);
	x.end_reason = text_arg(fcinfo, 8);
	PG_RETURN_DATUM(move(id, to, &x));
}

/* start_session(id, machine_id, expected_version, reason) */
Datum
start_session(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	AsMoveExtras	x = {0};

	x.machine_id = optional_arg(fcinfo, 1);
	if (x.machine_id)
		as_check_id_arg("machine_id", x.machine_id);
	expected_version_arg(fcinfo, 2, &x);
	x.reason = text_arg(fcinfo, 3);
	PG_RETURN_DATUM(move(id, AS_RUNNING, &x));
}

/*
 * complete_session(id, output, summary, output_preview, usage, cost,
 *					expected_version, reason)
 */
Datum
complete_session(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	AsMoveExtras	x = {0};

	x.output = optional_arg(fcinfo, 1);
	x.summary = optional_arg(fcinfo, 2);
	x.output_preview = optional_arg(fcinfo, 3);
	x.usage = optional_arg(fcinfo, 4);
	x.cost = optional_arg(fcinfo, 5);
	expected_version_arg(fcinfo, 6, &x);
	x.reason = text_arg(fcinfo, 7);
	PG_RETURN_DATUM(move(id, AS_COMPLETED, &x));
}

/*
 * fail_session(id, error, message, end_reason, expected_version, reason)
 *
 * error is stored as given (an object shaped like {message, type, key,
 * data, ...}); message, when given, is set as its "message".
 */
Datum
fail_session(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	AsMoveExtras	x = {0};
	Datum		error = optional_arg(fcinfo, 1);

	require_object(error, "error");
	if (!PG_ARGISNULL(2))
	{
		StringInfoData buf;
		Datum		message;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"message\": ");
		escape_json(&buf, text_to_cstring(PG_GETARG_TEXT_PP(2)));
		appendStringInfoChar(&buf, '}');
		message = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		error = error ? DirectFunctionCall2(jsonb_concat, error, message) : message;
	}
	x.error = error;
	x.end_reason = text_arg(fcinfo, 3);
	expected_version_arg(fcinfo, 4, &x);
	x.reason = text_arg(fcinfo, 5);
	PG_RETURN_DATUM(move(id, AS_FAILED, &x));
}

/* cancel_session(id, reason, expected_version) */
Datum
cancel_session(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	AsMoveExtras	x = {0};

	x.reason = text_arg(fcinfo, 1);
	expected_version_arg(fcinfo, 2, &x);
	PG_RETURN_DATUM(move(id, AS_CANCELLED, &x));
}

/*
 * add_usage(id, usage, cost): add token counts and cost to a session, in
 * any status (usage is often reported after the session ends).  Numbers
 * under the same key are summed; other values replace the stored ones.
 */
Datum
add_usage(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = required_id(fcinfo, 0);
	Oid			argtypes[4] = {UUIDOID, JSONBOID, NUMERICOID, TIMESTAMPTZOID};
	Datum		values[4];
	bool		nulls[4];
	TimestampTz now = as_now();
	AsChange	change = {0};
	Datum		result;
	bool		isnull;

	values[0] = UUIDPGetDatum(id);
	nulls[0] = false;
	values[1] = optional_arg(fcinfo, 1);
	nulls[1] = PG_ARGISNULL(1);
	values[2] = optional_arg(fcinfo, 2);
	nulls[2] = PG_ARGISNULL(2);
	values[3] = TimestampTzGetDatum(now);
	nulls[3] = false;
	require_object(values[1], "usage");
	require_finite(values[2], "cost");

	/* nothing to add: nothing changes, so the version stays */
	if ((nulls[1] || JB_ROOT_COUNT(DatumGetJsonbP(values[1])) == 0) &&
		(nulls[2] || DatumGetBool(DirectFunctionCall2(numeric_eq, values[2],
													  NumericGetDatum(int64_to_numeric(0))))))
		PG_RETURN_DATUM(as_get_session(id));

	SPI_connect();
	as_execute(as_keep_plan(&usage_plan,
							"UPDATE agent_sessions.sessions AS s SET"
							"  usage = CASE WHEN $2 IS NULL THEN usage"
							"               ELSE agent_sessions.usage_add(usage, $2) END,"
							"  cost = cost OPERATOR(pg_catalog.+) COALESCE($3, 0::pg_catalog.numeric),"
							"  version = version OPERATOR(pg_catalog.+) 1,"
							"  updated_at = GREATEST(updated_at, $4)"
							" WHERE id OPERATOR(pg_catalog.=) $1"
							" RETURNING s AS session_row, organization_id, user_id,"
							"   status, activity, version, updated_at",
							4, argtypes),
			   values, nulls, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_NOT_FOUND),
				 errmsg("session %s does not exist", uuid_text(id))));
	result = as_get_row(0, "session_row");

	change.id = *id;
	change.organization_id = as_get_text_attr(0, "organization_id");
	change.user_id = as_get_text_attr(0, "user_id");
	change.from_status = change.to_status = as_get_text_attr(0, "status");
	change.from_activity = change.to_activity = as_get_text_attr(0, "activity");
	change.version = DatumGetInt64(as_get_attr(0, "version", &isnull));
	change.at = DatumGetTimestampTz(as_get_attr(0, "updated_at", &isnull));
	as_record_change(&change);

	SPI_finish();
	PG_RETURN_DATUM(result);
}
