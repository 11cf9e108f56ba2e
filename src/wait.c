/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  wait_for_session(): a long poll that wakes when the session's writer
 *	  commits, and the waiter table behind it.
 *
 * A wait ends when the session's version passes since_version (without it:
 * when the session changes, or at once if it is already settled, that is
 * idle or terminal), or when its timeout runs out; it returns the row as it
 * then is.  Every read of the row takes a fresh snapshot, so the wait must
 * run in READ COMMITTED: under REPEATABLE READ or SERIALIZABLE it could
 * never see the change, and is refused.
 *
 * With the library in shared_preload_libraries, waiters register the
 * session they wait for in a fixed table in shared memory
 * (agent_sessions.max_waiters slots, one LWLock) and sleep on their latch.
 * Every version bump goes through as_record_change() (events.c) or the
 * guard trigger, which note the session id in a backend-local list; at
 * XACT_EVENT_COMMIT, which fires after ProcArrayEndTransaction has made the
 * commit visible, the writer sets the latch of exactly the waiters of the
 * noted sessions.  A rolled-back transaction or subtransaction drops its
 * notes and wakes nobody.  A waiter registers before it reads the row, so a
 * commit either precedes that read (and the read sees it) or finds the
 * registration (and sets the latch): no wake-up is lost.
 *
 * Without the preload (and on a standby, where commits arrive by WAL
 * replay and run no callbacks) the waiter polls instead, backing off from
 * 10 ms to 500 ms between reads.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(wait_for_session);
PG_FUNCTION_INFO_V1(waiters);

#define WAIT_TRANCHE		"agent_sessions_waiters"
#define MIN_TIMEOUT_S		1
#define MAX_TIMEOUT_S		60
#define POLL_FIRST_MS		10
#define POLL_MAX_MS			500

/*
 * A transaction that changes more sessions than this wakes every waiter at
 * commit instead of remembering each id (spurious wake-ups only cost the
 * woken waiters one read each).
 */
#define MAX_NOTES			1024

/* One registered wait; pid 0 marks a free slot */
typedef struct WaiterSlot
{
	pid_t		pid;
	int			procno;			/* whose latch to set */
	pg_uuid_t	session_id;
	int64		since_version;
	TimestampTz waiting_since;
} WaiterSlot;

typedef struct WaiterTable
{
	LWLock	   *lock;			/* guards every slot */
	int			nslots;
	WaiterSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} WaiterTable;

/* A session written by the current transaction */
typedef struct ChangeNote
{
	pg_uuid_t	id;
	SubTransactionId subid;
} ChangeNote;

int			as_max_waiters = 100;

static WaiterTable *waiter_table = NULL;
static int	waiter_slots = 0;	/* slots to allocate: set at shmem request */
static int	my_slot = -1;		/* this backend's registered slot */
static bool exit_hook_set = false;

static ChangeNote *notes = NULL;
static int	nnotes = 0;
static int	notes_size = 0;
static bool wake_all = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static SPIPlanPtr read_plan = NULL;

/* ---------- shared memory ---------- */

static Size
waiter_table_size(int nslots)
{
	return add_size(offsetof(WaiterTable, slots),
					mul_size(nslots, sizeof(WaiterSlot)));
}

static void
wait_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	/* a backend waits for one session at a time: more slots are never used */
	waiter_slots = Min(as_max_waiters, MaxBackends);
	RequestAddinShmemSpace(waiter_table_size(waiter_slots));
	RequestNamedLWLockTranche(WAIT_TRANCHE, 1);
}

static void
wait_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	waiter_table = ShmemInitStruct("agent_sessions waiters",
								   waiter_table_size(waiter_slots), &found);
	if (!found)
	{
		waiter_table->lock = &(GetNamedLWLockTranche(WAIT_TRANCHE))->lock;
		waiter_table->nslots = waiter_slots;
		memset(waiter_table->slots, 0, mul_size(waiter_slots, sizeof(WaiterSlot)));
	}
	LWLockRelease(AddinShmemInitLock);
}

/* ---------- writers: note changed sessions, wake their waiters ---------- */

/*
 * Remember that the current transaction changed session "id"; its waiters
 * are woken if and when the transaction commits.
 */
void
as_wait_note_change(const pg_uuid_t *id)
{
	SubTransactionId subid;
	int			i;

	if (waiter_table == NULL || wake_all)
		return;

	subid = GetCurrentSubTransactionId();
	for (i = 0; i < nnotes; i++)
		if (notes[i].subid == subid &&
			memcmp(&notes[i].id, id, sizeof(pg_uuid_t)) == 0)
			return;

	if (nnotes >= MAX_NOTES)
	{
		wake_all = true;
		return;
	}
	if (nnotes >= notes_size)
	{
		int			newsize = Max(16, notes_size * 2);

		if (notes == NULL)
			notes = MemoryContextAlloc(TopMemoryContext, newsize * sizeof(ChangeNote));
		else
			notes = repalloc(notes, newsize * sizeof(ChangeNote));
		notes_size = newsize;
	}
	notes[nnotes].id = *id;
	notes[nnotes].subid = subid;
	nnotes++;
}

static bool
noted(const pg_uuid_t *id)
{
	int			i;

	for (i = 0; i < nnotes; i++)
		if (memcmp(&notes[i].id, id, sizeof(pg_uuid_t)) == 0)
			return true;
	return false;
}

static void
forget_notes(void)
{
	nnotes = 0;
	wake_all = false;
}

/*
 * Set the latches of the waiters of every session this transaction changed.
 * Runs after the commit is durable and visible to new snapshots, with
 * interrupts held; it raises no error.
 */
static void
wake_waiters(void)
{
	int			i;

	if (nnotes == 0 && !wake_all)
		return;

	LWLockAcquire(waiter_table->lock, LW_SHARED);
	for (i = 0; i < waiter_table->nslots; i++)
	{
		WaiterSlot *slot = &waiter_table->slots[i];

		if (slot->pid != 0 && (wake_all || noted(&slot->session_id)))
			SetLatch(&GetPGProcByNumber(slot->procno)->procLatch);
	}
	LWLockRelease(waiter_table->lock);
}

static void
wait_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			/* ProcArrayEndTransaction has run: new snapshots see the change */
			wake_waiters();
			forget_notes();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction becomes visible at COMMIT PREPARED */
			forget_notes();
			break;
		default:
			break;
	}
}

static void
wait_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	int			i;
	int			kept = 0;

	switch (event)
	{
		case SUBXACT_EVENT_COMMIT_SUB:
			for (i = 0; i < nnotes; i++)
				if (notes[i].subid == mySubid)
					notes[i].subid = parentSubid;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			for (i = 0; i < nnotes; i++)
				if (notes[i].subid != mySubid)
					notes[kept++] = notes[i];
			nnotes = kept;
			break;
		default:
			break;
	}
}

/*
 * Install the waiter table and the commit callbacks.  Called from _PG_init
 * while shared_preload_libraries is being processed, after
 * agent_sessions.max_waiters is defined.
 */
void
as_wait_preload_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = wait_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = wait_shmem_startup;

	RegisterXactCallback(wait_xact_callback, NULL);
	RegisterSubXactCallback(wait_subxact_callback, NULL);
}

/* ---------- waiters: register, sleep, always deregister ---------- */

static void
release_slot(void)
{
	if (my_slot < 0)
		return;
	LWLockAcquire(waiter_table->lock, LW_EXCLUSIVE);
	waiter_table->slots[my_slot].pid = 0;
	my_slot = -1;
	LWLockRelease(waiter_table->lock);
}

/* A backend ending with FATAL (pg_terminate_backend) skips PG_FINALLY. */
static void
release_slot_at_exit(int code, Datum arg)
{
	release_slot();
}

static void
take_slot(const pg_uuid_t *id, int64 since_version)
{
	int			i;

	Assert(my_slot < 0);
	if (!exit_hook_set)
	{
		before_shmem_exit(release_slot_at_exit, (Datum) 0);
		exit_hook_set = true;
	}

	LWLockAcquire(waiter_table->lock, LW_EXCLUSIVE);
	for (i = 0; i < waiter_table->nslots; i++)
	{
		WaiterSlot *slot = &waiter_table->slots[i];

		if (slot->pid == 0)
		{
			slot->pid = MyProcPid;
			slot->procno = MyProc->pgprocno;
			slot->session_id = *id;
			slot->since_version = since_version;
			slot->waiting_since = GetCurrentTimestamp();
			my_slot = i;
			break;
		}
	}
	LWLockRelease(waiter_table->lock);

	if (my_slot < 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_TOO_MANY),
				 errmsg("too many concurrent waits for sessions"),
				 errdetail("All %d wait slots (agent_sessions.max_waiters) are in use.",
						   waiter_table->nslots),
				 errhint("Retry in a second, or raise agent_sessions.max_waiters and restart the server.")));
}

/*
 * Read session "id" into SPI_tuptable row 0 with a snapshot taken now, not
 * the calling statement's: that is what lets a wait see later commits.
 */
static void
read_session(const pg_uuid_t *id)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];

	values[0] = UUIDPGetDatum(id);
	PushActiveSnapshot(GetTransactionSnapshot());
	as_execute(as_keep_plan(&read_plan,
							"SELECT s AS session_row, s.version, s.activity, s.status"
							" FROM agent_sessions.sessions AS s WHERE s.id OPERATOR(pg_catalog.=) $1",
							1, argtypes),
			   values, NULL, true, 1);
	PopActiveSnapshot();
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_NOT_FOUND),
				 errmsg("session %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id))))));
}

static int64
row_version(void)
{
	bool		isnull;

	return DatumGetInt64(as_get_attr(0, "version", &isnull));
}

/* idle or terminal */
static bool
row_settled(void)
{
	bool		isnull;

	return strcmp(as_get_text_attr(0, "activity"), "idle") == 0 ||
		AS_IS_TERMINAL(as_status_from_datum(as_get_attr(0, "status", &isnull)));
}

/*
 * Whether the row just read ends the wait.  With since_version given only
 * a newer version does; without it (since_version is then the version seen
 * first) so does a settled session.
 */
static bool
wait_is_over(int64 since_version, bool since_given)
{
	return row_version() > since_version || (!since_given && row_settled());
}

/*
 * Re-read the session until the wait is over or the deadline passes,
 * sleeping on the latch in between.  Leaves the last row in SPI_tuptable.
 */
static void
sleep_until_changed(const pg_uuid_t *id, int64 since_version,
					bool since_given, TimestampTz deadline)
{
	long		poll_ms = POLL_FIRST_MS;

	for (;;)
	{
		long		remaining_ms;
		long		sleep_ms;

		SPI_freetuptable(SPI_tuptable);
		read_session(id);
		if (wait_is_over(since_version, since_given))
			return;

		remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining_ms <= 0)
			return;

		if (waiter_table != NULL && !RecoveryInProgress())
			sleep_ms = remaining_ms;	/* the writer's commit sets the latch */
		else
		{
			sleep_ms = Min(poll_ms, remaining_ms);
			poll_ms = Min(poll_ms * 2, POLL_MAX_MS);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The same holding a slot of the waiter table, which is given back however
 * the wait ends: on return, on any error (statement_timeout, a cancel,
 * PT404) here, or at backend exit (release_slot_at_exit).
 */
static void
sleep_registered(const pg_uuid_t *id, int64 since_version,
				 bool since_given, TimestampTz deadline)
{
	take_slot(id, since_version);
	PG_TRY();
	{
		sleep_until_changed(id, since_version, since_given, deadline);
	}
	PG_FINALLY();
	{
		release_slot();
	}
	PG_END_TRY();
}

/*
 * wait_for_session(id, timeout_s, since_version)
 */
Datum
wait_for_session(PG_FUNCTION_ARGS)
{
	pg_uuid_t	id;
	int32		timeout_s;
	bool		since_given = !PG_ARGISNULL(2);
	int64		since_version;
	TimestampTz deadline;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid id: must not be NULL"),
				 errdetail("Field \"id\" is invalid.")));
	id = *PG_GETARG_UUID_P(0);

	timeout_s = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	if (timeout_s < MIN_TIMEOUT_S || timeout_s > MAX_TIMEOUT_S)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timeout_s: must be between %d and %d seconds",
						MIN_TIMEOUT_S, MAX_TIMEOUT_S),
				 errdetail("Field \"timeout_s\" is invalid.")));

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wait_for_session cannot run in a %s transaction",
						IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errdetail("The transaction's snapshot would never show the change being waited for."),
				 errhint("Call it in a READ COMMITTED transaction.")));

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   (int64) timeout_s * 1000);

	SPI_connect();
	read_session(&id);
	since_version = since_given ? PG_GETARG_INT64(2) : row_version();

	if (!wait_is_over(since_version, since_given))
	{
		if (waiter_table == NULL)
			sleep_until_changed(&id, since_version, since_given, deadline);
		else
			sleep_registered(&id, since_version, since_given, deadline);
	}

	result = as_get_row(0, "session_row");
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * waiters(): the registered waits (only with the library preloaded; a
 * polling wait holds no slot).
 */
Datum
waiters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	WaiterSlot *copy;
	int			n = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (waiter_table == NULL)
		return (Datum) 0;

	copy = palloc(mul_size(waiter_table->nslots, sizeof(WaiterSlot)));
	LWLockAcquire(waiter_table->lock, LW_SHARED);
	for (i = 0; i < waiter_table->nslots; i++)
		if (waiter_table->slots[i].pid != 0)
			copy[n++] = waiter_table->slots[i];
	LWLockRelease(waiter_table->lock);

	for (i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(copy[i].pid);
		values[1] = UUIDPGetDatum(&copy[i].session_id);
		values[2] = Int64GetDatum(copy[i].since_version);
		values[3] = TimestampTzGetDatum(copy[i].waiting_since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
