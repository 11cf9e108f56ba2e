-- agent_sessions 0.1.0
--
-- This script is assembled from the fragments in sql/0.1.0/, one per
-- concern.  Every name is qualified, every function pins its search_path,
-- and nothing uses OR REPLACE or IF NOT EXISTS.

\echo Use "CREATE EXTENSION agent_sessions" to load this file. \quit

