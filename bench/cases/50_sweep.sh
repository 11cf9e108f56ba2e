#!/usr/bin/env bash
# sweep() of stale sessions: wall time, and heartbeat latency meanwhile,
# against the plain UPDATE.
. "$(dirname "$0")/../lib.sh"

title "5. sweep of stale sessions, with heartbeats running"

if [ "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'sweep'
              AND pronamespace = 'agent_sessions'::regnamespace")" = 0 ]; then
	note "Skipped: this build has no agent_sessions.sweep()."
	exit 0
fi
setup_twin

if quick; then total=100000; stale=10000; rounds=1; else total=1000000; stale=100000; rounds=2; fi
pool=10000
timeout="30 minutes"
hs=$(human "$stale")
ht=$(human "$total")

log "loading $ht sessions ($hs stale, $pool live and heartbeating) into both tables"
t0=$(date +%s)
fill 1 "$pool" live
fill 1000001 $((1000000 + total - stale - pool)) mixed
fill 20000001 $((20000000 + stale)) stale
log "loaded in $(($(date +%s) - t0)) s"

# The stale rows again as they were loaded (the guard trigger is off for
# this: session_replication_role = replica).
reset() {
	"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 <<-SQL
		SET session_replication_role = replica;
		UPDATE $1 SET status = 'running', activity = 'busy', version = 3,
		       end_reason = NULL, error = NULL, finished_at = NULL,
		       last_activity_at = now() - interval '1 hour'
		                          - (hashtext(id::text) & 1048575) * interval '1 millisecond',
		       updated_at = now() - interval '1 hour'
		 WHERE source = 'stale' AND status <> 'running';
		RESET session_replication_role;
		VACUUM (ANALYZE) $1;
		CHECKPOINT;
	SQL
}
sql "TRUNCATE agent_sessions.session_events, plain.session_events"
sql "VACUUM (ANALYZE) agent_sessions.session_events, plain.session_events"

declare -A WALL BEFORE DURING SWEPT
for v in ext plain same; do WALL[$v]=""; BEFORE[$v]=""; DURING[$v]=""; done
export PGOPTIONS="-c agent_sessions.inactivity_timeout=30min -c agent_sessions.heartbeat_granularity=0"
# Every round runs agent_sessions and the twin with history; the bare
# UPDATE, a reference only, runs in the first round.
for r in $(seq 1 "$rounds"); do
	variants="ext plain same"
	[ "$r" = 1 ] || variants="ext same"
	for v in $variants; do
		case $v in
		ext) tbl=agent_sessions.sessions; hb=heartbeat_ext.sql; sweep=sweep_ext.sql ;;
		plain) tbl=plain.sessions; hb=heartbeat_plain_guarded.sql; sweep=sweep_plain.sql ;;
		same) tbl=plain.sessions; hb=heartbeat_plain_guarded.sql; sweep=sweep_plain_events.sql ;;
		esac
		reset "$tbl"
		[ "$(sql "SELECT count(*) FROM $tbl WHERE source = 'stale' AND status = 'running'")" = "$stale" ] ||
			{ echo "reset left the stale sessions of $tbl incomplete" >&2; exit 1; }

		PGAPPNAME=bench_heartbeats "$pg_bindir/pgbench" -n -M prepared -c 1 -j 1 -T 600 \
			-f "$sql_dir/$hb" -D pool=$pool -l --log-prefix="$out/hb-$v-r$r" \
			>"$out/hb-$v-r$r.pgbench" 2>&1 &
		hb_pid=$!
		sleep 3
		times=$("$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -v timeout="$timeout" <<-SQL
			SELECT extract(epoch FROM clock_timestamp());
			\\o /dev/null
			\\i $sql_dir/$sweep
			\\o
			SELECT extract(epoch FROM clock_timestamp());
		SQL
		)
		sleep 1
		sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		      WHERE application_name = 'bench_heartbeats'" >/dev/null
		wait "$hb_pid" || true
		t0=$(echo "$times" | head -1)
		t1=$(echo "$times" | tail -1)

		swept=$(sql "SELECT count(*) FROM $tbl WHERE status = 'failed' AND end_reason = 'inactivity_timeout'")
		wrong=$(sql "SELECT count(*) FROM $tbl WHERE source <> 'stale' AND status = 'failed'
		                                          AND end_reason = 'inactivity_timeout'")
		if [ "$swept" != "$stale" ] || [ "$wrong" != 0 ]; then
			echo "$v swept $swept sessions ($wrong of them not stale); expected the $stale stale ones" >&2
			exit 1
		fi
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
		read -r _ b99 bn <<<"$(percentiles "$out/hb-$v-r$r." 0 "$t0")"
		read -r _ d99 dn <<<"$(percentiles "$out/hb-$v-r$r." "$t0" "$t1")"
		log "$v round $r: swept $swept in $wall s; heartbeat p99 $b99 ms before ($bn calls), $d99 ms during ($dn calls)"
		WALL[$v]+=" $wall"
		BEFORE[$v]+=" $b99"
		DURING[$v]+=" $d99"
		SWEPT[$v]=$swept
	done
done
unset PGOPTIONS

for v in ext plain same; do
	# shellcheck disable=SC2086
	WALL[$v]=$(printf '%s\n' ${WALL[$v]} | awk '{ s += $1 } END { printf "%.2f\n", s / NR }')
	# shellcheck disable=SC2086
	DURING[$v]=$(printf '%s\n' ${DURING[$v]} | awk '$1 != "-" { s += $1; n++ } END { if (n) printf "%.2f\n", s / n; else print "-" }')
	# shellcheck disable=SC2086
	BEFORE[$v]=$(printf '%s\n' ${BEFORE[$v]} | awk '$1 != "-" { s += $1; n++ } END { if (n) printf "%.2f\n", s / n; else print "-" }')
done

m="sweep of $hs stale among $ht sessions"
result "$m, wall time" "${WALL[ext]}" s "${WALL[same]}" "$(ratio "${WALL[ext]}" "${WALL[same]}")"
[ "$stale" = 100000 ] && target "$m, wall time" "≤ 5 s"
cmd "$m, wall time" "psql -c 'SELECT * FROM agent_sessions.sweep()' (bench/sql/sweep_ext.sql), then psql -v timeout='$timeout' -f bench/sql/sweep_plain_events.sql"
result "$m, wall time, vs the bare UPDATE" "${WALL[ext]}" s "${WALL[plain]}" "$(ratio "${WALL[ext]}" "${WALL[plain]}")"
cmd "$m, wall time, vs the bare UPDATE" "psql -f bench/sql/sweep_ext.sql, then psql -v timeout='$timeout' -f bench/sql/sweep_plain.sql"
result "heartbeat p99 during the sweep" "${DURING[ext]}" ms "${DURING[same]}" "$(ratio "${DURING[ext]}" "${DURING[same]}")"
target "heartbeat p99 during the sweep" "≤ 10 ms"
cmd "heartbeat p99 during the sweep" "PGOPTIONS='-c agent_sessions.heartbeat_granularity=0' pgbench -n -M prepared -c 1 -T 600 -f bench/sql/heartbeat_ext.sql -D pool=$pool -l (stopped 1 s after the sweep), then heartbeat_plain_guarded.sql"
result "heartbeat p99 during the bare UPDATE" "${DURING[ext]}" ms "${DURING[plain]}" "$(ratio "${DURING[ext]}" "${DURING[plain]}")"
result "heartbeat p99 before the sweep (3 s)" "${BEFORE[ext]}" ms "${BEFORE[same]}" "$(ratio "${BEFORE[ext]}" "${BEFORE[same]}")"

note "Data: $ht sessions in each table: $hs running sessions whose last activity is 1 to 2 hours old (stale), $pool running sessions a client heartbeats, and the rest as in case 4 (1% live within the past 10 minutes, the others finished). Sweeps run with agent_sessions.inactivity_timeout = '$timeout' (the twin uses the same interval), so exactly the $hs stale sessions are swept; every run is checked for that. Before each run the stale sessions are set back (with the guard trigger off) and the table vacuumed."
note "The plain twin with history (bench/sql/sweep_plain_events.sql) fails the same sessions in one UPDATE and appends a session_events row and a pg_notify per session; the bare twin (bench/sql/sweep_plain.sql) is that UPDATE alone. agent_sessions.sweep() is called with its defaults. Wall time is from the client, around the statement."
note "Meanwhile one pgbench client heartbeats random sessions of the $pool live ones (every heartbeat writes; synchronous_commit on), from 3 s before the sweep until 1 s after; p99 is over the heartbeats that ended while the sweep ran. Rounds: $rounds of agent_sessions and of the twin with history, the figures are their means; the bare UPDATE runs in the first round only."
