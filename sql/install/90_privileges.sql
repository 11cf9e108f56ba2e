-- Privileges
--
-- Nothing is granted to PUBLIC but the pure id functions and the claim
-- readers the row-level security policies call.  grant_api(role) grants a
-- role (such as PostgREST's authenticated role) what it needs.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.uuid_v7(),
    @extschema@.format_session_id(uuid),
    @extschema@.parse_session_id(text),
    @extschema@.caller_user_id(),
    @extschema@.caller_organization_id(),
    @extschema@.usage_add(jsonb, jsonb)
    TO PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

