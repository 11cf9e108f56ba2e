/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  Kept SPI plans and small helpers shared by the SQL-callable functions.
 *
 * Every statement is prepared once per backend and kept (SPI_keepplan), so
 * no call parses SQL.  All statements name their objects with the
 * agent_sessions schema.  The functions that create, read and move single
 * sessions (and the triggers) run under the caller's search_path and name
 * every type, function and operator in full; the others run with
 * search_path pinned to pg_catalog, pg_temp.  A kept plan is parsed again
 * whenever the search_path differs from the one it was made under, so a
 * plan is only ever shared by functions of the same kind.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "access/htup_details.h"
#include "access/tupconvert.h"
#include "fmgr.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

/*
 * Depth of statements this module is running that write sessions.  The
 * guard trigger lets them through; every other UPDATE of a session is
 * checked against the lifecycle.
 */
static int	api_write_depth = 0;

static SPIPlanPtr
prepare_and_keep(SPIPlanPtr *cache, const char *sql, int nargs,
				 Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;

	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
	if (plan == NULL)
		elog(ERROR, "could not prepare statement \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan of \"%s\"", sql);
	*cache = plan;
	return plan;
}

/* A kept plan; the plan cache chooses between custom and generic plans. */
SPIPlanPtr
as_keep_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return prepare_and_keep(cache, sql, nargs, argtypes, 0);
}

/*
 * A kept statement that is always planned for its actual parameters: for
 * statements whose optional filters ("$1 IS NULL OR ...") only a custom plan
 * can turn into index conditions.
 */
SPIPlanPtr
as_keep_custom_plan(SPIPlanPtr *cache, const char *sql, int nargs,
					Oid *argtypes)
{
	return prepare_and_keep(cache, sql, nargs, argtypes,
							CURSOR_OPT_CUSTOM_PLAN);
}

/*
 * A kept statement that always runs its generic plan.  The plan cache would
 * otherwise plan each call afresh whenever a generic plan looks dearer than
 * a custom one, which for a range on a bound timestamp ("finished_at >=
 * $1", estimated at a third of the table) is always: the planning then
 * costs several times the execution.
 */
SPIPlanPtr
as_keep_generic_plan(SPIPlanPtr *cache, const char *sql, int nargs,
					 Oid *argtypes)
{
	return prepare_and_keep(cache, sql, nargs, argtypes,
							CURSOR_OPT_GENERIC_PLAN);
}

/*
 * Execute a kept plan.  Writes are marked as the module's own for the
 * duration of the statement so that the guard trigger lets them through,
 * and a serialization failure of a write is reported as PT409.
 */
int
as_execute(SPIPlanPtr plan, Datum *values, const bool *isnull,
		   bool read_only, long count)
{
	char		nulls[FUNC_MAX_ARGS];
	int			nargs = SPI_getargcount(plan);
	int			i;
	int			ret;

	Assert(nargs <= FUNC_MAX_ARGS);
	for (i = 0; i < nargs; i++)
		nulls[i] = (isnull != NULL && isnull[i]) ? 'n' : ' ';

	if (read_only)
		ret = SPI_execute_plan(plan, values, nulls, true, count);
	else
	{
		MemoryContext cxt = CurrentMemoryContext;

		api_write_depth++;
		PG_TRY();
		{
			ret = SPI_execute_plan(plan, values, nulls, false, count);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			api_write_depth--;
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
				PG_RE_THROW();

			/*
			 * Under REPEATABLE READ or SERIALIZABLE a session changed since
			 * the snapshot cannot be written.  Report the lost race as the
			 * conflict it is: 40001 makes PostgREST retry without end.
			 */
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_AS_CONFLICT),
					 errmsg("session was changed by a concurrent transaction"),
					 errdetail("A transaction at REPEATABLE READ or SERIALIZABLE isolation cannot write a row changed after its snapshot was taken."),
					 errhint("Read the session again in a new transaction.")));
		}
		PG_END_TRY();
		api_write_depth--;
	}

	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	return ret;
}

bool
as_in_api_write(void)
{
	return api_write_depth > 0;
}

/* Column attname of result row "row" of the last statement. */
Datum
as_get_attr(int row, const char *attname, bool *isnull)
{
	int			attno = SPI_fnumber(SPI_tuptable->tupdesc, attname);

	if (attno <= 0)
		elog(ERROR, "column \"%s\" is missing from the result", attname);
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
						 attno, isnull);
}

/*
 * Column attno (from 1) of result row "row" of the last statement, a column
 * the statement never leaves NULL: for hot paths whose statement text fixes
 * the column order.
 */
Datum
as_get_attnum(int row, int attno)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
									  attno, &isnull);

	if (isnull)
		elog(ERROR, "column %d of the result is null", attno);
	return value;
}

/* The same as text (palloc'd in the caller's context), or NULL. */
char *
as_get_text_attr(int row, const char *attname)
{
	int			attno = SPI_fnumber(SPI_tuptable->tupdesc, attname);

	if (attno <= 0)
		elog(ERROR, "column \"%s\" is missing from the result", attname);
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, attno);
}

/*
 * The whole-row column "attname" of result row "row" (a statement ending in
 * "RETURNING s AS session_row"), copied into the caller's memory context for
 * it to return.  One composite column spares the executor building a
 * projection and a result descriptor of every column on every execution.
 */
Datum
as_get_row(int row, const char *attname)
{
	bool		isnull;
	Datum		value = as_get_attr(row, attname, &isnull);

	if (isnull)
		elog(ERROR, "column \"%s\" of the result is null", attname);
	return SPI_datumTransfer(value, false, -1);
}

/*
 * Put every row of the last statement into the tuplestore of a function
 * returning SETOF a table's row type (after InitMaterializedSRF).  The
 * statement's columns are the table's columns in order ("SELECT s.*"),
 * which leaves out the columns dropped from the table, while the row type
 * keeps a place for each of them: once a column has been dropped, the rows
 * are mapped by position onto the row type (NULL in the dropped places)
 * instead of going in as they are, which would shift every later column.
 */
void
as_store_rows(ReturnSetInfo *rsinfo)
{
	TupleConversionMap *map;
	uint64		r;

	map = convert_tuples_by_position(SPI_tuptable->tupdesc, rsinfo->setDesc,
									 gettext_noop("result rows do not match the row type of the function"));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];

		if (map == NULL)
			tuplestore_puttuple(rsinfo->setResult, tuple);
		else
		{
			/* the tuplestore keeps a copy: free each mapped row as it goes */
			tuple = execute_attr_map_tuple(tuple, map);
			tuplestore_puttuple(rsinfo->setResult, tuple);
			heap_freetuple(tuple);
		}
	}
}

/*
 * Reject an argument: 22023 naming the field, which PostgREST answers with
 * 400.  "problem" completes "invalid <name>: ...".
 */
void
as_invalid_argument(const char *name, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s: %s", name, problem),
			 errdetail("Field \"%s\" is invalid.", name)));
}

/* OID of a type named in SQL syntax, e.g. "agent_sessions.session_status". */
Oid
as_type_oid(const char *typname)
{
	Oid			typid;
	int32		typmod;

	parseTypeString(typname, &typid, &typmod, false);
	return typid;
}

/*
 * The time a call stamps on everything it writes: one reading of the clock,
 * bound as a parameter, never now() inside the statements.
 */
TimestampTz
as_now(void)
{
	return GetCurrentTimestamp();
}
