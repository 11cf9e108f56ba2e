/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is calling: the user and organization claims of the request.
 *
 * Claims are read, in this order, from
 *	  request.jwt.claims			 the JSON object PostgREST (>= 9) sets
 *	  jwt.claims.<claim>			 PostGraphile v4 and v5
 *	  request.jwt.claim.<claim>	 PostgREST <= 11 legacy per-claim settings
 * with the claim names taken from agent_sessions.user_claim and
 * agent_sessions.organization_claim.  A missing claim reads as '' (never
 * NULL), because row-level security policies compare it with plain
 * equality, the form Citus can evaluate on its workers.
 *
 * Policies call these functions once per row, so the parsed claims are
 * cached for as long as the settings they come from stay the same.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(caller_user_id);
PG_FUNCTION_INFO_V1(caller_organization_id);

typedef struct ClaimCache
{
	char	   *claims_json;	/* request.jwt.claims it was read from */
	char	   *claim_name;		/* claim name it was read for */
	char	   *value;			/* the claim, '' when absent */
} ClaimCache;

static ClaimCache user_cache;
static ClaimCache organization_cache;

/* A top-level string or number claim of a JSON object, or NULL. */
static char *
json_claim(const char *json, const char *claim)
{
	Jsonb	   *jb;
	JsonbValue	key;
	JsonbValue *v;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (!JB_ROOT_IS_OBJECT(jb))
		return NULL;

	key.type = jbvString;
	key.val.string.val = (char *) claim;
	key.val.string.len = strlen(claim);
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
	if (v == NULL)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	return NULL;
}

static const char *
setting(const char *name)
{
	const char *value = GetConfigOption(name, true, false);

	return (value != NULL && value[0] != '\0') ? value : NULL;
}

static const char *
read_claim(ClaimCache *cache, const char *claim)
{
	const char *claims = setting("request.jwt.claims");
	char	   *value = NULL;
	char	   *name;
	MemoryContext old;

	if (claim == NULL || claim[0] == '\0')
		return "";

	/* the JSON form is the common case: cache on its exact text */
	if (claims != NULL && cache->claims_json != NULL &&
		strcmp(cache->claims_json, claims) == 0 &&
		strcmp(cache->claim_name, claim) == 0)
		return cache->value;

	if (claims != NULL)
		value = json_claim(claims, claim);

	if (value == NULL)
	{
		const char *v;

		name = psprintf("jwt.claims.%s", claim);
		v = setting(name);
		if (v == NULL)
		{
			name = psprintf("request.jwt.claim.%s", claim);
			v = setting(name);
		}
		/* the per-claim forms are not cached: they are cheap to read */
		if (claims == NULL)
			return v != NULL ? pstrdup(v) : "";
		value = v != NULL ? pstrdup(v) : NULL;
	}

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (cache->claims_json)
		pfree(cache->claims_json);
	if (cache->claim_name)
		pfree(cache->claim_name);
	if (cache->value)
		pfree(cache->value);
	cache->claims_json = pstrdup(claims);
	cache->claim_name = pstrdup(claim);
	cache->value = pstrdup(value != NULL ? value : "");
	MemoryContextSwitchTo(old);

	return cache->value;
}

const char *
as_caller_user_id(void)
{
	return read_claim(&user_cache, as_user_claim);
}

const char *
as_caller_organization_id(void)
{
	return read_claim(&organization_cache, as_organization_claim);
}

/* The name events record as the actor: the user claim, else the role. */
const char *
as_caller_actor(void)
{
	const char *user = as_caller_user_id();

	if (user[0] != '\0')
		return user;
	return GetUserNameFromId(GetUserId(), false);
}

Datum
caller_user_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(as_caller_user_id()));
}

Datum
caller_organization_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(as_caller_organization_id()));
}
