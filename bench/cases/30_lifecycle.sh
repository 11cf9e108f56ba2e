#!/usr/bin/env bash
# start_session + complete_session against the same guarded UPDATEs.
. "$(dirname "$0")/../lib.sh"

title "3. start → complete lifecycle vs the guarded UPDATEs"
setup_twin
sql "CREATE SEQUENCE bench.lifecycle_ext; CREATE SEQUENCE bench.lifecycle_plain"

# Each setting is measured twice: interleaved (mix_tps: 3 pgbench runs of
# 3 s in which every transaction is a lifecycle of the extension or of one
# of its twins, drawn at random, so that all three meet the same moments of
# the machine; the targets are read from these) and separately (ab_tps:
# the extension and the twin with history in rounds of their own).
if quick; then clients_list=(2); seconds=3; pool=200000; else clients_list=(1 2); seconds=2; pool=600000; fi
if quick; then rounds=2; mix_runs=2; else rounds=5; mix_runs=3; fi
mix_seconds=3

# One pool of fresh queued sessions, the same in both tables; each variant
# takes the next one from its table's sequence.
log "loading $pool queued sessions into both tables"
fill 1 "$pool" queued
sql "SELECT setval('bench.lifecycle_ext', 1, false), setval('bench.lifecycle_plain', 1, false)" >/dev/null
hold_autovacuum agent_sessions.sessions plain.sessions agent_sessions.session_events plain.session_events

for sc in off on; do
	for c in "${clients_list[@]}"; do
		export PGOPTIONS="-c synchronous_commit=$sc"
		mix_tps "$c" "$mix_seconds" "$mix_runs" \
			ext=lifecycle_ext.sql same=lifecycle_plain_events.sql bare=lifecycle_plain.sql
		ab_tps "$c" "$seconds" "$rounds" ext=lifecycle_ext.sql same=lifecycle_plain_events.sql
		unset PGOPTIONS
		used=$(sql "SELECT last_value FROM bench.lifecycle_plain")
		done_ext=$(sql "SELECT count(*) FROM agent_sessions.sessions WHERE status = 'completed'")
		done_plain=$(sql "SELECT count(*) FROM plain.sessions WHERE status = 'completed'")
		if [ "$used" -gt "$pool" ] || [ "$done_plain" != "$used" ] ||
			[ "$done_ext" != "$(sql "SELECT last_value FROM bench.lifecycle_ext")" ]; then
			echo "the pool of $pool sessions ran out or a lifecycle did not complete" \
				"(plain: $used taken, $done_plain completed; agent_sessions: $done_ext completed)" >&2
			exit 1
		fi
		m="lifecycles/s, $c client$([ "$c" = 1 ] || echo s), synchronous_commit $sc"
		result "$m" "${MIXTPS[ext]}" tx/s "${MIXTPS[same]}" "$(mix_ratio ext same)"
		target "$m" "≥ 0.8×"
		cmd "$m" "PGOPTIONS='-c synchronous_commit=$sc' $(pgbench_cmd "$c" "$mix_seconds" lifecycle_ext.sql@1 -f bench/sql/lifecycle_plain_events.sql@1 -f bench/sql/lifecycle_plain.sql@1 -l)"
		result "$m, vs the bare UPDATEs" "${MIXTPS[ext]}" tx/s "${MIXTPS[bare]}" "$(mix_ratio ext bare)"
		cmd "$m, vs the bare UPDATEs" "the same interleaved runs"
		note "$m, interleaved, each run's mean latency (µs): agent_sessions ${MIXLAT[ext]}; plain with history ${MIXLAT[same]}; bare UPDATEs ${MIXLAT[bare]}."
		result "$m, separate runs" "${TPS[ext]}" tx/s "${TPS[same]}" "$(pair_ratio ext same)"
		cmd "$m, separate runs" "PGOPTIONS='-c synchronous_commit=$sc' $(pgbench_cmd "$c" "$seconds" lifecycle_ext.sql), then lifecycle_plain_events.sql"
		note "$m, separate runs, each round (lifecycles/s): agent_sessions ${RUNS[ext]}; plain with history ${RUNS[same]}."
	done
done

note "One lifecycle is two transactions on a fresh queued session: start_session(id) then complete_session(id). The plain twins run UPDATE … SET status = 'running' … WHERE id = \$1 AND status IN ('queued', 'starting') and UPDATE … SET status = 'completed' … WHERE id = \$1 AND status = 'running'; the twin with history (bench/sql/lifecycle_plain_events.sql) also appends a session_events row and sends a pg_notify per UPDATE. Every lifecycle is checked to have ended completed. Autovacuum is off for both variants' sessions and session_events tables during the case, and each series of rounds starts with a VACUUM of them."
note "start_session from queued records both steps, queued → starting and starting → running (one UPDATE of the row, two events and two notifications), so agent_sessions writes three events per lifecycle where the plain twin writes two."
