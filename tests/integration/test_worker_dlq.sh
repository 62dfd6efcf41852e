#!/usr/bin/env bash
# Dead letters: one poison message for every code of CONTRACT.md goes to
# ladder.dlq.v1 with its bytes unchanged and the contract's headers, and
# the valid event after them is still decided.
set -euo pipefail
src=${LADDERTEST_SRC:?}
bin=${LADDERTEST_BIN:?}
exec "$src/tests/support/with-stack" bash -c '
set -euo pipefail
src=$0; bin=$1; tests=$(dirname "$bin")/../tests
[ -x "$tests/poison" ] || tests=$(dirname "$bin")/tests
work=$LADDERTEST_STACK_DIR
fail() { echo "FAIL: $*"; cat "$work/worker.log"; exit 1; }
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10 LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
for _ in $(seq 1 150); do grep -q "resuming at offset" "$work/worker.log" && break; sleep 0.2; done
"$tests/poison" produce "$LADDERTEST_BOOTSTRAP" "$src/schemas" >"$work/sent.txt" || fail "poison produce"
[ "$(awk "NF == 6" "$work/sent.txt" | wc -l)" -eq 8 ] || fail "not all 8 poison messages were sent: $(cat "$work/sent.txt")"
"$tests/poison" check "$LADDERTEST_BOOTSTRAP" "$work/sent.txt" | tee "$work/check.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "dead letters differ"
good=$(awk "/^sent VALID/ {print \$3}" "$work/sent.txt")
for _ in $(seq 1 50); do
  kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%k %h\n" 2>/dev/null | grep -q "^$good .*ce_type=ladder.decision.PUBLICITY_STARTED" && break
  sleep 0.2
done
kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%k %h\n" 2>/dev/null | grep -q "^$good .*PUBLICITY_STARTED" \
  || fail "the valid application after the poison was not decided"
echo "ok - 8 dead-letter codes with headers and unchanged bytes; the valid event after them was decided"
kill -TERM "$worker"; wait "$worker"
' "$src" "$bin"
