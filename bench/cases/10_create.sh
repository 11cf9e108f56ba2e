#!/usr/bin/env bash
# create_session against the plain INSERT, with and without the history row.
. "$(dirname "$0")/../lib.sh"

title "1. create_session vs INSERT … RETURNING"
setup_twin

if quick; then clients_list=(2); else clients_list=(1 2); fi
# Each setting is measured twice: interleaved (mix_tps: 3 pgbench runs of
# 3 s in which every transaction is create_session or one of its twins,
# drawn at random, so that all three meet the same moments of the machine;
# the targets are read from these) and separately (ab_tps: the extension
# and the twin with history in rounds of their own).  One client's separate
# runs swing most (each call waits for the client and the server to wake
# each other, and where the scheduler puts the two varies from run to run),
# so they get more, shorter rounds.
rounds_for() { if quick; then echo 2; elif [ "$1" = 1 ]; then echo 9; else echo 5; fi; }
seconds_for() { if [ "$1" = 1 ]; then echo 1; else echo 2; fi; }
if quick; then mix_runs=2; else mix_runs=3; fi
mix_seconds=3
hold_autovacuum agent_sessions.sessions plain.sessions agent_sessions.session_scopes plain.session_scopes \
	agent_sessions.session_events plain.session_events

for sc in off on; do
	for c in "${clients_list[@]}"; do
		rounds=$(rounds_for "$c") seconds=$(seconds_for "$c")
		export PGOPTIONS="-c synchronous_commit=$sc"
		m="creates/s, $c client$([ "$c" = 1 ] || echo s), synchronous_commit $sc"
		mix_tps "$c" "$mix_seconds" "$mix_runs" \
			ext=create_ext.sql same=create_plain_events.sql bare=create_plain.sql
		result "$m" "${MIXTPS[ext]}" tx/s "${MIXTPS[same]}" "$(mix_ratio ext same)"
		target "$m" "≥ 0.9×"
		cmd "$m" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$mix_seconds" create_ext.sql@1 -f bench/sql/create_plain_events.sql@1 -f bench/sql/create_plain.sql@1 -l)"
		result "$m, vs the bare INSERT" "${MIXTPS[ext]}" tx/s "${MIXTPS[bare]}" "$(mix_ratio ext bare)"
		cmd "$m, vs the bare INSERT" "the same interleaved runs"
		note "$m, interleaved, each run's mean latency (µs): agent_sessions ${MIXLAT[ext]}; plain with history ${MIXLAT[same]}; bare INSERT ${MIXLAT[bare]}."
		ab_tps "$c" "$seconds" "$rounds" ext=create_ext.sql same=create_plain_events.sql
		result "$m, separate runs" "${TPS[ext]}" tx/s "${TPS[same]}" "$(pair_ratio ext same)"
		cmd "$m, separate runs" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$seconds" create_ext.sql), then create_plain_events.sql"
		note "$m, separate runs, each round (tx/s): agent_sessions ${RUNS[ext]}; plain with history ${RUNS[same]}."
	done
done
unset PGOPTIONS

n_ext=$(sql "SELECT count(*) FROM agent_sessions.sessions")
n_plain=$(sql "SELECT count(*) FROM plain.sessions")
note "The plain twin with history (bench/sql/create_plain_events.sql) does in one statement what create_session does: the INSERT, its session_events row and its pg_notify. The bare twin is the INSERT … RETURNING id alone. Both take the id default of the copied table, agent_sessions.uuid_v7(). The tables start empty and grow during the case (to $n_ext and $n_plain rows); autovacuum is off for all six during the case, and each series of rounds starts with a VACUUM of them."
note "create_session also validates its arguments, reads the caller's claims and returns the whole row."
