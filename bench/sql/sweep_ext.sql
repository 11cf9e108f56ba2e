-- sweep(): fail the live sessions past their timeouts, in batches
SELECT * FROM agent_sessions.sweep();
