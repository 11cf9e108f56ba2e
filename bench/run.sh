#!/usr/bin/env bash
# make bench [QUICK=1] [CASES="10_create 40_active"]
#
# Starts a throwaway PostgreSQL 15 (scripts/cluster.sh, settings below), runs
# every bench/cases/*.sh in name order, and writes BENCHMARKS.md (plus
# bench/*.png plots) from what the cases print.  With CASES, only those cases
# run and the report goes to bench/out/BENCHMARKS.md instead.
#
# The case interface
# ------------------
# A case is an executable bash script bench/cases/NN_name.sh.  Each runs in
# a fresh database that already has CREATE EXTENSION agent_sessions (dropped
# afterwards), with these variables set:
#   PGHOST PGPORT PGUSER PGDATABASE   libpq: the cluster, superuser postgres
#   BENCH_QUICK    1 under make bench QUICK=1 (run a reduced set), else empty
#   BENCH_CASE     the case's name (NN_name)
#   BENCH_OUT      a scratch directory of its own (bench/out/NN_name)
#   BENCH_CLUSTER  the cluster directory (for scripts/cluster.sh, server.log)
# It may source bench/lib.sh (helpers: the plain-SQL twin, pgbench runs,
# percentiles, bulk loading).  It prints its figures on stdout, one per line:
#   RESULT|<case>|<metric>|<value>|<unit>|<plain-SQL twin value or ->|<ratio or ->
# and optionally:
#   TITLE|<case>|<section title>                  (TITLE|plot:<plot>|<title> titles a plot)
#   NOTE|<case>|<a sentence for the report>        (also used to say why it skipped)
#   TARGET|<case>|<metric>|<the target, as text>
#   CMD|<case>|<metric>|<the command that measures that row>
#   PLOT|<plot>|<series>|<x>|<y>                   (bench/<plot>.png, x on a log scale)
# Anything else it prints is progress, shown but not reported.  A case that
# exits non-zero is reported as failed; the others still run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
cd "$top"

quick=${BENCH_QUICK:-}
[ "$quick" = 0 ] && quick=
only=${BENCH_CASES:-}
report_only=${BENCH_REPORT_ONLY:-}
pg_bindir=$(pg_config --bindir)

# Settings of the benchmark cluster (appended to postgresql.conf).
settings=(
	"shared_buffers = 4GB"                 # the 10M-row tables' hot part, both copies
	"max_wal_size = 16GB"                  # bulk loads without forced checkpoints
	"checkpoint_timeout = 30min"           # each run starts after an explicit CHECKPOINT
	"maintenance_work_mem = 1GB"           # VACUUM after bulk loads (their index rebuilds set 64MB, bench/lib.sh)
	"max_connections = 200"
	"log_min_messages = warning"
)

if ! command -v gnuplot >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing gnuplot-nox (for the plots)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			gnuplot-nox >/dev/null 2>&1 ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends gnuplot-nox >/dev/null; } ||
			echo "could not install gnuplot-nox; the plots will be skipped" >&2
	else
		echo "gnuplot is missing (sudo apt-get install gnuplot-nox); the plots will be skipped" >&2
	fi
fi

outdir="$here/out"
results="$outdir/results.txt"
loads="$outdir/load.txt"

if [ -n "$report_only" ]; then
	# BENCH_REPORT_ONLY=1 bench/run.sh: write the report again from the
	# figures of the last run (bench/out), without running anything.
	[ -f "$results" ] || { echo "no results in $results: run make bench first" >&2; exit 1; }
	quick=$(grep '^RUN|quick|' "$results" | cut -d'|' -f3-)
	only=$(grep '^RUN|only|' "$results" | cut -d'|' -f3-)
	started=$(grep '^RUN|started|' "$results" | cut -d'|' -f3)
	finished=$(grep '^RUN|finished|' "$results" | cut -d'|' -f3)
else

rm -rf "$outdir"
mkdir -p "$outdir"
dir=$(mktemp -d /tmp/agent_sessions-bench.XXXXXX)
cleanup() {
	"$top/scripts/cluster.sh" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting a throwaway PostgreSQL 15 in $dir"
"$top/scripts/cluster.sh" start "$dir" "${settings[@]}"
export PGHOST="$dir" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
export BENCH_QUICK="$quick" BENCH_CLUSTER="$dir"

started=$(date +%s)
printf 'RUN|quick|%s\nRUN|only|%s\nRUN|started|%s\n' "$quick" "$only" "$started" >"$results"
: >"$loads"
load_sample() { echo "$1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$loads"; }
load_sample start
# CPU time the case did not get: /proc/stat's steal (taken by the
# hypervisor for other guests) and the kernel's own threads (children of
# kthreadd, such as a memory monitor), in clock ticks, sampled around it.
# Kernel threads come and go, so theirs is summed per thread over the
# threads alive at the end, from what each had at the start (or 0).
kthread_ticks() {
	awk '{ pid = $1; sub(/^.*\) /, "") } $2 == 2 { print pid, $12 + $13 }' \
		/proc/[0-9]*/stat 2>/dev/null
}
cpu_sample() {
	kthread_ticks >"$outdir/kthreads.$1"
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat
}
kthread_delta() {
	awk 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > 0) s += d } END { print s + 0 }' \
		"$outdir/kthreads.start" "$outdir/kthreads.end"
}

for f in "$here"/cases/*.sh; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .sh)
	if [ -n "$only" ] && ! [[ " ${only//,/ } " == *" $name "* ]]; then
		continue
	fi
	db="bench_$(echo "$name" | tr -c 'a-zA-Z0-9_\n' '_')"
	echo "== $name"
	"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" \
		-c "CREATE EXTENSION agent_sessions" >/dev/null
	mkdir -p "$outdir/$name"
	t0=$(date +%s)
	read -r cpu0 steal0 <<<"$(cpu_sample start)"
	set +e
	PGDATABASE="$db" BENCH_CASE="$name" BENCH_OUT="$outdir/$name" \
		bash "$f" 2>&1 | tee "$outdir/$name.log" |
		grep -v -E '^(RESULT|NOTE|CMD|TARGET|TITLE|PLOT)\|'
	rc=${PIPESTATUS[0]}
	set -e
	t1=$(date +%s)
	read -r cpu1 steal1 <<<"$(cpu_sample end)"
	echo "CPU|$name|$((cpu1 - cpu0))|$((steal1 - steal0))|$(kthread_delta)" >>"$results"
	grep -E '^(RESULT|NOTE|CMD|TARGET|TITLE|PLOT)\|' "$outdir/$name.log" >>"$results" || true
	grep -E '^RESULT\|' "$outdir/$name.log" | cut -d'|' -f2- | tr '|' '\t' || true
	if [ "$rc" -ne 0 ]; then
		echo "NOTE|$name|This case failed (exit status $rc); its log is bench/out/$name.log." >>"$results"
		echo "   $name FAILED (exit $rc); see bench/out/$name.log"
	fi
	echo "ELAPSED|$name|$((t1 - t0))" >>"$results"
	{ echo "$name"; grep -E '^(RESULT|NOTE|TITLE)\|' "$outdir/$name.log" | cut -d'|' -f2; } |
		grep -v '^plot:' | sort -u | sed "s/^/CASEFILE|/; s/\$/|$name/" >>"$results"
	load_sample "$name"
	"$pg_bindir/psql" -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" >/dev/null
done
finished=$(date +%s)
echo "RUN|finished|$finished" >>"$results"

fi

# ---- the report -------------------------------------------------------------
# (grep finding nothing is normal below)
set +e +o pipefail

if [ -n "$only" ]; then
	report="$outdir/BENCHMARKS.md"
	plotdir="$outdir"
else
	report="$top/BENCHMARKS.md"
	plotdir="$here"
fi

# Plots: one PNG per plot name, one line per series.
plots=()
for p in $(grep '^PLOT|' "$results" | cut -d'|' -f2 | sort -u); do
	if ! command -v gnuplot >/dev/null 2>&1; then
		echo "NOTE|plots|The plot $p.png was skipped: gnuplot is not installed (apt-get install gnuplot-nox)." >>"$results"
		continue
	fi
	datafile="$outdir/$p.dat"
	: >"$datafile"
	series=()
	while IFS= read -r s; do
		series+=("$s")
		grep "^PLOT|$p|$s|" "$results" | awk -F'|' '{ print $4, $5 }' | sort -g >>"$datafile"
		printf '\n\n' >>"$datafile"
	done < <(grep "^PLOT|$p|" "$results" | cut -d'|' -f3 | awk '!seen[$0]++')
	plotcmd=""
	for i in "${!series[@]}"; do
		plotcmd+="${plotcmd:+, }'$datafile' index $i with linespoints lw 2 pt 7 title '${series[$i]}'"
	done
	gnuplot <<-GP
		set terminal pngcairo noenhanced size 900,560 font 'Sans,11'
		set output '$plotdir/$p.png'
		set title '$(grep "^TITLE|plot:$p|" "$results" | head -1 | cut -d'|' -f3- | sed "s/'/''/g")'
		set logscale x 10
		set logscale y 10
		set xlabel 'sessions in the table'
		set ylabel 'latency per call (ms)'
		set format x '%.0s%c'
		set grid
		set key top left
		plot $plotcmd
	GP
	plots+=("$p")
done

{
	echo "# Benchmarks"
	echo
	echo "Written by \`bench/run.sh\` (\`make bench${quick:+ QUICK=1}\`${only:+, CASES=\"$only\"}) on"\
		"$(date -u -d "@$finished" '+%Y-%m-%d %H:%M UTC'); the whole run took $(((finished - started) / 60)) min $(((finished - started) % 60)) s."
	[ -n "$quick" ] && echo "This is the reduced QUICK set; \`make bench\` runs the full one."
	echo
	echo "Every figure is measured in the same run side by side with a plain-SQL twin:"
	echo "\`plain.sessions\` / \`plain.session_scopes\` / \`plain.session_events\`, made with"
	echo "\`CREATE TABLE ... (LIKE agent_sessions.sessions INCLUDING ALL)\` plus the same storage"
	echo "parameters and foreign key, so it has the same columns, constraints and indexes but no"
	echo "trigger, no row-level security and no functions (bench/sql/setup.sql); its creates"
	echo "write the scopes row in the same statement, as create_session does. The ratio is always agent_sessions"
	echo "÷ plain SQL: above 1 is better for a throughput, below 1 is better for a latency or"
	echo "a time. Throughput ratios (cases 1 to 3) are measured interleaved: in each of 3 (2"
	echo "under QUICK) pgbench runs every transaction is the extension's call or one of its twins, drawn"
	echo "at random (\`pgbench -f a.sql@1 -f b.sql@1 ...\`), so that both sides meet exactly"
	echo "the same moments of the machine; each run gives each variant's mean latency from"
	echo "the per-transaction log, a variant's figure is the clients divided by its median"
	echo "mean latency, and the ratio is the median of the runs' own ratios. On this machine"
	echo "two adjacent one-second runs of the same statement can differ by 2×, so the same"
	echo "ratio from separate runs spreads by ±0.2 between rounds; interleaved, by about"
	echo "±0.02. The separate runs are reported too (rows \"separate runs\"): the variants run"
	echo "back to back in rounds, in alternating order (A, B, then B, A), a throughput is the"
	echo "median of its rounds and the ratio the median of the rounds' own ratios. A latency"
	echo "percentile is taken over the calls of all its rounds."
	echo "Targets are shown next to the figures; they are never asserted."
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "| --- | --- |"
	echo "| CPU | $(nproc) × $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) |"
	echo "| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
	echo "| kernel | $(uname -sr) |"
	echo "| PostgreSQL | $(pg_config --version) |"
	echo "| load average (1, 5, 15 min) | $(awk '{ printf "%s%s: %s %s %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4 }' "$loads" | tr '\n' ' ') |"
	if grep -q '^CPU|' "$results"; then
		echo "| CPU time stolen by the hypervisor, per case | $(grep '^CPU|' "$results" |
			awk -F'|' '$3 > 0 { printf "%s%s: %.1f %%", (n++ ? "; " : ""), $2, 100 * $4 / $3 }') |"
		echo "| CPU time of kernel threads, per case | $(grep '^CPU|' "$results" |
			awk -F'|' '$3 > 0 { printf "%s%s: %.1f %%", (n++ ? "; " : ""), $2, 100 * $5 / $3 }') |"
	fi
	echo
	echo "Other work on the machine shows in the load average above: with 2 cores, a load"
	echo "above 2 means the benchmark shared the CPUs with something else. On a virtual"
	echo "machine the host can also take CPU time away from it (steal, from /proc/stat),"
	echo "and the kernel's own threads take some; both are given as a share of all the"
	echo "CPU time of both cores while the case ran. Steal comes in bursts, and shows"
	echo "first in the latency percentiles (cases 4 to 6) and in one client's throughput."
	echo
	echo "## Settings"
	echo
	echo "A private cluster made by \`scripts/cluster.sh\` (initdb, socket only, pg_cron and"
	echo "agent_sessions in shared_preload_libraries), with:"
	echo
	echo '```'
	printf '%s\n' "${settings[@]}"
	echo '```'
	echo
	echo "Everything else is PostgreSQL's default (autovacuum on, \`synchronous_commit = on\`,"
	echo "\`fsync = on\`, \`wal_level = replica\`); a row says when a run sets"
	echo "\`synchronous_commit = off\` or another setting through \`PGOPTIONS\`. Clients connect"
	echo "through the Unix socket as the superuser \`postgres\` (row-level security does not"
	echo "apply). pgbench runs on the same 2 cores as the server. The throughput cases (1 to 3)"
	echo "turn autovacuum off for the tables they write, the extension's and the twin's alike,"
	echo "and VACUUM them before each series of rounds instead, so that no autovacuum worker"
	echo "lands in a timed run: on 2 cores it takes half the machine from whichever variant it"
	echo "overlaps (bench/lib.sh, hold_autovacuum)."
	echo
	echo "To run one case again: \`make bench CASES=NN_name\` (report in bench/out/BENCHMARKS.md);"
	echo "each row also names the pgbench command that measures it, run against the case's"
	echo "database as the case sets it up."

	for c in $(grep -E '^(RESULT|NOTE|TITLE)\|' "$results" | cut -d'|' -f2 | grep -v '^plot' | awk '!seen[$0]++'); do
		t=$(grep "^TITLE|$c|" "$results" | head -1 | cut -d'|' -f3-)
		f=$(grep "^CASEFILE|$c|" "$results" | head -1 | cut -d'|' -f3)
		echo
		echo "## ${t:-${f:-$c}}"
		echo
		el=$(grep "^ELAPSED|$f|" "$results" | cut -d'|' -f3)
		[ -n "$el" ] && echo "bench/cases/$f.sh, ran in $el s; again alone: \`make bench CASES=$f\`." && echo
		if grep -q "^RESULT|$c|" "$results"; then
			echo "| metric | agent_sessions | plain SQL | ratio | unit | target |"
			echo "| --- | ---: | ---: | ---: | --- | --- |"
			grep "^RESULT|$c|" "$results" | while IFS='|' read -r _ _ metric value unit twin rat; do
				tg=$(grep -F "TARGET|$c|$metric|" "$results" | head -1 | cut -d'|' -f4-)
				echo "| $metric | $value | $twin | $rat | $unit | ${tg:-} |"
			done
			echo
		fi
		grep "^NOTE|$c|" "$results" | cut -d'|' -f3- | sed 's/^/- /'
		if grep -q "^CMD|$c|" "$results"; then
			echo
			echo "<details><summary>Commands</summary>"
			echo
			grep "^CMD|$c|" "$results" | while IFS='|' read -r _ _ metric command; do
				echo "- $metric: \`$command\`"
			done
			echo
			echo "</details>"
		fi
	done

	# the profile behind the figures, kept by hand (see its first paragraph)
	if [ -f "$here/analysis.md" ] && [ -z "$only" ]; then
		echo
		cat "$here/analysis.md"
	fi

	if grep -q '^NOTE|plots|' "$results" || [ ${#plots[@]} -gt 0 ]; then
		echo
		echo "## Plots"
		echo
		for p in "${plots[@]}"; do
			rel=$([ -n "$only" ] && echo "$p.png" || echo "bench/$p.png")
			echo "![$p]($rel)"
			echo
		done
		grep '^NOTE|plots|' "$results" | cut -d'|' -f3- | sed 's/^/- /'
	fi
} >"$report"

echo
echo "wrote ${report#"$top"/}${plots:+ and ${#plots[@]} plot(s)}"
