#!/usr/bin/env bash
# make soak: the long versions of the reliability suites on a throwaway
# cluster, torn down on any exit.  The same scripts run short inside
# make test; here they run with these settings (override any of them from
# the environment):
#
#   SOAK_CLIENTS=8 SOAK_SECONDS=600        the mixed workload and invariants
#   CRASH_CLIENTS=8 CRASH_SECONDS=60 CRASHES=3   SIGKILL mid-workload, 3 times
#   FUZZ_HUGE=1                            bad input with 100 MB strings too
#   SQLSMITH_SECONDS=300                   random SQL as a non-superuser
#   DUMP_SOAK_SECONDS=60                   a bigger database to dump and restore
#
# Ends with one line "N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
cd "$top"

export SOAK_CLIENTS=${SOAK_CLIENTS:-8} SOAK_SECONDS=${SOAK_SECONDS:-600}
export CRASH_CLIENTS=${CRASH_CLIENTS:-8} CRASH_SECONDS=${CRASH_SECONDS:-60} CRASHES=${CRASHES:-3}
export FUZZ_HUGE=${FUZZ_HUGE:-1} SQLSMITH_SECONDS=${SQLSMITH_SECONDS:-300}
export DUMP_SOAK_SECONDS=${DUMP_SOAK_SECONDS:-60}

dir=$(mktemp -d /tmp/agent_sessions-soak.XXXXXX)
cleanup() {
	"$here/cluster.sh" stop "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '\n== starting a throwaway PostgreSQL 15 in %s ==\n' "$dir"
if ! "$here/cluster.sh" start "$dir"; then
	echo "0 passed, 1 failed"
	exit 1
fi
export PGHOST="$dir" PGPORT=5432 PGUSER=postgres AGENT_SESSIONS_TEST_DIR="$dir"

passed=0
failed=0
failures=()
for suite in soak crash bad_input sqlsmith dump_restore; do
	printf '\n== %s ==\n' "$suite"
	start=$SECONDS
	if bash "test/integration/$suite.sh"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$suite")
	fi
	echo "($((SECONDS - start)) s)"
done

if grep -q 'terminated by signal' "$dir/server.log" 2>/dev/null; then
	printf '\n== the server log records a crashed backend ==\n'
	grep -B2 -A5 'terminated by signal' "$dir/server.log"
	failed=$((failed + 1))
	failures+=("server crash")
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
