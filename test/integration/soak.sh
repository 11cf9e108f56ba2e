#!/usr/bin/env bash
# Soak: SOAK_CLIENTS pgbench clients (default 4) for SOAK_SECONDS (default
# 30) mixing creates (some with racing idempotency keys), busy/idle
# heartbeats and usage, transitions legal and illegal (direct UPDATEs and
# stale expected_versions included), cancels and sweeps on the 200 newest
# sessions, so they race on the same rows, while one client in four more
# long-polls those sessions with wait_for_session.  Any error other than the
# PT409/PT404 a lost race earns aborts a client and fails the soak.  Then the
# invariants over every session and event (test/reliability/invariants.sql)
# and every acknowledged create.  make soak runs it for 10 minutes.
set -euo pipefail
. "$(dirname "$0")/../reliability/lib.sh"

clients=${SOAK_CLIENTS:-4}
seconds=${SOAK_SECONDS:-30}
db=agent_sessions_soak
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

crashes_before=$(rel_crash_count "$AGENT_SESSIONS_TEST_DIR")
rel_fresh_db "$db"
rel_soak_setup "$db"

echo "soak: $clients clients for $seconds s"
status=0
rel_workload "$db" "$clients" "$seconds" "$work/acks" "$work/pgbench.log" || status=$?
if [ "$status" -ne 0 ]; then
	echo "pgbench failed (exit $status): a client hit an unexpected error"
	grep -E 'error|abort|ERROR' "$work/pgbench.log" "$work/pgbench.log.waiters" | head -n 20
fi
echo "operations: $(rel_workload_summary "$work/pgbench.log")"

ok=0
rel_check "$db" "$work/acks" || ok=1
crashes=$(( $(rel_crash_count "$AGENT_SESSIONS_TEST_DIR") - crashes_before ))
echo "crashed backends: $crashes"

rel_psql -d postgres -c "DROP DATABASE $db WITH (FORCE)"
[ "$status" -eq 0 ] && [ "$ok" -eq 0 ] && [ "$crashes" -eq 0 ]
