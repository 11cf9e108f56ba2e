/*-------------------------------------------------------------------------
 *
 * ids.c
 *	  Session ids: UUIDv7 generation and the "session_<32 hex>" text form.
 *
 * A UUIDv7 (RFC 9562) carries the Unix time in milliseconds in its first
 * 48 bits, so ids sort by creation time and B-tree inserts append.  The 12
 * bits after the version nibble hold the sub-millisecond fraction, and a
 * per-backend floor makes the sequence strictly increasing even when the
 * clock stalls or many ids are made inside one tick (method 3 of RFC 9562,
 * section 6.2).  The remaining 62 bits are random.
 *
 *-------------------------------------------------------------------------
 */
#include "agent_sessions.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"

#define SESSION_PREFIX		"session_"
#define SESSION_PREFIX_LEN	(sizeof(SESSION_PREFIX) - 1)

/* The last 60-bit (milliseconds << 12 | fraction) value this backend used */
static uint64 last_ts_fraction = 0;

PG_FUNCTION_INFO_V1(uuid_v7);
PG_FUNCTION_INFO_V1(format_session_id);
PG_FUNCTION_INFO_V1(parse_session_id);

void
as_uuid_v7(pg_uuid_t *uuid)
{
	struct timespec ts;
	uint64		unix_ns;
	uint64		value;
	uint64		rand_b;

	clock_gettime(CLOCK_REALTIME, &ts);
	unix_ns = (uint64) ts.tv_sec * 1000000000 + (uint64) ts.tv_nsec;

	/* milliseconds in the high bits, the fraction of a millisecond in 12 */
	value = ((unix_ns / 1000000) << 12) |
		(((unix_ns % 1000000) << 12) / 1000000);
	if (value <= last_ts_fraction)
		value = last_ts_fraction + 1;
	last_ts_fraction = value;

	if (!pg_strong_random(&rand_b, sizeof(rand_b)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));

	uuid->data[0] = (unsigned char) (value >> 52);
	uuid->data[1] = (unsigned char) (value >> 44);
	uuid->data[2] = (unsigned char) (value >> 36);
	uuid->data[3] = (unsigned char) (value >> 28);
	uuid->data[4] = (unsigned char) (value >> 20);
	uuid->data[5] = (unsigned char) (value >> 12);
	uuid->data[6] = (unsigned char) (0x70 | ((value >> 8) & 0x0F));
	uuid->data[7] = (unsigned char) value;
	memcpy(&uuid->data[8], &rand_b, 8);
	uuid->data[8] = (unsigned char) (0x80 | (uuid->data[8] & 0x3F));
}

Datum
uuid_v7(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	as_uuid_v7(uuid);
	PG_RETURN_UUID_P(uuid);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse "session_" followed by 32 hex digits, or a UUID written as 32 hex
 * digits with or without the dashes of the 8-4-4-4-12 form.
 */
bool
as_parse_session_id(const char *str, pg_uuid_t *uuid)
{
	const char *p = str;
	bool		prefixed = false;
	bool		dashed;
	int			i;

	if (strncmp(p, SESSION_PREFIX, SESSION_PREFIX_LEN) == 0)
	{
		p += SESSION_PREFIX_LEN;
		prefixed = true;
	}

	if (strlen(p) == 36 && !prefixed)
		dashed = true;
	else if (strlen(p) == 32)
		dashed = false;
	else
		return false;

	for (i = 0; i < 16; i++)
	{
		int			hi,
					lo;

		if (dashed && (i == 4 || i == 6 || i == 8 || i == 10))
		{
			if (*p != '-')
				return false;
			p++;
		}
		hi = hex_value(p[0]);
		lo = hex_value(p[1]);
		if (hi < 0 || lo < 0)
			return false;
		uuid->data[i] = (unsigned char) ((hi << 4) | lo);
		p += 2;
	}
	return *p == '\0';
}

/*
 * The uuid of a session id argument given as text, or an error naming the
 * offending value (shortened when it is long).
 */
pg_uuid_t *
as_session_id_arg(text *id)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));
	int			len = VARSIZE_ANY_EXHDR(id);
	char	   *str;

	/* anything longer than the longest valid form is rejected unparsed */
	if (len > 64)
	{
		/* the first 40 bytes, cut at a character boundary */
		str = text_to_cstring((text *) PG_DETOAST_DATUM_SLICE(PointerGetDatum(id), 0, 44));
		str[pg_mbcliplen(str, strlen(str), 40)] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid session id: \"%s...\"", str),
				 errdetail("The value is %d bytes long.", len),
				 errhint("A session id is a UUID, or \"session_\" followed by 32 hexadecimal digits.")));
	}

	str = text_to_cstring(id);
	if (!as_parse_session_id(str, uuid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid session id: \"%s\"", str),
				 errhint("A session id is a UUID, or \"session_\" followed by 32 hexadecimal digits.")));
	pfree(str);
	return uuid;
}

Datum
format_session_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = PG_GETARG_UUID_P(0);
	static const char hex[] = "0123456789abcdef";
	char		buf[SESSION_PREFIX_LEN + 32 + 1];
	char	   *p;
	int			i;

	memcpy(buf, SESSION_PREFIX, SESSION_PREFIX_LEN);
	p = buf + SESSION_PREFIX_LEN;
	for (i = 0; i < 16; i++)
	{
		*p++ = hex[uuid->data[i] >> 4];
		*p++ = hex[uuid->data[i] & 0x0F];
	}
	*p = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

Datum
parse_session_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_UUID_P(as_session_id_arg(PG_GETARG_TEXT_PP(0)));
}
