-- Identity and row-level security
--
-- A caller sees and changes only the sessions of the organization in its
-- claims, or, without an organization claim, only its own sessions that
-- belong to no organization (so a caller without one cannot write into an
-- organization's sessions).  A caller with neither claim sees nothing.
-- Owners of the tables (and superusers) are not subject to these policies.
-- The policies use only CASE, "column IS NULL" and plain comparisons of
-- columns with the claim functions, the forms Citus evaluates on its
-- workers (no IS NULL on function results, no subqueries).

CREATE FUNCTION @extschema@.caller_user_id()
RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'caller_user_id';
COMMENT ON FUNCTION @extschema@.caller_user_id() IS
    'The calling user: the agent_sessions.user_claim claim (default "sub") of request.jwt.claims, jwt.claims.* or request.jwt.claim.*; '''' when absent.';

CREATE FUNCTION @extschema@.caller_organization_id()
RETURNS text
LANGUAGE c STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'caller_organization_id';
COMMENT ON FUNCTION @extschema@.caller_organization_id() IS
    'The calling organization: the agent_sessions.organization_claim claim (default "org_id"); '''' when absent.';

ALTER TABLE @extschema@.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.session_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.session_scopes ENABLE ROW LEVEL SECURITY;

CREATE POLICY sessions_tenant ON @extschema@.sessions
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

CREATE POLICY session_events_tenant ON @extschema@.session_events
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

CREATE POLICY session_scopes_tenant ON @extschema@.session_scopes
    USING (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                ELSE organization_id IS NULL
                     AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END)
    WITH CHECK (CASE WHEN @extschema@.caller_organization_id() OPERATOR(pg_catalog.<>) ''
                     THEN organization_id OPERATOR(pg_catalog.=) @extschema@.caller_organization_id()
                     ELSE organization_id IS NULL
                          AND user_id OPERATOR(pg_catalog.=) @extschema@.caller_user_id() END);

