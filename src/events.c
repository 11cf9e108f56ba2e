/*-------------------------------------------------------------------------
 *
 * events.c
 *	  What happens after a session changes: its history row and its
 *	  notification.
 *
 * Every status or activity change appends one row to session_events and,
 * unless agent_sessions.notify is off, sends
 *	  pg_notify('agent_sessions', '{"id": ..., "status": ..., "activity": ...,
 *									"version": ...}')
 * from the calling function itself, never from a trigger (on Citus a
 * trigger's NOTIFY fires on a worker and breaks two-phase commit).
 * Heartbeats that only move last_activity_at record nothing.
 *
 * Every call, whatever changed, also notes the session for wait.c, so the
 * session's waiters wake when the transaction commits.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#define NOTIFY_CHANNEL "agent_sessions"

static SPIPlanPtr insert_event_plan = NULL;

/* Whether a change is an event: it moved the status or the activity. */
static bool
is_event(const AsChange *change)
{
	return change->from_status == NULL ||
		strcmp(change->from_status, change->to_status) != 0 ||
		change->from_activity == NULL ||
		strcmp(change->from_activity, change->to_activity) != 0;
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * Record a change of session "id" to (to_status, to_activity, version).
 * from_status is NULL when the session was just created.  Must run inside
 * SPI; clobbers SPI_tuptable.
 */
void
as_record_change(const AsChange *change)
{
	if (is_event(change))
	{
		Oid			argtypes[11] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
		Datum		values[11];
		bool		nulls[11];
		SPIPlanPtr	plan;

		plan = as_keep_plan(&insert_event_plan,
							"INSERT INTO agent_sessions.session_events"
							" (session_id, organization_id, user_id,"
							"  from_status, to_status, from_activity, to_activity,"
							"  version, at, actor, reason)"
							" VALUES ($1, $2, $3,"
							"  $4::agent_sessions.session_status,"
							"  $5::agent_sessions.session_status,"
							"  $6::agent_sessions.session_activity,"
							"  $7::agent_sessions.session_activity,"
							"  $8, $9, $10, $11)",
							11, argtypes);

		values[0] = UUIDPGetDatum(&change->id);
		nulls[0] = false;
		values[1] = text_or_null(change->organization_id, &nulls[1]);
		values[2] = text_or_null(change->user_id, &nulls[2]);
		values[3] = text_or_null(change->from_status, &nulls[3]);
		values[4] = text_or_null(change->to_status, &nulls[4]);
		values[5] = text_or_null(change->from_activity, &nulls[5]);
		values[6] = text_or_null(change->to_activity, &nulls[6]);
		values[7] = Int64GetDatum(change->version);
		nulls[7] = false;
		values[8] = TimestampTzGetDatum(change->at);
		nulls[8] = false;
		values[9] = text_or_null(as_caller_actor(), &nulls[9]);
		values[10] = text_or_null(change->reason, &nulls[10]);

		as_execute(plan, values, nulls, false, 0);
	}
	as_announce_change(change);
}

/*
 * What every recorded change gets, once its row (and its history row, if
 * it is an event) is written: its session's waiters are woken if the
 * transaction commits, and an event is notified unless it is quiet or
 * agent_sessions.notify is off.  as_record_change calls it; the sweep,
 * which writes its history rows in its own statement, calls it directly.
 */
void
as_announce_change(const AsChange *change)
{
	as_wait_note_change(&change->id);
	if (as_notify_enabled && !change->quiet && is_event(change))
		as_notify_change(change);
}

void
as_notify_change(const AsChange *change)
{
	StringInfoData payload;

	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"id\": \"");
	appendStringInfoString(&payload,
						   DatumGetCString(DirectFunctionCall1(uuid_out,
															   UUIDPGetDatum(&change->id))));
	appendStringInfo(&payload,
					 "\", \"status\": \"%s\", \"activity\": \"%s\", \"version\": " INT64_FORMAT "}",
					 change->to_status, change->to_activity, change->version);
	Async_Notify(NOTIFY_CHANNEL, payload.data);
	pfree(payload.data);
}
