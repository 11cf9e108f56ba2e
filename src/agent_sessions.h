/*-------------------------------------------------------------------------
 *
 * agent_sessions.h
 *	  Declarations shared by the agent_sessions C sources.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AGENT_SESSIONS_H
#define AGENT_SESSIONS_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* SQLSTATEs of the error contract (PostgREST answers PTxyz with HTTP xyz) */
#define ERRCODE_AS_NOT_FOUND		MAKE_SQLSTATE('P','T','4','0','4')
#define ERRCODE_AS_CONFLICT			MAKE_SQLSTATE('P','T','4','0','9')
#define ERRCODE_AS_TOO_MANY			MAKE_SQLSTATE('P','T','4','2','9')

/* Lifecycle, in the order of the session_status enum */
typedef enum AsStatus
{
	AS_QUEUED = 0,
	AS_STARTING,
	AS_RUNNING,
	AS_COMPLETED,
	AS_FAILED,
	AS_CANCELLED,
	AS_NUM_STATUSES
} AsStatus;

typedef enum AsActivity
{
	AS_BUSY = 0,
	AS_IDLE,
	AS_NUM_ACTIVITIES
} AsActivity;

/*
 * Longest id a caller may give (user_id, organization_id, idempotency_key,
 * ...), in characters.  Three of them form one index entry, which must stay
 * under the btree limit of 2704 bytes even at four bytes per character.
 */
#define AS_MAX_ID_LENGTH	200

#define AS_IS_TERMINAL(s)	((s) >= AS_COMPLETED)

/* The live statuses as a SQL array literal, shared by every statement */
#define AS_LIVE_STATUSES \
	"'{queued,starting,running}'::agent_sessions.session_status[]"

/* agent_sessions.sweep_mode */
typedef enum AsSweepMode
{
	AS_SWEEP_AUTO,
	AS_SWEEP_BATCH,
	AS_SWEEP_ROW
} AsSweepMode;

/* GUCs (agent_sessions.c) */
extern int	as_heartbeat_granularity_ms;
extern bool as_notify_enabled;
extern int	as_inactivity_timeout_s;
extern int	as_start_timeout_s;
extern char *as_user_claim;
extern char *as_organization_claim;
extern int	as_max_waiters;
extern int	as_sweep_mode;

/* ids.c */
extern void as_uuid_v7(pg_uuid_t *uuid);
extern bool as_parse_session_id(const char *text, pg_uuid_t *uuid);
extern pg_uuid_t *as_session_id_arg(text *id);

/* lifecycle.c */
extern const char *as_status_name(AsStatus status);
extern const char *as_activity_name(AsActivity activity);
extern AsStatus as_status_from_name(const char *name);
extern AsStatus as_status_from_datum(Datum value);
extern AsActivity as_activity_from_name(const char *name);
extern bool as_transition_allowed(AsStatus from, AsStatus to);

/* transitions.c */
typedef struct AsMoveExtras
{
	int64		expected_version;
	bool		has_expected_version;
	const char *reason;
	const char *end_reason;
	Datum		output;			/* jsonb or 0 */
	Datum		error;			/* jsonb or 0 */
	Datum		summary;		/* text or 0 */
	Datum		output_preview; /* text or 0 */
	Datum		machine_id;		/* text or 0 */
	Datum		usage;			/* jsonb or 0 */
	Datum		cost;			/* numeric or 0 */
} AsMoveExtras;

extern Datum as_move_locked(const pg_uuid_t *id, AsStatus from, AsStatus to,
							const char **activity, const AsMoveExtras *x,
							TimestampTz now);

/* sessions.c */
extern const char *const as_key_columns[];
extern const int as_num_key_columns;

/* spi_util.c */
extern SPIPlanPtr as_keep_plan(SPIPlanPtr *cache, const char *sql,
							   int nargs, Oid *argtypes);
extern SPIPlanPtr as_keep_custom_plan(SPIPlanPtr *cache, const char *sql,
									  int nargs, Oid *argtypes);
extern SPIPlanPtr as_keep_generic_plan(SPIPlanPtr *cache, const char *sql,
									   int nargs, Oid *argtypes);
extern int	as_execute(SPIPlanPtr plan, Datum *values, const bool *isnull,
					   bool read_only, long count);
extern Datum as_get_attr(int row, const char *attname, bool *isnull);
extern Datum as_get_attnum(int row, int attno);
extern char *as_get_text_attr(int row, const char *attname);
extern Datum as_get_row(int row, const char *attname);
extern void as_store_rows(ReturnSetInfo *rsinfo);
extern Oid	as_type_oid(const char *typname);
extern void as_invalid_argument(const char *name, const char *problem) pg_attribute_noreturn();
extern bool as_in_api_write(void);
extern TimestampTz as_now(void);

/* sessions.c */
extern void as_check_id_arg(const char *name, Datum value);
extern bool as_have_scopes(void);
extern bool as_scopes_written_with(const pg_uuid_t *id);
extern Datum as_get_session(const pg_uuid_t *id);

/* identity.c */
extern const char *as_caller_user_id(void);
extern const char *as_caller_organization_id(void);
extern const char *as_caller_actor(void);

/* events.c */
typedef struct AsChange
{
	pg_uuid_t	id;
	const char *organization_id;
	const char *user_id;
	const char *from_status;	/* NULL when the session was just created */
	const char *to_status;
	const char *from_activity;
	const char *to_activity;
	int64		version;
	const char *reason;
	TimestampTz at;
	bool		quiet;			/* record the event but send no notification */
} AsChange;

extern void as_record_change(const AsChange *change);
extern void as_announce_change(const AsChange *change);
extern void as_notify_change(const AsChange *change);

/* wait.c */
extern void as_wait_preload_init(void);
extern void as_wait_note_change(const pg_uuid_t *id);

#endif							/* AGENT_SESSIONS_H */
