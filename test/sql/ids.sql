-- uuid_v7, format_session_id, parse_session_id

-- version 7 and the RFC 9562 variant
SELECT substr(u::text, 15, 1) AS version,
       substr(u::text, 20, 1) IN ('8', '9', 'a', 'b') AS rfc_variant
  FROM agent_sessions.uuid_v7() AS u;

-- strictly increasing within a backend, even inside one millisecond, and
-- unique: one statement making 1,000,000 ids
WITH ids AS (
    SELECT n, agent_sessions.uuid_v7() AS u FROM generate_series(1, 1000000) AS n
)
SELECT count(*) AS made,
       count(DISTINCT u) AS distinct_ids,
       bool_and(prev IS NULL OR prev < u) AS strictly_increasing
  FROM (SELECT u, lag(u) OVER (ORDER BY n) AS prev FROM ids) AS s;

-- the embedded time is the time of the call (within a second)
SELECT abs(extract(epoch FROM clock_timestamp())
           - ('x' || translate(substr(u::text, 1, 13), '-', ''))::bit(48)::bigint / 1000.0) < 1
       AS timestamp_recoverable
  FROM agent_sessions.uuid_v7() AS u;

-- the prefixed form
SELECT agent_sessions.format_session_id('01933b5a-0000-7000-8000-000000000001');
SELECT agent_sessions.parse_session_id('session_01933b5a000070008000000000000001');
SELECT agent_sessions.parse_session_id('SESSION_01933b5a000070008000000000000001');
SELECT agent_sessions.parse_session_id('session_01933B5A000070008000000000000001');
SELECT agent_sessions.parse_session_id('01933b5a-0000-7000-8000-000000000001');
SELECT agent_sessions.parse_session_id('01933B5A000070008000000000000001');

-- round trips of both text forms
SELECT bool_and(agent_sessions.parse_session_id(agent_sessions.format_session_id(u)) = u
                AND agent_sessions.parse_session_id(u::text) = u) AS round_trips
  FROM (SELECT agent_sessions.uuid_v7() AS u FROM generate_series(1, 1000)) AS s;

-- NULL in, NULL out
SELECT agent_sessions.format_session_id(NULL) IS NULL AS format_null,
       agent_sessions.parse_session_id(NULL) IS NULL AS parse_null;

-- malformed input: 22P02 with the offending text
\set VERBOSITY default
SELECT agent_sessions.parse_session_id('');
SELECT agent_sessions.parse_session_id('session_');
SELECT agent_sessions.parse_session_id('session_01933b5a00007000800000000000001');
SELECT agent_sessions.parse_session_id('session_01933b5a-0000-7000-8000-000000000001');
SELECT agent_sessions.parse_session_id('01933b5a-0000-7000-8000-00000000000g');
SELECT agent_sessions.parse_session_id('01933b5a00-00-7000-8000-000000000001');
SELECT agent_sessions.parse_session_id('{01933b5a-0000-7000-8000-000000000001}');
SELECT agent_sessions.parse_session_id(repeat('a', 1000000));
\set VERBOSITY terse
DO $$
BEGIN
    PERFORM agent_sessions.parse_session_id('nope');
EXCEPTION WHEN invalid_text_representation THEN
    RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END $$;
