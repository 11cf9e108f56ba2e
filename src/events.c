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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"

#define NOTIFY_CHANNEL "agent_sessions"

static SPIPlanPtr insert_event_plan = NULL;
static SPIPlanPtr insert_events_plan = NULL;

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
	/* every version bump: wake the session's waiters if this commits */
	as_wait_note_change(&change->id);

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

		if (as_notify_enabled && !change->quiet)
			as_notify_change(change);
	}
}

/* A one-dimensional text[] of n strings, NULL entries as SQL NULLs. */
static Datum
text_array(const char **strings, int n)
{
	Datum	   *elems = palloc(n * sizeof(Datum));
	bool	   *nulls = palloc(n * sizeof(bool));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = text_or_null(strings[i], &nulls[i]);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Record n changes, as as_record_change does one at a time, with a single
 * INSERT for all their events: for callers that change many sessions in one
 * statement (the sweep).  Must run inside SPI; clobbers SPI_tuptable.
 */
void
as_record_changes(const AsChange *changes, int n)
{
	Oid			argtypes[11] = {UUIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
	TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTOID};
	Datum		values[11];
	bool		nulls[11] = {false};
	Datum	   *ids = palloc(n * sizeof(Datum));
	Datum	   *versions = palloc(n * sizeof(Datum));
	Datum	   *ats = palloc(n * sizeof(Datum));
	const char **texts[7];
	int			events = 0;
	int			i,
				f;

	for (f = 0; f < 7; f++)
		texts[f] = palloc(n * sizeof(char *));

	for (i = 0; i < n; i++)
	{
		const AsChange *c = &changes[i];

		if (!is_event(c))
			continue;
		ids[events] = UUIDPGetDatum(&c->id);
		texts[0][events] = c->organization_id;
		texts[1][events] = c->user_id;
		texts[2][events] = c->from_status;
		texts[3][events] = c->to_status;
		texts[4][events] = c->from_activity;
		texts[5][events] = c->to_activity;
		texts[6][events] = c->reason;
		versions[events] = Int64GetDatum(c->version);
		ats[events] = TimestampTzGetDatum(c->at);
		events++;
	}
	if (events == 0)
		return;

	values[0] = PointerGetDatum(construct_array(ids, events, UUIDOID, UUID_LEN,
												false, TYPALIGN_CHAR));
	for (f = 0; f < 6; f++)
		values[1 + f] = text_array(texts[f], events);
	values[7] = PointerGetDatum(construct_array(versions, events, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[8] = PointerGetDatum(construct_array(ats, events, TIMESTAMPTZOID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[9] = text_array(texts[6], events);
	values[10] = text_or_null(as_caller_actor(), &nulls[10]);

	as_execute(as_keep_plan(&insert_events_plan,
							"INSERT INTO agent_sessions.session_events"
							" (session_id, organization_id, user_id,"
							"  from_status, to_status, from_activity, to_activity,"
							"  version, at, actor, reason)"
							" SELECT e.session_id, e.organization_id, e.user_id,"
							"  e.from_status::agent_sessions.session_status,"
							"  e.to_status::agent_sessions.session_status,"
							"  e.from_activity::agent_sessions.session_activity,"
							"  e.to_activity::agent_sessions.session_activity,"
							"  e.version, e.at, $11, e.reason"
							" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
							"  pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
							"  pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
							"  pg_catalog.unnest($9), pg_catalog.unnest($10))"
							"  AS e(session_id, organization_id, user_id, from_status,"
							"       to_status, from_activity, to_activity, version, at,"
							"       reason)",
							11, argtypes),
			   values, nulls, false, 0);

	if (as_notify_enabled)
		for (i = 0; i < n; i++)
			if (!changes[i].quiet && is_event(&changes[i]))
				as_notify_change(&changes[i]);
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
