#!/usr/bin/env bash
# Dead letters: one poison message for every code of CONTRACT.md goes to
# ladder.dlq.v1 with its bytes unchanged and the contract's headers, and
# the valid event after them is still decided.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
tests=$(dirname "$bin")/../tests
[ -x "$tests/poison" ] || tests=$(dirname "$bin")/tests
on_fail() { cat "$work/worker.log"; }
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_join "$work/worker.log" || true
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
