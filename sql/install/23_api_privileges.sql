
-- PostgREST API: privileges
--
-- Nothing in agent_sessions_api is granted to PUBLIC.  grant_api(role)
-- grants a role (PostgREST's authenticated role, say) exactly what calling
-- the API takes: the API schema, its views and functions, and, because the
-- views are security_invoker and every function is SECURITY INVOKER, the
-- privileges on the tables and agent_sessions functions they use.  Which
-- rows the role then sees and changes is up to row-level security.

CREATE FUNCTION @extschema@.grant_api(role name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF grant_api.role IS NULL OR grant_api.role = 'public' THEN
        PERFORM @extschema@.invalid_argument('role', 'the API is granted to a role, never to PUBLIC');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = grant_api.role) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('role "%s" does not exist', grant_api.role);
    END IF;

    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@, agent_sessions_api TO %I', grant_api.role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA agent_sessions_api TO %I', grant_api.role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA agent_sessions_api TO %I', grant_api.role);

    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON TABLE @extschema@.sessions TO %I', grant_api.role);
    -- session_scopes is written with sessions (src/scopes.c)
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON TABLE @extschema@.session_scopes TO %I', grant_api.role);
    EXECUTE format('GRANT SELECT, INSERT ON TABLE @extschema@.session_events TO %I', grant_api.role);
    EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.session_events_event_id_seq TO %I', grant_api.role);

    -- what the API functions, the row-level security policies and the
    -- statements of the C functions call
    FOREACH fn IN ARRAY ARRAY[
        '@extschema@.uuid_v7()',
        '@extschema@.format_session_id(uuid)',
        '@extschema@.parse_session_id(text)',
        '@extschema@.session_id_argument(text, text)',
        '@extschema@.invalid_argument(text, text, text)',
        '@extschema@.check_choice(text, text, text[])',
        '@extschema@.caller_user_id()',
        '@extschema@.caller_organization_id()',
        '@extschema@.usage_add(jsonb, jsonb)',
        '@extschema@.create_session(text, text, text, text, uuid, text, text, text, text, text, text, text, text, text, text, text, text, text, text, text, boolean, text, text, jsonb, jsonb, jsonb, text[], jsonb, interval, interval, text)',
        '@extschema@.start_session(uuid, text, bigint, text)',
        '@extschema@.heartbeat(uuid, @extschema@.session_activity)',
        '@extschema@.complete_session(uuid, jsonb, text, text, jsonb, numeric, bigint, text)',
        '@extschema@.fail_session(uuid, jsonb, text, text, bigint, text)',
        '@extschema@.cancel_session(uuid, text, bigint)',
        '@extschema@.wait_for_session(uuid, integer, bigint)',
        '@extschema@.active_sessions(interval, text, uuid, text, text, timestamptz, uuid, integer)'
    ]::regprocedure[] LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, grant_api.role);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_api(name) IS
    'Grant a role what calling agent_sessions_api takes (for PostgREST: the role its tokens name). Row-level security decides which sessions the role sees. Run it again after ALTER EXTENSION agent_sessions UPDATE.';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agent_sessions_api FROM PUBLIC;
