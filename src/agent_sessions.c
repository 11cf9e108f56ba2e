/*-------------------------------------------------------------------------
 *
 * agent_sessions.c
 *	  Module initialisation and the agent_sessions.* settings.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			as_heartbeat_granularity_ms = 1000;
bool		as_notify_enabled = true;
int			as_inactivity_timeout_s = 15 * 60;
int			as_start_timeout_s = 10 * 60;
char	   *as_user_claim = NULL;
char	   *as_organization_claim = NULL;
int			as_sweep_mode = AS_SWEEP_AUTO;

static const struct config_enum_entry sweep_mode_options[] = {
	{"auto", AS_SWEEP_AUTO, false},
	{"batch", AS_SWEEP_BATCH, false},
	{"row", AS_SWEEP_ROW, false},
	{NULL, 0, false}
};

void
_PG_init(void)
{
	DefineCustomIntVariable("agent_sessions.heartbeat_granularity",
							"Heartbeats closer together than this are coalesced.",
							"A heartbeat that changes nothing but the last activity time "
							"is written only when the stored time is at least this old. "
							"0 writes every heartbeat.",
							&as_heartbeat_granularity_ms,
							1000, 0, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("agent_sessions.notify",
							 "Sends pg_notify('agent_sessions', ...) on every status or activity change.",
							 NULL,
							 &as_notify_enabled,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("agent_sessions.inactivity_timeout",
							"Live sessions without activity for this long are failed by the sweep.",
							"A session's own inactivity_timeout overrides it.",
							&as_inactivity_timeout_s,
							15 * 60, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("agent_sessions.start_timeout",
							"Queued or starting sessions without activity for this long are failed by the sweep.",
							"A session's own start_timeout overrides it.",
							&as_start_timeout_s,
							10 * 60, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("agent_sessions.user_claim",
							   "JWT claim that names the calling user.",
							   NULL,
							   &as_user_claim,
							   "sub",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("agent_sessions.organization_claim",
							   "JWT claim that names the calling organization.",
							   NULL,
							   &as_organization_claim,
							   "org_id",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	/*
	 * The waiter table lives in shared memory, which only a preloaded
	 * library can size; loaded later, wait_for_session polls instead.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomIntVariable("agent_sessions.max_waiters",
								"Maximum number of concurrent wait_for_session calls.",
								"Each wait holds a connection and one slot; past the "
								"limit wait_for_session raises PT429.  Values above "
								"the server's maximum number of backends have no effect.",
								&as_max_waiters,
								100, 1, MAX_BACKENDS,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
		as_wait_preload_init();
	}

	DefineCustomEnumVariable("agent_sessions.sweep_mode",
							 "How sweep() locks and fails stale sessions.",
							 "batch: one statement per batch; row: one statement per "
							 "session, each routed to a single shard (what Citus needs); "
							 "auto: row when sessions is distributed by Citus, else batch.",
							 &as_sweep_mode,
							 AS_SWEEP_AUTO, sweep_mode_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("agent_sessions");
}
