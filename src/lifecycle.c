/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  The session state machine: status and activity names and the legal
 *	  moves between statuses.
 *
 *	  queued --> starting --> running --> completed
 *	  queued, starting, running --> failed | cancelled
 *
 * Terminal statuses are final.  Moving to the status a session already has
 * is not a move at all: callers treat it as a no-op that returns the row.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "utils/inval.h"
#include "utils/syscache.h"

static const char *const status_names[AS_NUM_STATUSES] = {
	"queued", "starting", "running", "completed", "failed", "cancelled"
};

static const char *const activity_names[AS_NUM_ACTIVITIES] = {
	"busy", "idle"
};

/* allowed[from][to] */
static const bool allowed[AS_NUM_STATUSES][AS_NUM_STATUSES] = {
	/* queued */ {false, true, false, false, true, true},
	/* starting */ {false, false, true, false, true, true},
	/* running */ {false, false, false, true, true, true},
	/* completed */ {false, false, false, false, false, false},
	/* failed */ {false, false, false, false, false, false},
	/* cancelled */ {false, false, false, false, false, false},
};

const char *
as_status_name(AsStatus status)
{
	Assert(status >= 0 && status < AS_NUM_STATUSES);
	return status_names[status];
}

const char *
as_activity_name(AsActivity activity)
{
	Assert(activity >= 0 && activity < AS_NUM_ACTIVITIES);
	return activity_names[activity];
}

AsStatus
as_status_from_name(const char *name)
{
	int			i;

	for (i = 0; i < AS_NUM_STATUSES; i++)
		if (strcmp(name, status_names[i]) == 0)
			return (AsStatus) i;
	elog(ERROR, "unrecognized session status: \"%s\"", name);
	return AS_QUEUED;			/* keep compiler quiet */
}

/*
 * The pg_enum OIDs of the session_status labels this backend has met, so
 * that a status read as a Datum needs no output function.  Any change to
 * pg_enum (the type dropped and created again, a label added) forgets them.
 */
static Oid	status_oids[AS_NUM_STATUSES];
static bool status_callback_registered = false;

static void
forget_status_oids(Datum arg, int cacheid, uint32 hashvalue)
{
	memset(status_oids, 0, sizeof(status_oids));
}

/* A session_status value, as a Datum read from a row. */
AsStatus
as_status_from_datum(Datum value)
{
	Oid			oid = DatumGetObjectId(value);
	HeapTuple	tup;
	AsStatus	status;
	int			i;

	for (i = 0; i < AS_NUM_STATUSES; i++)
		if (status_oids[i] == oid && OidIsValid(oid))
			return (AsStatus) i;

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "invalid session status %u", oid);
	status = as_status_from_name(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	ReleaseSysCache(tup);

	if (!status_callback_registered)
	{
		CacheRegisterSyscacheCallback(ENUMOID, forget_status_oids, (Datum) 0);
		status_callback_registered = true;
	}
	status_oids[status] = oid;
	return status;
}

AsActivity
as_activity_from_name(const char *name)
{
	int			i;

	for (i = 0; i < AS_NUM_ACTIVITIES; i++)
		if (strcmp(name, activity_names[i]) == 0)
			return (AsActivity) i;
	elog(ERROR, "unrecognized session activity: \"%s\"", name);
	return AS_BUSY;				/* keep compiler quiet */
}

bool
as_transition_allowed(AsStatus from, AsStatus to)
{
	return allowed[from][to];
}
