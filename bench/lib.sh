# Helpers for bench/cases/*.sh; a case starts with
#
#     . "$(dirname "$0")/../lib.sh"
#
# and then has: $bench_dir (bench/), $sql_dir (bench/sql), $out (a scratch
# directory of its own), quick (true under make bench QUICK=1), and the
# functions below.  Progress goes to stderr, results to stdout (run.sh's
# line protocol: RESULT, NOTE, CMD, TARGET, TITLE, PLOT).
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sql_dir="$bench_dir/sql"
case_name=${BENCH_CASE:-$(basename "$0" .sh)}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
pg_bindir=$(pg_config --bindir)

quick() { [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; }

log() { printf '  [%s] %s\n' "$case_name" "$*" >&2; }

# sql "statement": run it, print the result unaligned (| between columns).
sql() { "$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
sql_file() { "$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -f "$@"; }

# The line protocol.  A missing twin value or ratio is "-".
title() { echo "TITLE|$case_name|$*"; }
note() { echo "NOTE|$case_name|$*"; }
result() { echo "RESULT|$case_name|$1|$2|$3|${4:--}|${5:--}"; }
target() { echo "TARGET|$case_name|$1|$2"; }
cmd() { echo "CMD|$case_name|$1|$2"; }
plot() { echo "PLOT|$1|$2|$3|$4"; }

# ratio A B: A / B to two decimals, "-" when either is missing.
ratio() {
	awk -v a="${1:--}" -v b="${2:--}" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

# median V...: the median, rounded to a whole number.
median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.0f\n", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'
}

# The plain-SQL twin and the bench helpers (bench/sql/setup.sql).
setup_twin() { sql_file "$sql_dir/setup.sql" >/dev/null; }

# Wait until no other backend of this database is connected, so that the
# statistics of the backends a pgbench run used have been flushed.
wait_quiet() {
	local i
	for i in $(seq 1 100); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity
		            WHERE datname = current_database() AND pid <> pg_backend_pid()
		              AND backend_type = 'client backend'")" = 0 ] && return 0
		sleep 0.1
	done
}

# pgbench_tps LABEL CLIENTS SECONDS SCRIPT [pgbench options...]
# Runs pgbench -M prepared after a checkpoint; prints the tps.  Fails on any
# failed transaction or aborted client.
pgbench_tps() {
	local label=$1 clients=$2 seconds=$3 script=$4 logf
	shift 4
	logf="$out/$label.pgbench"
	sql CHECKPOINT >/dev/null
	if ! "$pg_bindir/pgbench" -n -M prepared -c "$clients" -j "$clients" -T "$seconds" \
		-f "$script" "$@" >"$logf" 2>&1 ||
		grep -q 'aborted' "$logf" ||
		! grep -q '^number of failed transactions: 0 ' "$logf"; then
		echo "pgbench failed ($label):" >&2
		cat "$logf" >&2
		return 1
	fi
	awk '/^tps = / { print $3; exit }' "$logf"
}

# pgbench_cmd CLIENTS SECONDS SCRIPT [options]: the command line to show.
pgbench_cmd() {
	local clients=$1 seconds=$2 script=$3
	shift 3
	echo "pgbench -n -M prepared -c $clients -j $clients -T $seconds -f bench/sql/$(basename "$script")${*:+ $*}"
}

# upd_counts TABLE: "n_tup_upd n_tup_hot_upd autovacuums+autoanalyzes" of a
# table.
upd_counts() {
	wait_quiet
	sql "SELECT n_tup_upd || ' ' || n_tup_hot_upd || ' ' || (autovacuum_count + autoanalyze_count)
	       FROM pg_stat_user_tables WHERE relid = '$1'::regclass"
}

# percentiles LOG_PREFIX [FROM_EPOCH TO_EPOCH]: "p50 p99 count" in ms of the
# transactions in the pgbench -l logs whose names start with LOG_PREFIX,
# optionally only those that ended between FROM_EPOCH and TO_EPOCH (seconds,
# fractional).  Each client's first transaction (it prepares the
# statements) is left out.
percentiles() {
	local prefix=$1 from=${2:-0} to=${3:-9e18}
	cat "$prefix"* |
		awk -v from="$from" -v to="$to" '{
			done = $5 + $6 / 1e6
			if ($2 > 1 && done >= from && done <= to) print $3 / 1000 }' |
		sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - 0"; exit }
			i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
			printf "%.3f %.3f %d\n", v[i50], v[i99], NR }'
}

# human N: 100000 -> 100k, 10000000 -> 10M
human() {
	awk -v n="$1" 'BEGIN {
		if (n >= 1e6 && n % 1e6 == 0) printf "%dM\n", n / 1e6
		else if (n >= 1e3 && n % 1e3 == 0) printf "%dk\n", n / 1e3
		else print n }'
}

# Bulk loading: fill FIRST LAST KIND [NOW0] fills agent_sessions.sessions and
# plain.sessions with the same rows (bench.fill, times relative to NOW0,
# default now()), both at once.  When the
# load is large against what the tables hold, their secondary indexes are
# dropped and rebuilt afterwards (much faster than row-by-row index
# inserts); either way both tables end with exactly their original indexes.
# Then VACUUM (ANALYZE), so the measurements do not race autovacuum.
fill() {
	local first=$1 last=$2 kind=$3 now0=${4:-} rebuild=no have tbl pids=()
	[ -n "$now0" ] || now0=$(sql "SELECT now()")
	have=$(sql "SELECT count(*) FROM plain.sessions")
	[ $((last - first + 1)) -gt $((have + 200000)) ] && rebuild=yes
	for tbl in agent_sessions.sessions plain.sessions; do
		(
			if [ "$rebuild" = yes ]; then
				"$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 <<-SQL
					SET max_parallel_maintenance_workers = 0;
					CREATE TEMP TABLE idx AS
					    SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
					      FROM pg_index WHERE indrelid = '$tbl'::regclass AND NOT indisprimary;
					DO \$\$ DECLARE r record; BEGIN
					    FOR r IN SELECT * FROM idx LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP;
					END \$\$;
					SELECT bench.fill('$tbl', $first, $last, '$kind', '$now0') \\g /dev/null
					DO \$\$ DECLARE r record; BEGIN
					    FOR r IN SELECT * FROM idx LOOP EXECUTE r.def; END LOOP;
					END \$\$;
					VACUUM (ANALYZE) $tbl;
				SQL
			else
				sql "SELECT bench.fill('$tbl', $first, $last, '$kind', '$now0')" >/dev/null
				sql "VACUUM (ANALYZE) $tbl"
			fi
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}

# ab_tps CLIENTS SECONDS ROUNDS NAME=SCRIPT...
# Runs the scripts (files in bench/sql) in turn, ROUNDS times (A, B, A, B),
# each with pgbench -M prepared, CLIENTS clients, for SECONDS; PGOPTIONS
# and the array pgbench_opts (extra pgbench options) apply to all.  Sets
# TPS[NAME] (the median) and RUNS[NAME] (each round's tps); when
# HOT_TABLE[NAME] names a table, also UPD[NAME] and HOT[NAME]: the updates
# and HOT updates of that table during NAME's runs, and AUTOVAC[NAME]: how
# many of those runs an autovacuum or autoanalyze of the table overlapped.
declare -A TPS RUNS HOT_TABLE UPD HOT AUTOVAC
pgbench_opts=()
ab_run=0
ab_tps() {
	local clients=$1 seconds=$2 rounds=$3 r spec name tps before after u0 h0 v0 u1 h1 v1
	shift 3
	for spec; do
		name=${spec%%=*}
		RUNS[$name]=""
		UPD[$name]=0
		HOT[$name]=0
		AUTOVAC[$name]=0
	done
	for r in $(seq 1 "$rounds"); do
		for spec; do
			name=${spec%%=*}
			ab_run=$((ab_run + 1))
			[ -n "${HOT_TABLE[$name]:-}" ] && before=$(upd_counts "${HOT_TABLE[$name]}")
			tps=$(pgbench_tps "$ab_run-$name" "$clients" "$seconds" "$sql_dir/${spec#*=}" \
				${pgbench_opts[@]+"${pgbench_opts[@]}"})
			RUNS[$name]+="${RUNS[$name]:+ / }$(printf '%.0f' "$tps")"
			if [ -n "${HOT_TABLE[$name]:-}" ]; then
				after=$(upd_counts "${HOT_TABLE[$name]}")
				read -r u0 h0 v0 <<<"$before"
				read -r u1 h1 v1 <<<"$after"
				UPD[$name]=$((UPD[$name] + u1 - u0))
				HOT[$name]=$((HOT[$name] + h1 - h0))
				tps+=" ($((h1 - h0)) of $((u1 - u0)) updates HOT"
				if [ "$v1" != "$v0" ]; then
					AUTOVAC[$name]=$((AUTOVAC[$name] + 1))
					tps+=", autovacuum or autoanalyze ran"
				fi
				tps+=")"
			fi
			log "$name, $clients client(s), ${PGOPTIONS:-default settings}: $tps tx/s"
		done
	done
	for spec; do
		name=${spec%%=*}
		# shellcheck disable=SC2086
		TPS[$name]=$(median $(echo "${RUNS[$name]}" | tr -d '/'))
	done
}

# hot_pct NAME: HOT updates as a percentage of updates during NAME's runs.
hot_pct() {
	awk -v u="${UPD[$1]}" -v h="${HOT[$1]}" 'BEGIN {
		if (u == 0) print "-"; else printf "%.1f\n", 100 * h / u }'
}
