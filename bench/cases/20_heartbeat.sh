#!/usr/bin/env bash
# heartbeat against the plain UPDATE of last_activity_at, with HOT counts.
. "$(dirname "$0")/../lib.sh"

title "2. heartbeat vs UPDATE … SET last_activity_at"
setup_twin

pool=10000
log "loading $pool live sessions and 100,000 others into both tables"
fill 1 "$pool" live
fill 1000001 1100000 mixed
hold_autovacuum agent_sessions.sessions plain.sessions agent_sessions.session_events plain.session_events

if quick; then clients_list=(2); else clients_list=(1 2); fi
# Each setting is measured twice.  Interleaved: 3 pgbench runs of 3 s in
# which every transaction is the extension's heartbeat or one of its twins,
# drawn at random (mix_tps), so that all three meet the same moments of the
# machine; the targets are read from these.  Separately: the extension and
# the guarded twin in rounds of their own (ab_tps), for each one's
# throughput and HOT updates.  One client's separate runs swing most (each
# call waits for the client and the server to wake each other, and where
# the scheduler puts the two varies from run to run), so they get more,
# shorter rounds.
rounds_for() { if quick; then echo 2; elif [ "$1" = 1 ]; then echo 9; else echo 5; fi; }
seconds_for() { if [ "$1" = 1 ]; then echo 1; else echo 2; fi; }
if quick; then mix_runs=2; else mix_runs=3; fi
mix_seconds=3
HOT_TABLE=([ext]=agent_sessions.sessions [same]=plain.sessions)
pgbench_opts=(-D "pool=$pool")

all_upd=(0 0)
all_hot=(0 0)
all_av=(0 0)
for sc in off on; do
	for c in "${clients_list[@]}"; do
		rounds=$(rounds_for "$c") seconds=$(seconds_for "$c")
		export PGOPTIONS="-c synchronous_commit=$sc -c agent_sessions.heartbeat_granularity=0"
		m="heartbeats/s, $c client$([ "$c" = 1 ] || echo s), synchronous_commit $sc"
		mix_tps "$c" "$mix_seconds" "$mix_runs" \
			ext=heartbeat_ext.sql same=heartbeat_plain_guarded.sql bare=heartbeat_plain.sql
		result "$m" "${MIXTPS[ext]}" tx/s "${MIXTPS[same]}" "$(mix_ratio ext same)"
		target "$m" "≥ 0.9×"
		cmd "$m" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$mix_seconds" heartbeat_ext.sql@1 -f bench/sql/heartbeat_plain_guarded.sql@1 -f bench/sql/heartbeat_plain.sql@1 -D pool=$pool -l)"
		result "$m, vs the bare UPDATE" "${MIXTPS[ext]}" tx/s "${MIXTPS[bare]}" "$(mix_ratio ext bare)"
		cmd "$m, vs the bare UPDATE" "the same interleaved runs"
		note "$m, interleaved, each run's mean latency (µs): agent_sessions ${MIXLAT[ext]}; plain guarded ${MIXLAT[same]}; bare UPDATE ${MIXLAT[bare]}."
		ab_tps "$c" "$seconds" "$rounds" ext=heartbeat_ext.sql same=heartbeat_plain_guarded.sql
		result "$m, separate runs" "${TPS[ext]}" tx/s "${TPS[same]}" "$(pair_ratio ext same)"
		cmd "$m, separate runs" "PGOPTIONS='$PGOPTIONS' $(pgbench_cmd "$c" "$seconds" heartbeat_ext.sql -D pool=$pool), then heartbeat_plain_guarded.sql"
		note "$m, separate runs, each round (tx/s): agent_sessions ${RUNS[ext]}; plain guarded ${RUNS[same]}."
		i=0
		for v in ext same; do
			all_upd[$i]=$((all_upd[i] + UPD[$v]))
			all_hot[$i]=$((all_hot[i] + HOT[$v]))
			all_av[$i]=$((all_av[i] + AUTOVAC[$v]))
			i=$((i + 1))
		done
	done
done
UPD=([ext]=${all_upd[0]} [same]=${all_upd[1]})
HOT=([ext]=${all_hot[0]} [same]=${all_hot[1]})
result "HOT updates, separate runs" "$(hot_pct ext)" "% of updates" "$(hot_pct same)" -
target "HOT updates, separate runs" "≥ 99%"
note "HOT: agent_sessions ${HOT[ext]} of ${UPD[ext]} updates; plain guarded ${HOT[same]} of ${UPD[same]} (pg_stat_user_tables n_tup_hot_upd / n_tup_upd, deltas over the separate runs). An update is HOT only when its page has room for the new version; the room earlier heartbeats took comes back when the page is pruned, which waits for the dead versions to be older than every snapshot and needs nobody else to hold the page at that moment, so a busy or oversubscribed run can lose some (bench/out/20_heartbeat.log has each run's count). Autovacuum is off for both tables during the case and each series of rounds starts with a VACUUM of both (an autovacuum or autoanalyze overlapped ${all_av[0]} and ${all_av[1]} of these runs respectively): an ANALYZE holds a snapshot while it reads the table, so heartbeats that land on full pages meanwhile are not HOT (see heartbeat in the README)."

# Coalescing: at the default granularity (1 s) a hot session's heartbeats
# are mostly not written.  1,000 sessions at thousands of heartbeats a
# second: most calls take the coalesced path.
hot_pool=1000
rounds=$(rounds_for 2) seconds=$(seconds_for 2)
export PGOPTIONS="-c synchronous_commit=off"
pgbench_opts=(-D "pool=$hot_pool")
ab_tps 2 "$seconds" "$rounds" ext=heartbeat_ext.sql bare=heartbeat_plain.sql
unset PGOPTIONS
m="heartbeats/s, coalesced (granularity 1 s, $hot_pool sessions), 2 clients, synchronous_commit off"
result "$m" "${TPS[ext]}" tx/s "${TPS[bare]}" "$(pair_ratio ext bare)"
cmd "$m" "PGOPTIONS='-c synchronous_commit=off' $(pgbench_cmd 2 "$seconds" heartbeat_ext.sql -D pool=$hot_pool), then heartbeat_plain.sql"
written=$(awk -v u="${UPD[ext]}" -v t="${TPS[ext]}" -v s="$seconds" -v r="$rounds" \
	'BEGIN { printf "%.1f\n", 100 * u / (t * s * r) }')
result "heartbeats written when coalescing" "$written" "% of calls" - -
note "Coalesced run, each round (tx/s): agent_sessions ${RUNS[ext]}; bare UPDATE (writes every call) ${RUNS[bare]}. agent_sessions wrote ${UPD[ext]} heartbeats in about $(awk -v t="${TPS[ext]}" -v s="$seconds" -v r="$rounds" 'BEGIN { printf "%.0f", t * s * r }') calls."
note "Throughput runs set agent_sessions.heartbeat_granularity = 0, so every heartbeat writes, and pick a random session of $pool live ones (among 100,000 other sessions) per call. The guarded twin (bench/sql/heartbeat_plain_guarded.sql) does what heartbeat does: it touches live sessions only and returns the row a worker needs; the bare twin is UPDATE … SET last_activity_at = now() WHERE id = \$1."
