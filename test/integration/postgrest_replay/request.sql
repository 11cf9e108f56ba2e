-- One request, exactly as PostgREST runs it (research/postgrest.md 1.2-1.6).
--
-- Set before \ir-ing this file:
--   access   READ ONLY (GET) or READ WRITE (POST on a VOLATILE function)
--   role     the role PostgREST switches to (the token's role claim)
--   claims   the JWT claims, with "role" in them, as PostgREST sets them
--   method, path, headers (lower-cased JSON, no cookie)
--   fn       the agent_sessions_api function called
--   keys     the query parameters (GET) or body keys (POST), as a text[] literal
--   args     the statement's parameters: one unknown-typed literal per query
--            parameter, or the body as one literal
-- Afterwards:
--   r_body         the response body (the JSON text 'null' when it failed)
--   sqlstate       00000 or the error's SQLSTATE
--   error_body     PostgREST's error JSON {code, message, details, hint}
--   http           the HTTP status PostgREST answers with

\set r_body null
\set error_body null
SELECT replay.prepare_statement(:'method', :'fn', :'keys') AS prepare_sql \gset
SELECT CASE WHEN :'args' = '' THEN 'EXECUTE pgrst_stmt'
            ELSE 'EXECUTE pgrst_stmt(' || :'args' || ')' END AS exec \gset

\set ON_ERROR_STOP 0
BEGIN ISOLATION LEVEL READ COMMITTED :access;
select set_config('search_path', '"agent_sessions_api", "public"', true), set_config('role', :'role', true), set_config('request.jwt.claims', :'claims', true), set_config('request.method', :'method', true), set_config('request.path', :'path', true), set_config('request.headers', :'headers', true), set_config('request.cookies', '{}', true) \g /dev/null
:prepare_sql;
\set prepare_sqlstate :SQLSTATE
:exec \gset r_
\set sqlstate :SQLSTATE
\if :ERROR
ABORT;
DEALLOCATE ALL;
-- The first error is the answer: the PREPARE's, when the role may not even
-- see the function (PostgREST's Parse fails the same way).
SELECT CASE WHEN :'prepare_sqlstate' <> '00000' THEN :'prepare_sqlstate' ELSE :'sqlstate' END AS sqlstate \gset
-- The same request again, with the error caught, to read its detail and
-- hint: PostgREST's error body.  psql keeps only the message of an error.
BEGIN ISOLATION LEVEL READ COMMITTED :access;
select set_config('search_path', '"agent_sessions_api", "public"', true), set_config('role', :'role', true), set_config('request.jwt.claims', :'claims', true), set_config('request.method', :'method', true), set_config('request.path', :'path', true), set_config('request.headers', :'headers', true), set_config('request.cookies', '{}', true) \g /dev/null
SELECT replay.error_body(:'prepare_sql', :'exec') AS error_body \gset
ABORT;
\else
COMMIT;
\endif
DEALLOCATE ALL;
\set ON_ERROR_STOP 1

SELECT replay.http_status(:'sqlstate', :'error_body'::json ->> 'message', :'role') AS http \gset
