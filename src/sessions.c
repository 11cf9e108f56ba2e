/*-------------------------------------------------------------------------
 *
 * sessions.c
 *	  create_session, get_session and list_sessions.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(create_session);
PG_FUNCTION_INFO_V1(get_session);
PG_FUNCTION_INFO_V1(get_session_text);
PG_FUNCTION_INFO_V1(list_sessions);
PG_FUNCTION_INFO_V1(count_sessions);

/* How create_session checks an argument */
typedef enum ArgCheck
{
	CHECK_NONE,
	CHECK_NOT_EMPTY,			/* text: at least one character when given */
	CHECK_ID,					/* text: 1..AS_MAX_ID_LENGTH characters */
	CHECK_OBJECT,				/* jsonb: an object when given */
	CHECK_ARRAY,				/* jsonb: an array when given */
	CHECK_TAGS,					/* text[]: one dimension, no NULL or empty tag */
	CHECK_POSITIVE				/* interval: greater than zero when given */
} ArgCheck;

typedef struct CreateArg
{
	const char *name;			/* parameter and column name */
	Oid			type;
	ArgCheck	check;
	const char *fallback;		/* SQL for the column default when NULL */
} CreateArg;

/*
 * create_session's parameters, in the order of its SQL declaration.  Each
 * sets the column of the same name.
 */
static const CreateArg create_args[] = {
	{"user_id", TEXTOID, CHECK_ID, NULL},
	{"prompt", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"organization_id", TEXTOID, CHECK_ID, NULL},
	{"workspace_id", TEXTOID, CHECK_ID, NULL},
	{"project_id", UUIDOID, CHECK_NONE, NULL},
	{"agent_id", TEXTOID, CHECK_ID, NULL},
	{"agent_name", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"machine_id", TEXTOID, CHECK_ID, NULL},
	{"caller_role", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"caller_origin", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"tenant_id", TEXTOID, CHECK_ID, NULL},
	{"org_workspace_id", TEXTOID, CHECK_ID, NULL},
	{"team_id", TEXTOID, CHECK_ID, NULL},
	{"type", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"model", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"model_id", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"title", TEXTOID, CHECK_NONE, NULL},
	{"preview", TEXTOID, CHECK_NONE, NULL},
	{"workspace_element_type", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"workspace_element_id", TEXTOID, CHECK_ID, NULL},
	{"is_external", BOOLOID, CHECK_NONE, "false"},
	{"source", TEXTOID, CHECK_NOT_EMPTY, NULL},
	{"source_schedule_id", TEXTOID, CHECK_ID, NULL},
	{"capabilities", JSONBOID, CHECK_ARRAY, "'[]'::pg_catalog.jsonb"},
	{"config", JSONBOID, CHECK_OBJECT, NULL},
	{"agent_state", JSONBOID, CHECK_OBJECT, NULL},
	{"tags", TEXTARRAYOID, CHECK_TAGS, "'{}'::pg_catalog.text[]"},
	{"metadata", JSONBOID, CHECK_OBJECT, "'{}'::pg_catalog.jsonb"},
	{"inactivity_timeout", INTERVALOID, CHECK_POSITIVE, NULL},
	{"start_timeout", INTERVALOID, CHECK_POSITIVE, NULL},
	{"idempotency_key", TEXTOID, CHECK_ID, NULL},
};

#define NUM_CREATE_ARGS		((int) lengthof(create_args))
#define ARG_USER_ID			0
#define ARG_ORGANIZATION_ID 2
#define ARG_MACHINE_ID		7
#define ARG_IDEMPOTENCY_KEY 30

/*
 * insert parameters: the arguments, then request_hash, now, connected_at,
 * id and the actor of the history row
 */
#define INSERT_NARGS		(NUM_CREATE_ARGS + 5)

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr insert_keyed_plan = NULL;
static SPIPlanPtr insert_scoped_plan = NULL;
static SPIPlanPtr insert_scoped_keyed_plan = NULL;
static SPIPlanPtr find_key_plan = NULL;
static SPIPlanPtr find_key_no_org_plan = NULL;
static SPIPlanPtr get_plan = NULL;
static SPIPlanPtr list_plan = NULL;

/*
 * An id a caller gives (user_id, machine_id, idempotency_key, ...): not
 * empty, and short enough to be indexed.
 */
void
as_check_id_arg(const char *name, Datum value)
{
	text	   *t = DatumGetTextPP(value);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 0)
		as_invalid_argument(name, "must not be empty");
	if (len > AS_MAX_ID_LENGTH &&
		pg_mbstrlen_with_len(VARDATA_ANY(t), len) > AS_MAX_ID_LENGTH)
		as_invalid_argument(name, psprintf("must be at most %d characters",
										   AS_MAX_ID_LENGTH));
}

/*
 * The text columns B-tree indexes cover (the tenancy keys and the
 * idempotency key): a direct UPDATE of one is held to the same limit.
 */
const char *const as_key_columns[] = {
	"organization_id", "user_id", "agent_id", "idempotency_key"
};
const int	as_num_key_columns = lengthof(as_key_columns);

static void
check_argument(const CreateArg *arg, Datum value)
{
	switch (arg->check)
	{
		case CHECK_NONE:
			break;
		case CHECK_NOT_EMPTY:
			if (VARSIZE_ANY_EXHDR(DatumGetPointer(value)) == 0)
				as_invalid_argument(arg->name, "must not be empty");
			break;
		case CHECK_ID:
			as_check_id_arg(arg->name, value);
			break;
		case CHECK_OBJECT:
			if (!JB_ROOT_IS_OBJECT(DatumGetJsonbP(value)) ||
				JB_ROOT_IS_SCALAR(DatumGetJsonbP(value)))
				as_invalid_argument(arg->name, "must be a JSON object");
			break;
		case CHECK_ARRAY:
			if (!JB_ROOT_IS_ARRAY(DatumGetJsonbP(value)) ||
				JB_ROOT_IS_SCALAR(DatumGetJsonbP(value)))
				as_invalid_argument(arg->name, "must be a JSON array");
			break;
		case CHECK_TAGS:
			{
				ArrayType  *tags = DatumGetArrayTypeP(value);
				Datum	   *elems;
				bool	   *nulls;
				int			n;
				int			i;

				if (ARR_NDIM(tags) > 1)
					as_invalid_argument(arg->name, "must be a one-dimensional array");
				deconstruct_array(tags, TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &n);
				for (i = 0; i < n; i++)
				{
					if (nulls[i])
						as_invalid_argument(arg->name, "must not contain NULL");
					if (VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])) == 0)
						as_invalid_argument(arg->name, "must not contain an empty tag");
				}
				break;
			}
		case CHECK_POSITIVE:
			{
				Interval	zero = {0};

				if (DatumGetInt32(DirectFunctionCall2(interval_cmp, value,
													  IntervalPGetDatum(&zero))) <= 0)
					as_invalid_argument(arg->name, "must be greater than zero");
				break;
			}
	}
}

/*
 * The session create_session() is inserting together with its scopes row,
 * while the statement runs: the scopes trigger leaves that one row alone.
 */
static bool creating = false;
static pg_uuid_t creating_id;

bool
as_scopes_written_with(const pg_uuid_t *id)
{
	return creating && memcmp(id->data, creating_id.data, UUID_LEN) == 0;
}

/*
 * Whether session_scopes exists.  It does from 0.3.0 on; a database whose
 * extension has not been updated yet keeps the listing indexes on sessions
 * and is served the way it was.  Asked on every call, so that a backend
 * follows an ALTER EXTENSION UPDATE made by another.
 */
bool
as_have_scopes(void)
{
	Oid			nsp = get_namespace_oid("agent_sessions", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("session_scopes", nsp));
}

static SPIPlanPtr
prepare_insert(SPIPlanPtr *cache, bool keyed, bool scoped)
{
	StringInfoData sql;
	Oid			argtypes[INSERT_NARGS];
	int			i;

	if (*cache)
		return *cache;

	initStringInfo(&sql);
	/* the session's row and its scopes row (session_scopes), together */
	if (scoped)
		appendStringInfoString(&sql, "WITH s AS (");
	appendStringInfoString(&sql, "INSERT INTO agent_sessions.sessions AS s (id");
	for (i = 0; i < NUM_CREATE_ARGS; i++)
	{
		appendStringInfo(&sql, ", %s", create_args[i].name);
		argtypes[i] = create_args[i].type;
	}
	appendStringInfoString(&sql, ", request_hash, created_at, updated_at,"
						   " last_activity_at, connected_at) VALUES");
	appendStringInfo(&sql, " ($%d", NUM_CREATE_ARGS + 4);
	for (i = 0; i < NUM_CREATE_ARGS; i++)
	{
		if (create_args[i].fallback)
			appendStringInfo(&sql, ", COALESCE($%d, %s)", i + 1,
							 create_args[i].fallback);
		else
			appendStringInfo(&sql, ", $%d", i + 1);
	}
	argtypes[NUM_CREATE_ARGS] = TEXTOID;
	argtypes[NUM_CREATE_ARGS + 1] = TIMESTAMPTZOID;
	argtypes[NUM_CREATE_ARGS + 2] = TIMESTAMPTZOID;
	argtypes[NUM_CREATE_ARGS + 3] = UUIDOID;
	argtypes[NUM_CREATE_ARGS + 4] = TEXTOID;
	appendStringInfo(&sql, ", $%d, $%d, $%d, $%d, $%d)",
					 NUM_CREATE_ARGS + 1, NUM_CREATE_ARGS + 2,
					 NUM_CREATE_ARGS + 2, NUM_CREATE_ARGS + 2,
					 NUM_CREATE_ARGS + 3);
	if (keyed)
		appendStringInfoString(&sql,
							   " ON CONFLICT (organization_id, user_id, idempotency_key)"
							   " WHERE idempotency_key IS NOT NULL DO NOTHING");
	/*
	 * From 0.3.0 on, the statement also writes the scopes row and the
	 * history row of the creation, as the plain SQL a user would write.
	 */
	if (scoped)
		appendStringInfo(&sql, " RETURNING s AS session_row, id, organization_id,"
						 " project_id, user_id, agent_id, status, activity, version),"
						 " scopes AS (INSERT INTO agent_sessions.session_scopes"
						 " (id, organization_id, project_id, user_id, agent_id)"
						 " SELECT id, organization_id, project_id, user_id, agent_id"
						 " FROM s),"
						 " events AS (INSERT INTO agent_sessions.session_events"
						 " (session_id, organization_id, user_id, to_status, to_activity,"
						 "  version, at, actor)"
						 " SELECT id, organization_id, user_id, status, activity,"
						 "  version, $%d, $%d FROM s)"
						 " SELECT session_row, organization_id, user_id FROM s",
						 NUM_CREATE_ARGS + 2, NUM_CREATE_ARGS + 5);
	else
		appendStringInfoString(&sql, " RETURNING s AS session_row, organization_id, user_id");

	return as_keep_plan(cache, sql.data, INSERT_NARGS, argtypes);
}

/* Digest of everything a create request asks for. */
static char *
request_hash(Datum *values, bool *nulls)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < NUM_CREATE_ARGS; i++)
	{
		Oid			typoutput;
		bool		typisvarlena;
		char	   *s;

		if (nulls[i])
		{
			appendStringInfoString(&buf, "N;");
			continue;
		}
		getTypeOutputInfo(create_args[i].type, &typoutput, &typisvarlena);
		s = OidOutputFunctionCall(typoutput, values[i]);
		appendStringInfo(&buf, "%zu:%s;", strlen(s), s);
		pfree(s);
	}
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(md5_text,
															  PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len)))));
}

/*
 * The session already made with this idempotency key, if any: returns true
 * and leaves it in SPI_tuptable row 0.  A key reused with another payload
 * is a conflict.
 */
static bool
find_by_key(Datum *values, bool *nulls, const char *hash)
{
	Datum		keyvals[3];
	bool		keynulls[3] = {false, false, false};
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	SPIPlanPtr	plan;
	char	   *stored;

	if (nulls[ARG_ORGANIZATION_ID])
	{
		plan = as_keep_plan(&find_key_no_org_plan,
							"SELECT s AS session_row, s.id, s.request_hash"
							" FROM agent_sessions.sessions AS s"
							" WHERE organization_id IS NULL"
							"   AND user_id OPERATOR(pg_catalog.=) $1"
							"   AND idempotency_key OPERATOR(pg_catalog.=) $2",
							2, argtypes);
		keyvals[0] = values[ARG_USER_ID];
		keyvals[1] = values[ARG_IDEMPOTENCY_KEY];
	}
	else
	{
		plan = as_keep_plan(&find_key_plan,
							"SELECT s AS session_row, s.id, s.request_hash"
							" FROM agent_sessions.sessions AS s"
							" WHERE organization_id OPERATOR(pg_catalog.=) $1"
							"   AND user_id OPERATOR(pg_catalog.=) $2"
							"   AND idempotency_key OPERATOR(pg_catalog.=) $3",
							3, argtypes);
		keyvals[0] = values[ARG_ORGANIZATION_ID];
		keyvals[1] = values[ARG_USER_ID];
		keyvals[2] = values[ARG_IDEMPOTENCY_KEY];
	}
	as_execute(plan, keyvals, keynulls, false, 1);
	if (SPI_processed == 0)
		return false;

	stored = as_get_text_attr(0, "request_hash");
	if (stored == NULL || strcmp(stored, hash) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_CONFLICT),
				 errmsg("idempotency key \"%s\" was already used with a different request",
						TextDatumGetCString(values[ARG_IDEMPOTENCY_KEY])),
				 errdetail("Session %s was created with this key.",
						   as_get_text_attr(0, "id")),
				 errhint("Retry with the same request, or use a new key.")));
	return true;
}

/*
 * create_session(user_id, prompt, ...): a new queued session.
 *
 * user_id and organization_id default to the caller's claims.  With an
 * idempotency key, repeating the same request returns the first session
 * instead of making a second one.
 */
Datum
create_session(PG_FUNCTION_ARGS)
{
	Datum		values[INSERT_NARGS];
	bool		nulls[INSERT_NARGS];
	TimestampTz now = as_now();
	pg_uuid_t	id;
	bool		keyed;
	bool		scoped;
	char	   *hash;
	Datum		result;
	AsChange	change = {0};
	int			i;

	for (i = 0; i < NUM_CREATE_ARGS; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}

	/* the caller's identity fills in the owner */
	if (nulls[ARG_USER_ID] && as_caller_user_id()[0] != '\0')
	{
		values[ARG_USER_ID] = CStringGetTextDatum(as_caller_user_id());
		nulls[ARG_USER_ID] = false;
	}
	if (nulls[ARG_ORGANIZATION_ID] && as_caller_organization_id()[0] != '\0')
	{
		values[ARG_ORGANIZATION_ID] = CStringGetTextDatum(as_caller_organization_id());
		nulls[ARG_ORGANIZATION_ID] = false;
	}
	if (nulls[ARG_USER_ID])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid user_id: must be given"),
				 errdetail("Field \"user_id\" is invalid."),
				 errhint("Pass user_id, or call with a user claim in request.jwt.claims.")));

	for (i = 0; i < NUM_CREATE_ARGS; i++)
		if (!nulls[i])
			check_argument(&create_args[i], values[i]);

	keyed = !nulls[ARG_IDEMPOTENCY_KEY];
	hash = keyed ? request_hash(values, nulls) : NULL;
	values[NUM_CREATE_ARGS] = keyed ? CStringGetTextDatum(hash) : (Datum) 0;
	nulls[NUM_CREATE_ARGS] = !keyed;
	values[NUM_CREATE_ARGS + 1] = TimestampTzGetDatum(now);
	nulls[NUM_CREATE_ARGS + 1] = false;
	values[NUM_CREATE_ARGS + 2] = TimestampTzGetDatum(now);
	nulls[NUM_CREATE_ARGS + 2] = nulls[ARG_MACHINE_ID];
	/* the id is made here rather than by calling uuid_v7() in the statement */
	as_uuid_v7(&id);
	values[NUM_CREATE_ARGS + 3] = UUIDPGetDatum(&id);
	nulls[NUM_CREATE_ARGS + 3] = false;
	values[NUM_CREATE_ARGS + 4] = CStringGetTextDatum(as_caller_actor());
	nulls[NUM_CREATE_ARGS + 4] = false;

	SPI_connect();

	if (keyed && find_by_key(values, nulls, hash))
	{
		result = as_get_row(0, "session_row");
		SPI_finish();
		PG_RETURN_DATUM(result);
	}

	scoped = as_have_scopes();
	if (scoped)
	{
		/* a trigger of the caller's may create a session of its own */
		bool		was_creating = creating;
		pg_uuid_t	was_creating_id = creating_id;

		creating = true;
		creating_id = id;
		PG_TRY();
		{
			as_execute(prepare_insert(keyed ? &insert_scoped_keyed_plan : &insert_scoped_plan,
									  keyed, true),
					   values, nulls, false, 0);
		}
		PG_FINALLY();
		{
			creating = was_creating;
			creating_id = was_creating_id;
		}
		PG_END_TRY();
	}
	else
		as_execute(prepare_insert(keyed ? &insert_keyed_plan : &insert_plan, keyed, false),
				   values, nulls, false, 0);

	if (SPI_processed == 0)
	{
		/* a concurrent create with the same key won: return its session */
		if (!find_by_key(values, nulls, hash))
			elog(ERROR, "session with idempotency key vanished");
		result = as_get_row(0, "session_row");
		SPI_finish();
		PG_RETURN_DATUM(result);
	}

	result = as_get_row(0, "session_row");

	change.id = id;
	change.organization_id = as_get_text_attr(0, "organization_id");
	change.user_id = as_get_text_attr(0, "user_id");
	change.from_status = NULL;
	change.to_status = "queued";
	change.from_activity = NULL;
	change.to_activity = "busy";
	change.version = 1;
	change.at = now;
	/* the scoped statement wrote the history row already */
	if (scoped)
		as_announce_change(&change);
	else
		as_record_change(&change);

	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* The row of session "id" as a composite datum; PT404 when not visible. */
Datum
as_get_session(const pg_uuid_t *id)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	Datum		result;

	values[0] = UUIDPGetDatum(id);

	SPI_connect();
	as_execute(as_keep_plan(&get_plan,
							"SELECT s AS session_row FROM agent_sessions.sessions AS s"
							" WHERE s.id OPERATOR(pg_catalog.=) $1",
							1, argtypes),
			   values, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_AS_NOT_FOUND),
				 errmsg("session %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(id))))));
	result = as_get_row(0, "session_row");
	SPI_finish();
	return result;
}

Datum
get_session(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(as_get_session(PG_GETARG_UUID_P(0)));
}

/* get_session(text): the same for a UUID or "session_<hex>" given as text */
Datum
get_session_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(as_get_session(as_session_id_arg(PG_GETARG_TEXT_PP(0))));
}

/*
 * list_sessions(...) and count_sessions(...): the sessions matching every
 * given filter.  The statements are kept but planned for each call's actual
 * filters, so the filters given become index conditions.  A call that
 * filters by organization, project, user or agent reads those through
 * session_scopes, which holds the listing indexes; the others read sessions
 * alone.
 */
#define FILTER_NARGS 13
#define LIST_NARGS (FILTER_NARGS + 2)

/* the filters on the scopes; sc is session_scopes, or sessions itself */
#define SCOPE_FILTER_SQL(sc) \
	"   AND ($3 IS NULL OR " sc ".organization_id = $3)" \
	"   AND ($5 IS NULL OR " sc ".project_id = $5)" \
	"   AND ($6 IS NULL OR " sc ".user_id = $6)" \
	"   AND ($7 IS NULL OR " sc ".agent_id = $7)"

#define FILTER_SQL(sc) \
	" WHERE ($1 IS NULL OR s.status = ANY ($1))" \
	"   AND ($2 IS NULL OR s.activity = $2)" \
	"   AND ($4 IS NULL OR s.workspace_id = $4)" \
	"   AND ($8 IS NULL OR s.tags && $8)" \
	"   AND ($9 IS NULL OR s.tags @> $9)" \
	"   AND ($10 IS NULL OR s.created_at >= $10)" \
	"   AND ($11 IS NULL OR s.created_at < $11)" \
	"   AND ($12 IS NULL OR s.last_activity_at >= $12)" \
	"   AND ($13 IS NULL OR s.last_activity_at < $13)" \
	SCOPE_FILTER_SQL(sc)

#define FROM_SESSIONS_SQL " FROM agent_sessions.sessions s"
#define FROM_SCOPES_SQL \
	" FROM agent_sessions.session_scopes sc" \
	" JOIN agent_sessions.sessions s ON s.id = sc.id"

static SPIPlanPtr list_scoped_plan = NULL;
static SPIPlanPtr count_plan = NULL;
static SPIPlanPtr count_scoped_plan = NULL;

static void
filter_args(FunctionCallInfo fcinfo, int nargs, Oid *argtypes, Datum *values,
			bool *nulls)
{
	int			a;

	for (a = 0; a < nargs; a++)
	{
		nulls[a] = PG_ARGISNULL(a);
		values[a] = nulls[a] ? (Datum) 0 : PG_GETARG_DATUM(a);
		argtypes[a] = get_fn_expr_argtype(fcinfo->flinfo, a);
		if (!OidIsValid(argtypes[a]))
			elog(ERROR, "could not determine the type of argument %d", a + 1);
	}
}

/* Whether the call filters by organization, project, user or agent. */
static bool
filters_scope(const bool *nulls)
{
	return !nulls[2] || !nulls[4] || !nulls[5] || !nulls[6];
}

Datum
list_sessions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[LIST_NARGS];
	Datum		values[LIST_NARGS];
	bool		nulls[LIST_NARGS];
	int32		page_size;
	SPIPlanPtr	plan;

	InitMaterializedSRF(fcinfo, 0);
	filter_args(fcinfo, LIST_NARGS, argtypes, values, nulls);

	page_size = nulls[LIST_NARGS - 1] ? 100 : DatumGetInt32(values[LIST_NARGS - 1]);
	if (page_size < 1 || page_size > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid page_size: must be between 1 and 10000"),
				 errdetail("Field \"page_size\" is invalid.")));
	values[LIST_NARGS - 1] = Int32GetDatum(page_size);
	nulls[LIST_NARGS - 1] = false;

	SPI_connect();
	if (filters_scope(nulls) && as_have_scopes())
		plan = as_keep_custom_plan(&list_scoped_plan,
								   "SELECT s.*" FROM_SCOPES_SQL
								   FILTER_SQL("sc")
								   "   AND ($14 IS NULL OR sc.id < $14)"
								   " ORDER BY sc.id DESC LIMIT $15",
								   LIST_NARGS, argtypes);
	else
		plan = as_keep_custom_plan(&list_plan,
								   "SELECT s.*" FROM_SESSIONS_SQL
								   FILTER_SQL("s")
								   "   AND ($14 IS NULL OR s.id < $14)"
								   " ORDER BY s.id DESC LIMIT $15",
								   LIST_NARGS, argtypes);
	as_execute(plan, values, nulls, true, 0);

	as_store_rows(rsinfo);
	SPI_finish();
	return (Datum) 0;
}

Datum
count_sessions(PG_FUNCTION_ARGS)
{
	Oid			argtypes[FILTER_NARGS];
	Datum		values[FILTER_NARGS];
	bool		nulls[FILTER_NARGS];
	bool		isnull;
	SPIPlanPtr	plan;
	int64		count;

	filter_args(fcinfo, FILTER_NARGS, argtypes, values, nulls);

	SPI_connect();
	if (filters_scope(nulls) && as_have_scopes())
		plan = as_keep_custom_plan(&count_scoped_plan,
								   "SELECT count(*) AS n" FROM_SCOPES_SQL
								   FILTER_SQL("sc"),
								   FILTER_NARGS, argtypes);
	else
		plan = as_keep_custom_plan(&count_plan,
								   "SELECT count(*) AS n" FROM_SESSIONS_SQL
								   FILTER_SQL("s"),
								   FILTER_NARGS, argtypes);
	as_execute(plan, values, nulls, true, 0);
	count = DatumGetInt64(as_get_attr(0, "n", &isnull));
	SPI_finish();
	PG_RETURN_INT64(count);
}
