#!/usr/bin/env bash
# create_session against the plain INSERT, with and without the history row.
. "$(dirname "$0")/../lib.sh"

title "1. create_session vs INSERT … RETURNING"
setup_twin

if quick; then clients_list=(2); else clients_list=(1 2); fi
# One client's runs swing most (each call waits for the client and the
# server to wake each other, and where the scheduler puts the two varies
# from run to run), so they get more, shorter rounds.
rounds_for() { if quick; then echo 2; elif [ "$1" = 1 ]; then echo 15; else echo 5; fi; }
seconds_for() { if [ "$1" = 1 ]; then echo 1; else echo 2; fi; }
hold_autovacuum agent_sessions.sessions plain.sessions agent_sessions.session_scopes plain.session_scopes \
	agent_sessions.session_events plain.session_events

for sc in off on; do
	for c in "${clients_list[@]}"; do
		rounds=$(rounds_for "$c") seconds=$(seconds_for "$c")
		export PGOPTIONS="-c synchronous_commit=$sc"
		ab_tps "$c" "$seconds" "$rounds" \
			ext=create_ext.sql same=create_plain_events.sql bare=create_plain.sql
		m="creates/s, $c client$([ "$c" = 1 ] || echo s), synchronous_commit $sc"
		result "$m" "${TPS[ext]}" tx/s "${TPS[same]}" "$(pair_ratio ext same)"
		target "$m" "≥ 0.9×"
		cmd "$m" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$seconds" create_ext.sql), then create_plain_events.sql"
		result "$m, vs the bare INSERT" "${TPS[ext]}" tx/s "${TPS[bare]}" "$(pair_ratio ext bare)"
		cmd "$m, vs the bare INSERT" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$seconds" create_ext.sql), then create_plain.sql"
		note "$m, each round (tx/s): agent_sessions ${RUNS[ext]}; plain with history ${RUNS[same]}; bare INSERT ${RUNS[bare]}."
	done
done
unset PGOPTIONS

n_ext=$(sql "SELECT count(*) FROM agent_sessions.sessions")
n_plain=$(sql "SELECT count(*) FROM plain.sessions")
note "The plain twin with history (bench/sql/create_plain_events.sql) does in one statement what create_session does: the INSERT, its session_events row and its pg_notify. The bare twin is the INSERT … RETURNING id alone. Both take the id default of the copied table, agent_sessions.uuid_v7(). The tables start empty and grow during the case (to $n_ext and $n_plain rows); autovacuum is off for all six during the case, and each series of rounds starts with a VACUUM of them."
note "create_session also validates its arguments, reads the caller's claims and returns the whole row."
