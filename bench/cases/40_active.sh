#!/usr/bin/env bash
# active_sessions latency (p50, p99) at growing table sizes, against the
# plain query over the twin.
. "$(dirname "$0")/../lib.sh"

title "4. active_sessions latency against table size"
echo "TITLE|plot:active_sessions|active_sessions(project_id => …): latency per call, 1 client"

if [ "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'active_sessions'
              AND pronamespace = 'agent_sessions'::regnamespace")" = 0 ]; then
	note "Skipped: this build has no agent_sessions.active_sessions()."
	exit 0
fi
setup_twin
if ! err=$(sql "SELECT count(*) FROM agent_sessions.active_sessions(within => '5 minutes', project_id => bench.project_id(1))" 2>&1); then
	note "Skipped: agent_sessions.active_sessions(project_id => …) failed: ${err//$'\n'/ }"
	exit 0
fi

if quick; then
	sizes=${BENCH_ACTIVE_SIZES:-100000 1000000}
else
	sizes=${BENCH_ACTIVE_SIZES:-100000 1000000 10000000}
fi
rounds=2
# seconds per run: 3, and 5 at 10M sessions, where the one-index plain
# query manages only 10 to 20 calls a second
secs() { if [ "$1" -ge 10000000 ]; then echo 5; else echo 3; fi; }
variants=(ext=active_ext.sql plain=active_plain.sql naive=active_plain_naive.sql)

# Every row is stamped relative to anchor, the time the case starts, and
# each call asks for the 5 minutes before anchor (within = 5 minutes + the
# time since anchor), so every size sees the same window however long the
# loads take.
anchor=$(sql "SELECT now()")
within() { sql "SELECT round(extract(epoch FROM now() - '$anchor'::timestamptz) + 300, 3)"; }
# script FILE: bench/sql/FILE with :within written in as a constant, as an
# application would write its window (a parameter would make the plain
# query's plan a custom one, planned again on every call)
script() {
	sed "s/:within/$(within)/g" "$sql_dir/$1" >"$out/$1"
	echo "$out/$1"
}

prev=0
for n in $sizes; do
	h=$(human "$n")
	log "growing both tables to $n sessions"
	t0=$(date +%s)
	fill $((prev + 1)) "$n" mixed "$anchor"
	log "loaded in $(($(date +%s) - t0)) s"
	prev=$n
	seconds=$(secs "$n")

	# warm up, then A, B, C, A, B, C
	for spec in "${variants[@]}"; do
		pgbench_tps "warm-$h-${spec%%=*}" 1 1 "$(script "${spec#*=}")" >/dev/null
	done
	for r in $(seq 1 "$rounds"); do
		for spec in "${variants[@]}"; do
			v=${spec%%=*}
			tps=$(pgbench_tps "lat-$h-$v-$r" 1 "$seconds" "$(script "${spec#*=}")" \
				-l --log-prefix="$out/lat-$h-$v-r$r")
			log "$v at $h: $tps calls/s"
		done
	done
	read -r e50 e99 en <<<"$(percentiles "$out/lat-$h-ext-r")"
	read -r p50 p99 pn <<<"$(percentiles "$out/lat-$h-plain-r")"
	read -r _ n99 nn <<<"$(percentiles "$out/lat-$h-naive-r")"
	w=$(within)
	rows=$(sql "SELECT round(avg((SELECT count(*) FROM agent_sessions.active_sessions(
	                                  within => make_interval(secs => $w), project_id => bench.project_id(p)))), 1)
	              FROM generate_series(1, 1000, 7) AS p")
	rows_plain=$(sql "SELECT round(avg((SELECT count(*) FROM plain.sessions
	                                     WHERE project_id = bench.project_id(p)
	                                       AND last_activity_at >= now() - make_interval(secs => $w)
	                                       AND (status IN ('queued', 'starting', 'running')
	                                            OR finished_at >= now() - make_interval(secs => $w)))), 1)
	                    FROM generate_series(1, 1000, 7) AS p")

	result "p50 at $h sessions" "$e50" ms "$p50" "$(ratio "$e50" "$p50")"
	result "p99 at $h sessions" "$e99" ms "$p99" "$(ratio "$e99" "$p99")"
	[ "$n" = 1000000 ] && target "p99 at $h sessions" "≤ 2 ms"
	result "p99 at $h sessions, vs the one-index plain query" "$e99" ms "$n99" "$(ratio "$e99" "$n99")"
	result "rows per call at $h sessions" "$rows" rows "$rows_plain" -
	cmd "p50 at $h sessions" "$(pgbench_cmd 1 "$seconds" active_ext.sql -l), then active_plain.sql (each with :within written in)"
	cmd "p99 at $h sessions, vs the one-index plain query" "$(pgbench_cmd 1 "$seconds" active_ext.sql -l), then active_plain_naive.sql (each with :within written in)"
	note "At $h sessions: $en, $pn and $nn calls measured (agent_sessions, plain, one-index plain)."
	plot active_sessions "agent_sessions p50" "$n" "$e50"
	plot active_sessions "agent_sessions p99" "$n" "$e99"
	plot active_sessions "plain SQL p50" "$n" "$p50"
	plot active_sessions "plain SQL p99" "$n" "$p99"

	sql "EXPLAIN (COSTS OFF) $(sed -e '/^\\set/d' -e '/^--/d' -e 's/:p/1/g' -e "s/:within/$w/g" "$sql_dir/active_plain.sql")" \
		>"$out/plan-plain-$h.txt"
done

note "Data (bench.fill in bench/sql/setup.sql): 1,000 projects; 1% of the sessions live (running, last activity spread over the 10 minutes before the case started, so about half are inside the window); the others finished about 250 ms apart going back in time (100k sessions reach 7 hours back, 10M sessions 29 days), so about 1,200 finished inside the 5-minute window at every size. Every time is relative to the moment the case started, and each call asks for the 5 minutes before that moment (within = 5 minutes + the time since), so the window holds the same sessions however long the loads take. Each call asks for one random project's sessions (page_size 100); the live sessions in the window grow with the table (1% of it), hence the rows per call. Tables grow in place between sizes: the rows are generated once and copied into both tables in the same order, the secondary indexes that the new rows fill are rebuilt after a large load, then VACUUM (ANALYZE) (fill in bench/lib.sh)."
note "The plain twin (bench/sql/active_plain.sql) is the same query written by hand over the same indexes: live sessions by project from the live partial index, UNION ALL sessions finished inside the window from the finished_at range of sessions_finished_window_idx (with the same upper bound for the planner). The one-index plain query (bench/sql/active_plain_naive.sql) filters project_id and last_activity_at directly, as one would without those indexes. One client, pgbench -l per-transaction logs; after a 1-second warm-up of each, $rounds rounds of 3 s per query (5 s at 10M sessions); p50 and p99 over all rounds."
