#!/usr/bin/env bash
# SIGTERM with Kafka unreachable: the worker stops within
# shutdown.timeout.ms, names the outbox entries Kafka did not acknowledge,
# and loses nothing: the next start publishes them, with the same ids.
#
# The worker is held (LADDERTEST_HOLD_BEFORE_STORE) after it fetched its
# first batch; the brokers are frozen (SIGSTOP: connections stay open and
# nothing answers, as with a network gone); then the hold is lifted, so the
# worker stores the decisions and produces them into the void.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
kafka_frozen=0
worker=""
cleanup() { [ -z "$worker" ] || kill -9 "$worker" 2>/dev/null || true; }
on_fail() {
  [ "$kafka_frozen" -eq 0 ] || kill -CONT "$LADDERTEST_KAFKA_PID" 2>/dev/null
  tail -12 "$work/worker.log" "$work/worker2.log" 2>/dev/null
}
"$bin/ladder-gen" --scale 0.0005 --seed 5 --single --until 2023-01-01T00:00:00Z --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
total=$(demo_topic_total ladder.events.v1)
ids() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%h\n" 2>/dev/null | sed -E "s/.*ce_id=([^,]*),.*/\1/"; }

# 1. Stored, not published: Kafka frozen once the batch is in hand.
touch "$work/hold"
LADDERTEST_HOLD_BEFORE_STORE=$work/hold LADDER_SHUTDOWN_TIMEOUT_MS=3000 \
  "$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_log "$work/worker.log" "test hold: waiting" || fail "the worker never reached its first store"
kill -STOP "$LADDERTEST_KAFKA_PID"
kafka_frozen=1
rm -f "$work/hold"
# What was fetched before the freeze gets stored (the rest waits for Kafka):
# wait until the stored count stops moving.
last=-1
settled() {
  read -r s left <<<"$(demo_stored)"
  [ "$s" -gt 0 ] && [ "$s" -eq "$last" ] && return 0
  last=$s
  return 1
}
lt_retry 60 0.5 settled || fail "the worker stored $(demo_stored) messages with Kafka frozen, still moving"
[ "$left" -gt 0 ] || fail "every outbox entry was trimmed with Kafka frozen"

# 2. SIGTERM: stopped within shutdown.timeout.ms (3 s) and a margin for a
# loaded machine, exit 0, naming what it left.
t0=$(date +%s%N)
kill -TERM "$worker"
rc=0
wait "$worker" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 0 ] || fail "the worker exited $rc on SIGTERM"
[ "$ms" -le 6000 ] || fail "the worker took $ms ms to stop with Kafka frozen (shutdown.timeout.ms=3000)"
grep -q "not acknowledged\|has not acknowledged" "$work/worker.log" || fail "the worker did not say what it left unpublished"
grep -q "outbox entries ([0-9]* messages) Kafka has not acknowledged" "$work/worker.log" || fail "no count of the unacknowledged entries"
made=$(sed -nE "s/.*stopped: [0-9]+ events, ([0-9]+) decisions.*/\1/p" "$work/worker.log")
[ "${made:-0}" -gt 0 ] || fail "the worker made no decisions"
read -r s left_after <<<"$(demo_stored)"
[ "$left_after" -gt 0 ] || fail "the outbox was emptied although Kafka acknowledged nothing"
ok "stopped in $ms ms with Kafka frozen (shutdown.timeout.ms=3000): $s of $total messages stored, $left_after outbox entries left in Redis"

# 3. Kafka back: the next start publishes every stored decision, same ids.
kill -CONT "$LADDERTEST_KAFKA_PID"
kafka_frozen=0
"$bin/ladder-worker" >"$work/worker2.log" 2>&1 &
worker=$!
published() { read -r s left <<<"$(demo_stored)"; [ "$s" -eq "$total" ] && [ "$left" -eq 0 ]; }
lt_retry 300 0.2 published || fail "after the restart: $(demo_stored) stored of $total"
kill -TERM "$worker"; wait "$worker"
made2=$(sed -nE "s/.*stopped: [0-9]+ events, ([0-9]+) decisions.*/\1/p" "$work/worker2.log")
made=$((made + made2))
grep -q "every stored decision and dead letter is published" "$work/worker2.log" || fail "the clean stop did not say that everything was published"
distinct=$(ids | sort -u | wc -l)
[ "$distinct" -eq "$made" ] || fail "$distinct distinct decisions published, $made made"
ok "restart published all $made decisions ($(ids | wc -l) messages; duplicates share their ids)"
' "$src" "$bin"
