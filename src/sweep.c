/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  sweep(): fail the live sessions whose agent went quiet.
 *
 * A running session whose last_activity_at is older than its inactivity
 * timeout (its own inactivity_timeout, else agent_sessions.inactivity_timeout)
 * is failed with end_reason 'inactivity_timeout'; a queued or starting one
 * whose last_activity_at is older than its start timeout (start_timeout,
 * else agent_sessions.start_timeout) with end_reason 'start_timeout'.  Both
 * get error = {"type": "timeout", "message": ...}, an event row and a
 * notification, like any other move.
 *
 * One call walks the live sessions once, oldest id first, in batches:
 *	  1. the candidate search reads, without locking, the next batch_size
 *		 stale live sessions after the cursor from the partial index
 *		 sessions_live_idx (last_activity_at is in no index: heartbeats
 *		 write it and must stay HOT, so stale sessions are found by
 *		 filtering the live ones);
 *	  2. the candidates are locked FOR NO KEY UPDATE SKIP LOCKED, re-checked
 *		 to be still live and stale, and failed.  A session that a
 *		 transition or a heartbeat holds right now is skipped, not waited
 *		 for; one that finished or heartbeated since step 1 no longer
 *		 matches.  So the sweep never overwrites a finished session and
 *		 never fails one whose heartbeat was accepted.
 * Sessions skipped in step 2 are counted; the next sweep retries them.
 * Only one sweep runs at a time in a database: another one finds the
 * transaction-level advisory lock taken and returns at once.
 *
 * Step 2 comes in two forms (agent_sessions.sweep_mode):
 *	  batch  one statement locks, re-checks and fails the whole batch;
 *	  row	 per session, a locking SELECT ... WHERE id = $4 that carries
 *			 the predicate, then the single-session step every transition
 *			 takes (as_move_locked).  Every statement is routed to one
 *			 shard, which Citus needs: it refuses FOR UPDATE on a query
 *			 spanning shards.
 * auto, the default, picks row when sessions is a Citus distributed table.
 *
 * Every statement binds the same clock reading ($1) and the default
 * timeouts ($2, $3); none calls now().
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(sweep);

/*
 * Key of the advisory lock that keeps sweeps of one database apart: the
 * bytes of "agsweep1" (pg_locks shows it as classid 1634169719,
 * objid 1701146673, objsubid 1).
 */
#define SWEEP_LOCK_KEY		INT64CONST(0x6167737765657031)

#define MAX_BATCH_SIZE		100000

/* A live session past its timeout.  $1 now, $2/$3 the default timeouts. */
#define STALE_SQL \
	"s.status = ANY (" AS_LIVE_STATUSES ")" \
	" AND ((s.status = 'running'::agent_sessions.session_status" \
	"       AND s.last_activity_at < $1 - COALESCE(s.inactivity_timeout, $2))" \
	"   OR (s.status <> 'running'::agent_sessions.session_status" \
	"       AND s.last_activity_at < $1 - COALESCE(s.start_timeout, $3)))"

#define END_REASON_SQL \
	"CASE WHEN s.status = 'running'::agent_sessions.session_status" \
	" THEN 'inactivity_timeout' ELSE 'start_timeout' END"

/* The message gives the timeout in seconds, whatever IntervalStyle says. */
#define ERROR_SQL \
	"pg_catalog.jsonb_build_object('type', 'timeout', 'message'," \
	" CASE WHEN s.status = 'running'::agent_sessions.session_status" \
	"  THEN 'no activity for ' || pg_catalog.trim_scale(EXTRACT(epoch FROM" \
	"       COALESCE(s.inactivity_timeout, $2)))::text || ' seconds'" \
	"  ELSE 'not started within ' || pg_catalog.trim_scale(EXTRACT(epoch FROM" \
	"       COALESCE(s.start_timeout, $3)))::text || ' seconds' END)"

/* Step 1: the next stale live sessions after the cursor $4, at most $5. */
#define CANDIDATES_SQL \
	"SELECT s.id, s.status = 'running'::agent_sessions.session_status AS running" \
	"  FROM agent_sessions.sessions s" \
	" WHERE " STALE_SQL \
	"   AND s.id > $4" \
	" ORDER BY s.id LIMIT $5"

/* How many stale live sessions lie after the cursor $4. */
#define COUNT_SQL \
	"SELECT count(*) AS n FROM agent_sessions.sessions s" \
	" WHERE " STALE_SQL \
	"   AND s.id > $4"

/*
 * Step 2, batch: lock what is free, re-check, fail, and append the history
 * rows, in one statement.  $4 the candidates, $5 the actor.  The UPDATE
 * reaches each locked row by its ctid: a locked row cannot move, and one
 * that did before the lock (a concurrent update the lock waited out)
 * comes back from the lock as its newest version, ctid included.  The
 * predicate is checked again all the same.
 */
#define FAIL_BATCH_SQL \
	"WITH locked AS MATERIALIZED (" \
	"  SELECT s.ctid, s.id, s.status, s.activity FROM agent_sessions.sessions s" \
	"   WHERE s.id = ANY ($4) AND " STALE_SQL \
	"   FOR NO KEY UPDATE SKIP LOCKED)," \
	" failed AS (" \
	"  UPDATE agent_sessions.sessions s SET" \
	"   status = 'failed'::agent_sessions.session_status," \
	"   activity = 'idle'::agent_sessions.session_activity," \
	"   version = s.version + 1," \
	"   updated_at = $1," \
	"   last_activity_at = $1," \
	"   finished_at = $1," \
	"   end_reason = " END_REASON_SQL "," \
	"   error = " ERROR_SQL \
	"  FROM locked l" \
	"  WHERE s.ctid = l.ctid AND s.id = l.id AND " STALE_SQL \
	"  RETURNING s.id, s.organization_id, s.user_id," \
	"   l.status AS from_status, l.activity AS from_activity," \
	"   s.version, s.end_reason)," \
	" history AS (" \
	"  INSERT INTO agent_sessions.session_events" \
	"   (session_id, organization_id, user_id, from_status, to_status," \
	"    from_activity, to_activity, version, at, actor, reason)" \
	"  SELECT f.id, f.organization_id, f.user_id, f.from_status," \
	"   'failed'::agent_sessions.session_status, f.from_activity," \
	"   'idle'::agent_sessions.session_activity, f.version, $1, $5, f.end_reason" \
	"   FROM failed f)" \
	" SELECT f.id, f.from_status::text AS from_status," \
	"   f.from_activity::text AS from_activity, f.version," \
	"   f.end_reason = 'inactivity_timeout' AS inactive" \
	"  FROM failed f"

/* Step 2, row: lock one candidate $4 if it is free and still stale. */
#define LOCK_ROW_SQL \
	"SELECT s.status::text AS status, s.activity::text AS activity," \
	"   " END_REASON_SQL " AS end_reason, " ERROR_SQL " AS error" \
	"  FROM agent_sessions.sessions s" \
	" WHERE s.id = $4 AND " STALE_SQL \
	" FOR NO KEY UPDATE SKIP LOCKED"

static SPIPlanPtr candidates_plan = NULL;
static SPIPlanPtr count_plan = NULL;
static SPIPlanPtr fail_batch_plan = NULL;
static SPIPlanPtr lock_row_plan = NULL;
static SPIPlanPtr distributed_plan = NULL;

typedef struct SweepCounts
{
	int64		swept_inactive;
	int64		swept_start_timeout;
	int64		skipped_locked;
	int64		remaining;
	int32		batches;
} SweepCounts;

#define SWEEP_NARGS 5

static Datum
seconds_interval(int seconds)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) seconds * USECS_PER_SEC;
	return IntervalPGetDatum(iv);
}

/* Whether Citus distributes agent_sessions.sessions. */
static bool
sessions_distributed(void)
{
	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return false;
	as_execute(as_keep_plan(&distributed_plan,
							"SELECT 1 FROM pg_catalog.pg_dist_partition"
							" WHERE logicalrelid = 'agent_sessions.sessions'::pg_catalog.regclass",
							0, NULL),
			   NULL, NULL, true, 1);
	return SPI_processed > 0;
}

static void
count_swept(const char *end_reason, SweepCounts *counts)
{
	if (strcmp(end_reason, "inactivity_timeout") == 0)
		counts->swept_inactive++;
	else
		counts->swept_start_timeout++;
}

/*
 * Step 2 for a batch of n candidates, in one statement that also writes
 * their history rows; then what every recorded change gets: the waiters'
 * wake-up and the notification (as_announce_change).
 */
static void
fail_batch(Datum *values, pg_uuid_t *ids, int n, TimestampTz now,
		   SweepCounts *counts)
{
	Oid			argtypes[5] = {TIMESTAMPTZOID, INTERVALOID, INTERVALOID,
	UUIDARRAYOID, TEXTOID};
	Datum		args[5];
	bool		nulls[5] = {false};
	Datum	   *elems = palloc(n * sizeof(Datum));
	const char *actor = as_caller_actor();
	SPITupleTable *swept;
	TupleDesc	desc;
	uint64		nswept;
	uint64		i;

	for (i = 0; i < (uint64) n; i++)
		elems[i] = UUIDPGetDatum(&ids[i]);
	memcpy(args, values, 3 * sizeof(Datum));
	args[3] = PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN,
											  false, TYPALIGN_CHAR));
	if (actor != NULL)
		args[4] = CStringGetTextDatum(actor);
	else
		nulls[4] = true;

	as_execute(as_keep_plan(&fail_batch_plan, FAIL_BATCH_SQL, 5, argtypes),
			   args, nulls, false, 0);
	swept = SPI_tuptable;
	desc = swept->tupdesc;
	nswept = SPI_processed;
	counts->skipped_locked += n - (int64) nswept;

	for (i = 0; i < nswept; i++)
	{
		HeapTuple	tup = swept->vals[i];
		AsChange	c = {0};
		bool		isnull;

		c.id = *DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull));
		c.from_status = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		c.to_status = as_status_name(AS_FAILED);
		c.from_activity = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		c.to_activity = as_activity_name(AS_IDLE);
		c.version = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		c.at = now;
		if (DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
			counts->swept_inactive++;
		else
			counts->swept_start_timeout++;
		as_announce_change(&c);
	}
}

/* Step 2 for a batch of n candidates, one routed statement at a time. */
static void
fail_rows(Datum *values, pg_uuid_t *ids, int n, TimestampTz now,
		  SweepCounts *counts)
{
	Oid			argtypes[4] = {TIMESTAMPTZOID, INTERVALOID, INTERVALOID, UUIDOID};
	int			i;

	for (i = 0; i < n; i++)
	{
		AsMoveExtras x = {0};
		const char *activity;
		const char *from_status;
		bool		isnull;
		Datum		row;

		CHECK_FOR_INTERRUPTS();
		values[3] = UUIDPGetDatum(&ids[i]);
		as_execute(as_keep_plan(&lock_row_plan, LOCK_ROW_SQL, 4, argtypes),
				   values, NULL, false, 1);
		if (SPI_processed == 0)
		{
			counts->skipped_locked++;
			continue;
		}

		/*
		 * The row is locked and matched the predicate in its latest
		 * version, so nothing can change it before the move below.
		 */
		from_status = as_get_text_attr(0, "status");
		activity = as_get_text_attr(0, "activity");
		x.end_reason = as_get_text_attr(0, "end_reason");
		x.reason = x.end_reason;
		x.error = as_get_attr(0, "error", &isnull);

		row = as_move_locked(&ids[i], as_status_from_name(from_status),
							 AS_FAILED, &activity, &x, now);
		pfree(DatumGetPointer(row));
		count_swept(x.end_reason, counts);
	}
}

/*
 * sweep(batch_size, max_batches, dry_run)
 *	  RETURNS TABLE (swept, skipped_locked, remaining, swept_inactive,
 *					 swept_start_timeout, batches, locked_out)
 */
Datum
sweep(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		batch_size;
	int32		max_batches = 0;
	bool		dry_run;
	bool		row_mode;
	TimestampTz now = as_now();
	Oid			argtypes[SWEEP_NARGS] = {
		TIMESTAMPTZOID, INTERVALOID, INTERVALOID, UUIDOID, INT4OID
	};
	Datum		values[SWEEP_NARGS];
	pg_uuid_t	cursor = {{0}};
	pg_uuid_t  *ids;
	SweepCounts counts = {0};
	bool		finished = false;
	Datum		out[7];
	bool		outnulls[7] = {false};

	if (PG_ARGISNULL(0))
		as_invalid_argument("batch_size", "must not be NULL");
	batch_size = PG_GETARG_INT32(0);
	if (batch_size < 1 || batch_size > MAX_BATCH_SIZE)
		as_invalid_argument("batch_size", "must be between 1 and 100000");
	if (!PG_ARGISNULL(1))
	{
		max_batches = PG_GETARG_INT32(1);
		if (max_batches < 1)
			as_invalid_argument("max_batches", "must be at least 1");
	}
	dry_run = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	InitMaterializedSRF(fcinfo, 0);

	/* a dry run writes nothing, so it need not keep other sweeps out */
	if (!dry_run &&
		!DatumGetBool(DirectFunctionCall1(pg_try_advisory_xact_lock_int8,
										  Int64GetDatum(SWEEP_LOCK_KEY))))
	{
		memset(out, 0, sizeof(out));
		outnulls[2] = true;		/* remaining: not looked at */
		out[6] = BoolGetDatum(true);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
		return (Datum) 0;
	}

	values[0] = TimestampTzGetDatum(now);
	values[1] = seconds_interval(as_inactivity_timeout_s);
	values[2] = seconds_interval(as_start_timeout_s);
	values[4] = Int32GetDatum(batch_size);
	ids = palloc(batch_size * sizeof(pg_uuid_t));

	SPI_connect();
	row_mode = as_sweep_mode == AS_SWEEP_ROW ||
		(as_sweep_mode == AS_SWEEP_AUTO && sessions_distributed());
	SPI_finish();

	while (!finished)
	{
		uint64		n;
		uint64		i;
		int64		running = 0;

		CHECK_FOR_INTERRUPTS();

		/* one SPI level per batch frees what the batch allocated */
		SPI_connect();

		values[3] = UUIDPGetDatum(&cursor);
		as_execute(as_keep_plan(&candidates_plan, CANDIDATES_SQL,
								SWEEP_NARGS, argtypes),
				   values, NULL, true, 0);
		n = SPI_processed;
		for (i = 0; i < n; i++)
		{
			bool		isnull;

			memcpy(&ids[i],
				   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 1, &isnull)),
				   sizeof(pg_uuid_t));
			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
										   SPI_tuptable->tupdesc, 2, &isnull)))
				running++;
		}
		if (n > 0)
		{
			cursor = ids[n - 1];
			counts.batches++;
		}

		if (n == 0)
			;
		else if (dry_run)
		{
			counts.swept_inactive += running;
			counts.swept_start_timeout += (int64) n - running;
		}
		else if (row_mode)
			fail_rows(values, ids, (int) n, now, &counts);
		else
			fail_batch(values, ids, (int) n, now, &counts);

		/* a short batch means the walk reached the last live session */
		finished = n < (uint64) batch_size;

		if (!finished && max_batches > 0 && counts.batches >= max_batches)
		{
			bool		isnull;

			values[3] = UUIDPGetDatum(&cursor);
			as_execute(as_keep_plan(&count_plan, COUNT_SQL, 4, argtypes),
					   values, NULL, true, 1);
			counts.remaining = DatumGetInt64(as_get_attr(0, "n", &isnull));
			finished = true;
		}

		SPI_finish();
	}

	counts.remaining += counts.skipped_locked;

	out[0] = Int64GetDatum(counts.swept_inactive + counts.swept_start_timeout);
	out[1] = Int64GetDatum(counts.skipped_locked);
	out[2] = Int64GetDatum(counts.remaining);
	out[3] = Int64GetDatum(counts.swept_inactive);
	out[4] = Int64GetDatum(counts.swept_start_timeout);
	out[5] = Int32GetDatum(counts.batches);
	out[6] = BoolGetDatum(false);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	return (Datum) 0;
}
