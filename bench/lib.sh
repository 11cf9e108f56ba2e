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

# Bulk loading: fill FIRST LAST KIND [NOW0] gives agent_sessions.sessions
# and plain.sessions the same rows FIRST..LAST (bench.fill, times relative
# to NOW0, default now()), then VACUUM (ANALYZE) of both, so that the
# measurements do not race autovacuum.
#
# A small load (up to 200,000 rows more than the tables hold) is generated
# into both tables at once.  A large one is generated once, in 16 chunks
# that two sessions share (fill_chunks), and each chunk is added to both
# tables in turn (INSERT ... SELECT: copying a row costs about half of
# generating it), so both get the same rows in the same order.  Before a
# large load, the secondary indexes that the new rows would fill are
# dropped: every one but the partial indexes that fewer than 5% of them
# meet (checked on a sample of the rows to come), which take their few
# entries row by row.  After it, two sessions rebuild them, both tables'
# together, biggest first (fill_build).  Either way both tables end with
# exactly their original indexes.  Autovacuum is off for both tables while
# a large load runs (the VACUUM at the end does its work).
fill() {
	local first=$1 last=$2 kind=$3 now0=${4:-} have n t0 chunk sync pids=() p w tbl
	[ -n "$now0" ] || now0=$(sql "SELECT now()")
	have=$(sql "SELECT count(*) FROM plain.sessions")
	n=$((last - first + 1))
	if [ "$n" -le $((have + 200000)) ]; then
		for tbl in agent_sessions.sessions plain.sessions; do
			(
				sql "SELECT bench.fill('$tbl', $first, $last, '$kind', '$now0')" >/dev/null
				sql "VACUUM (ANALYZE) $tbl, ${tbl%%.*}.session_scopes"
			) &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		return
	fi

	"$pg_bindir/psql" -X -q -At -v ON_ERROR_STOP=1 >/dev/null <<-SQL
		SET client_min_messages = warning;
		CREATE TABLE IF NOT EXISTS bench.fill_index (tbl regclass, def text, size bigint,
		                                             ready boolean NOT NULL DEFAULT false);
		TRUNCATE bench.fill_index;
		ALTER TABLE agent_sessions.sessions SET (autovacuum_enabled = off);
		ALTER TABLE plain.sessions SET (autovacuum_enabled = off);
		CREATE TEMP TABLE sample (LIKE agent_sessions.sessions INCLUDING DEFAULTS);
		SELECT bench.fill('pg_temp.sample', $first, $((first + 9999 < last ? first + 9999 : last)), '$kind', '$now0');
		DO \$\$
		DECLARE
		    r record;
		    keep boolean;
		BEGIN
		    FOR r IN SELECT i.indexrelid, i.indrelid, pg_get_expr(i.indpred, i.indrelid) AS pred
		               FROM pg_index AS i
		              WHERE i.indrelid IN ('agent_sessions.sessions'::regclass, 'plain.sessions'::regclass,
		                                   'agent_sessions.session_scopes'::regclass,
		                                   'plain.session_scopes'::regclass)
		                AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = i.indexrelid)
		    LOOP
		        keep := false;
		        IF r.pred IS NOT NULL THEN
		            EXECUTE format('SELECT count(*) FILTER (WHERE %s) * 20 < count(*) FROM pg_temp.sample',
		                           r.pred) INTO keep;
		        END IF;
		        CONTINUE WHEN keep;
		        INSERT INTO bench.fill_index
		            VALUES (r.indrelid, pg_get_indexdef(r.indexrelid), pg_relation_size(r.indexrelid));
		        EXECUTE format('DROP INDEX %s', r.indexrelid::regclass);
		    END LOOP;
		END
		\$\$;
	SQL

	t0=$(date +%s)
	sync=$(mktemp -d "$out/fill.XXXXXX")
	chunk=$(((n + 15) / 16))
	for w in 1 2; do
		(
			fill_chunks "$sync" "$w" "$first" "$last" "$chunk" "$kind" "$now0"
			fill_build "$sync"
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	rm -rf "$sync"
	log "fill: indexes rebuilt after $(($(date +%s) - t0)) s"
	pids=()
	for tbl in agent_sessions.sessions plain.sessions; do
		{ sql "ALTER TABLE $tbl RESET (autovacuum_enabled)" && sql "VACUUM (ANALYZE) $tbl, ${tbl%%.*}.session_scopes"; } &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}

# fill_chunks SYNC WORKER FIRST LAST CHUNK KIND NOW0: worker 1 of 2 loads
# the odd chunks of rows FIRST..LAST, worker 2 the even ones: each chunk is
# generated into an unlogged table of its own, then, once the chunk before
# it is in, added to agent_sessions.sessions, and then to plain.sessions.
# Whoever adds the last chunk to a table lets its indexes be built.
fill_chunks() {
	local sync=$1 w=$2 first=$3 last=$4 chunk=$5 kind=$6 now0=$7 chunks k from tbl
	chunks=$(((last - first + chunk) / chunk))
	for ((k = w; k <= chunks; k += 2)); do
		from=$((first + (k - 1) * chunk))
		"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 <<-SQL || fill_failed "$sync"
			CREATE UNLOGGED TABLE bench.fill_chunk_$k (LIKE agent_sessions.sessions INCLUDING DEFAULTS)
			    WITH (autovacuum_enabled = off);
			SELECT bench.fill('bench.fill_chunk_$k', $from, $((from + chunk - 1 < last ? from + chunk - 1 : last)),
			                  '$kind', '$now0') \g /dev/null
		SQL
		for tbl in agent_sessions.sessions plain.sessions; do
			[ "$k" = 1 ] || fill_wait "$sync" "$((k - 1)).$tbl"
			# the scopes rows too, with the extension's triggers off
			"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -c "SET synchronize_seqscans = off" \
				-c "SET session_replication_role = replica" \
				-c "INSERT INTO $tbl SELECT * FROM bench.fill_chunk_$k" \
				-c "INSERT INTO ${tbl%%.*}.session_scopes
				    SELECT id, organization_id, project_id, user_id, agent_id FROM bench.fill_chunk_$k" ||
				fill_failed "$sync"
			touch "$sync/$k.$tbl"
			if [ "$k" = "$chunks" ]; then
				log "fill: $((last - first + 1)) rows in $tbl after $(($(date +%s) - t0)) s"
				sql "UPDATE bench.fill_index SET ready = true
				      WHERE tbl IN ('$tbl'::regclass, '${tbl%%.*}.session_scopes'::regclass)" ||
					fill_failed "$sync"
			fi
		done
		sql "DROP TABLE bench.fill_chunk_$k" || fill_failed "$sync"
	done
}

# fill_failed SYNC: tell the other loader to stop, and stop.
fill_failed() {
	touch "$1/failed"
	exit 1
}

# fill_wait SYNC STEP: wait until the other loader has done STEP.
fill_wait() {
	while [ ! -e "$1/$2" ]; do
		[ ! -e "$1/failed" ] || exit 1
		sleep 0.1
	done
}

# fill_build SYNC: build the indexes of bench.fill_index whose table is
# ready, one at a time, biggest first, until none is left (or the other
# loader failed).  Each sorts in 64MB runs: on this machine, sorting 10M
# index entries that way and merging took 25-35% less time than one
# in-memory quicksort, whose comparisons miss the CPU caches.  The index
# pages go to the WAL compressed (lz4 where the server has it): they are
# written as full-page images, several GB for 10M rows.
fill_build() {
	local def left
	while :; do
		def=$(sql "DELETE FROM bench.fill_index
		            WHERE ctid = (SELECT ctid FROM bench.fill_index WHERE ready
		                           ORDER BY size DESC, def LIMIT 1 FOR UPDATE SKIP LOCKED)
		           RETURNING def") || fill_failed "$1"
		if [ -n "$def" ]; then
			"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -c "SET maintenance_work_mem = '64MB'" \
				-c "SET max_parallel_maintenance_workers = 0" \
				-c "SELECT set_config('wal_compression', CASE WHEN 'lz4' = ANY (enumvals) THEN 'lz4'
				                                             ELSE 'pglz' END, false)
				      FROM pg_settings WHERE name = 'wal_compression'" \
				-c "$def" >/dev/null || fill_failed "$1"
			continue
		fi
		left=$(sql "SELECT count(*) FROM bench.fill_index") || fill_failed "$1"
		[ "$left" != 0 ] || return 0
		[ ! -e "$1/failed" ] || exit 1
		sleep 0.2
	done
}

# hold_autovacuum TABLE...: no autovacuum or autoanalyze of these tables
# for the rest of the case (whose database is dropped afterwards); instead,
# each ab_tps starts with a VACUUM of them, outside the timed runs.  On 2
# cores an autovacuum worker takes half the machine from whichever run it
# overlaps, and an ANALYZE holds back the pruning that keeps heartbeats HOT,
# so a variant's figure would depend on whether autovacuum happened to wake
# during its runs.  The tables of both variants are held alike.
held_tables=()
hold_autovacuum() {
	local t
	for t; do
		sql "ALTER TABLE $t SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)" >/dev/null
	done
	held_tables=("$@")
}

# ab_tps CLIENTS SECONDS ROUNDS NAME=SCRIPT...
# Runs the scripts (files in bench/sql) in turn, ROUNDS times, in the given
# order on odd rounds and the reverse order on even ones (A, B, then B, A),
# after a VACUUM of the tables of hold_autovacuum, if any,
# each with pgbench -M prepared, CLIENTS clients, for SECONDS; PGOPTIONS
# and the array pgbench_opts (extra pgbench options) apply to all.  Sets
# TPS[NAME] (the median) and RUNS[NAME] (each round's tps, in round order:
# see pair_ratio); when
# HOT_TABLE[NAME] names a table, also UPD[NAME] and HOT[NAME]: the updates
# and HOT updates of that table during NAME's runs, and AUTOVAC[NAME]: how
# many of those runs an autovacuum or autoanalyze of the table overlapped.
declare -A TPS RUNS HOT_TABLE UPD HOT AUTOVAC
pgbench_opts=()
ab_run=0
ab_tps() {
	local clients=$1 seconds=$2 rounds=$3 r spec name tps before after u0 h0 v0 u1 h1 v1
	local -a order
	shift 3
	if [ ${#held_tables[@]} -gt 0 ]; then
		sql "VACUUM $(IFS=,; echo "${held_tables[*]}")" >/dev/null
	fi
	for spec; do
		name=${spec%%=*}
		RUNS[$name]=""
		UPD[$name]=0
		HOT[$name]=0
		AUTOVAC[$name]=0
	done
	for r in $(seq 1 "$rounds"); do
		order=("$@")
		if [ $((r % 2)) = 0 ]; then
			order=()
			for spec; do order=("$spec" ${order[@]+"${order[@]}"}); done
		fi
		for spec in "${order[@]}"; do
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

# pair_ratio A B: the median over the rounds of the last ab_tps of A's tps
# divided by B's in the same round.  The two ran back to back, so a slow
# spell of the machine that spans a round weighs on both sides of its ratio
# instead of on whichever variant it happened to hit.
pair_ratio() {
	local -a a b
	local i
	read -r -a a <<<"${RUNS[$1]//\//}"
	read -r -a b <<<"${RUNS[$2]//\//}"
	for i in "${!a[@]}"; do
		awk -v x="${a[i]}" -v y="${b[i]:-0}" 'BEGIN { if (y + 0 > 0) printf "%.6f\n", x / y }'
	done | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.2f\n", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2; else print "-" }'
}

# hot_pct NAME: HOT updates as a percentage of updates during NAME's runs.
hot_pct() {
	awk -v u="${UPD[$1]}" -v h="${HOT[$1]}" 'BEGIN {
		if (u == 0) print "-"; else printf "%.1f\n", 100 * h / u }'
}

# mix_tps CLIENTS SECONDS RUNS NAME=SCRIPT...
# Runs the scripts interleaved: RUNS pgbench runs (-M prepared, CLIENTS
# clients, SECONDS each, PGOPTIONS and pgbench_opts as for ab_tps) that each
# give every script the same weight (-f script@1 ...), so that each client
# draws the next transaction's script at random.  Both sides of a
# comparison then meet exactly the same moments of the machine, where
# separate runs meet different ones (on this machine two adjacent seconds
# can differ by 2x).  Per run, each script's mean latency comes from the
# per-transaction log (each client's first transaction, which prepares,
# left out).  Sets MIXLAT[NAME] (each run's mean latency in microseconds,
# in run order: see mix_ratio) and MIXTPS[NAME]: CLIENTS calls per median
# mean latency, the throughput the clients would reach running NAME alone
# at that latency.
declare -A MIXLAT MIXTPS
mix_run=0
mix_tps() {
	local clients=$1 seconds=$2 runs=$3 r spec name logf prefix i
	local -a scripts=() names=() means
	shift 3
	for spec; do
		names+=("${spec%%=*}")
		scripts+=(-f "$sql_dir/${spec#*=}@1")
		MIXLAT[${spec%%=*}]=""
	done
	for r in $(seq 1 "$runs"); do
		mix_run=$((mix_run + 1))
		prefix="$out/mix$mix_run"
		logf="$prefix.pgbench"
		rm -f "$prefix".log.*
		sql CHECKPOINT >/dev/null
		if ! "$pg_bindir/pgbench" -n -M prepared -c "$clients" -j "$clients" -T "$seconds" \
			-l --log-prefix="$prefix.log" "${scripts[@]}" \
			${pgbench_opts[@]+"${pgbench_opts[@]}"} >"$logf" 2>&1 ||
			grep -q 'aborted' "$logf" ||
			! grep -q '^number of failed transactions: 0 ' "$logf"; then
			echo "pgbench failed (interleaved run $mix_run):" >&2
			cat "$logf" >&2
			return 1
		fi
		# shellcheck disable=SC2207
		means=($(cat "$prefix".log.* | awk -v n=${#names[@]} '
			$2 > 1 { s[$4] += $3; c[$4]++ }
			END { for (i = 0; i < n; i++) printf "%.1f ", (c[i] ? s[i] / c[i] : 0) }'))
		for i in "${!names[@]}"; do
			[ "${means[i]}" != 0.0 ] || { echo "interleaved run $mix_run: no ${names[i]} transactions" >&2; return 1; }
			MIXLAT[${names[i]}]+="${MIXLAT[${names[i]}]:+ / }${means[i]}"
		done
		log "interleaved, $clients client(s), ${PGOPTIONS:-default settings}: mean latency (µs)$(
			for i in "${!names[@]}"; do printf ' %s %s' "${names[i]}" "${means[i]}"; done)"
		rm -f "$prefix".log.*
	done
	for name in "${names[@]}"; do
		# shellcheck disable=SC2086
		MIXTPS[$name]=$(awk -v c="$clients" -v m="$(printf '%s\n' ${MIXLAT[$name]//\//} | sort -g |
			awk '{ v[NR] = $1 } END { print (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }')" \
			'BEGIN { printf "%.0f\n", c * 1e6 / m }')
	done
}

# mix_ratio A B: the median over the runs of the last mix_tps of B's mean
# latency divided by A's in the same run: A's throughput over B's, as a
# throughput ratio (above 1, A does more calls per second).
mix_ratio() {
	local -a a b
	local i
	read -r -a a <<<"${MIXLAT[$1]//\//}"
	read -r -a b <<<"${MIXLAT[$2]//\//}"
	for i in "${!a[@]}"; do
		awk -v x="${a[i]}" -v y="${b[i]:-0}" 'BEGIN { if (x + 0 > 0) printf "%.6f\n", y / x }'
	done | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.2f\n", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2; else print "-" }'
}
