-- agent_sessions 0.3.0
--
-- This script is assembled from the fragments in sql/install/, one per
-- concern.  Every name is qualified; every function that runs SQL or
-- looks up a name pins its search_path, except the C functions on the hot
-- path whose statements name every table, type and operator in full (the
-- list, with reasons, is in test/integration/security.sh); and nothing
-- uses OR REPLACE or IF NOT EXISTS.

\echo Use "CREATE EXTENSION agent_sessions" to load this file. \quit

