-- Types

CREATE TYPE @extschema@.session_status AS ENUM
    ('queued', 'starting', 'running', 'completed', 'failed', 'cancelled');
COMMENT ON TYPE @extschema@.session_status IS
    'Lifecycle of a session: queued -> starting -> running -> completed; failed or cancelled from any live status. completed, failed and cancelled are terminal.';

CREATE TYPE @extschema@.session_activity AS ENUM ('busy', 'idle');
COMMENT ON TYPE @extschema@.session_activity IS
    'Whether the agent is working on a turn (busy) or waiting for input (idle). Terminal sessions are always idle.';

