-- Ids: UUIDv7 and the "session_<32 hex>" text form
--
-- These three are plain C over their arguments: they run no SQL and look
-- up no name, so they carry no SET search_path (which would cost every
-- call a GUC save and restore, and keep the planner from treating the
-- IMMUTABLE ones as such in views).

CREATE FUNCTION @extschema@.uuid_v7()
RETURNS uuid
LANGUAGE c VOLATILE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'uuid_v7';
COMMENT ON FUNCTION @extschema@.uuid_v7() IS
    'A time-ordered UUID (RFC 9562 version 7), strictly increasing within a backend.';

CREATE FUNCTION @extschema@.format_session_id(id uuid)
RETURNS text
LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'format_session_id';
COMMENT ON FUNCTION @extschema@.format_session_id(uuid) IS
    'The prefixed form of a session id: ''session_'' followed by 32 lowercase hexadecimal digits.';

CREATE FUNCTION @extschema@.parse_session_id(id text)
RETURNS uuid
LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', 'parse_session_id';
COMMENT ON FUNCTION @extschema@.parse_session_id(text) IS
    'The uuid of a session id written as a UUID or as ''session_'' followed by 32 hexadecimal digits; raises 22P02 otherwise.';

