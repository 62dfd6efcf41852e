#!/usr/bin/env bash
# SIGTERM with Kafka unreachable: the worker stops within
# shutdown.timeout.ms, names the batches whose decisions Kafka did not
# acknowledge, commits none of them, and loses nothing: the next start
# decides them again and publishes them, with the same ids.
#
# The worker is held (LADDERTEST_HOLD_BEFORE_STORE) before it commits its
# first batch, which Kafka has acknowledged; the brokers are frozen
# (SIGSTOP: connections stay open and nothing answers, as with a network
# gone); then the hold is lifted, so the worker commits the batches Kafka
# acknowledged, decides the next ones and produces their decisions into the
# void. One partition, so
# that the messages make more batches (a step takes 256 at most) than a
# partition has on their way at once (4).
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
kafka_frozen=0
worker=""
cleanup() { [ -z "$worker" ] || kill -9 "$worker" 2>/dev/null || true; }
on_fail() {
  [ "$kafka_frozen" -eq 0 ] || kill -CONT "$LADDERTEST_KAFKA_PID" 2>/dev/null
  tail -12 "$work/worker.log" "$work/worker2.log" 2>/dev/null
}
"$bin/ladder-gen" --scale 0.004 --seed 5 --single --until 2023-01-01T00:00:00Z --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
total=$(demo_topic_total ladder.events.v1)
ids() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%h\n" 2>/dev/null | sed -E "s/.*ce_id=([^,]*),.*/\1/"; }

# 1. Committed up to the hold; what follows is produced into the void.
touch "$work/hold"
LADDERTEST_HOLD_BEFORE_STORE=$work/hold LADDER_SHUTDOWN_TIMEOUT_MS=3000 \
  "$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_log "$work/worker.log" "test hold: waiting" || fail "the worker never reached its first commit"
kill -STOP "$LADDERTEST_KAFKA_PID"
kafka_frozen=1
rm -f "$work/hold"
# The batches Kafka acknowledged before the freeze get committed, the
# rest wait for Kafka: wait until the stored count stops moving.
last=-1
settled() {
  read -r s left <<<"$(demo_stored)"
  [ "$s" -gt 0 ] && [ "$s" -eq "$last" ] && return 0
  last=$s
  return 1
}
lt_retry 60 0.5 settled || fail "the worker stored $(demo_stored) messages with Kafka frozen, still moving"
[ "$s" -lt "$total" ] || fail "all $total messages were committed with Kafka frozen"
stored_frozen=$s

# 2. SIGTERM: stopped within shutdown.timeout.ms (3 s) and a margin for a
# loaded machine, exit 0, naming what it left.
t0=$(date +%s%N)
kill -TERM "$worker"
rc=0
wait "$worker" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 0 ] || fail "the worker exited $rc on SIGTERM"
[ "$ms" -le 6000 ] || fail "the worker took $ms ms to stop with Kafka frozen (shutdown.timeout.ms=3000)"
grep -qE "stopping with [0-9]+ batches \([0-9]+ input messages\) whose decisions Kafka has not all acknowledged" "$work/worker.log" || fail "the worker did not say which batches it left uncommitted"
made=$(sed -nE "s/.*stopped: [0-9]+ events, ([0-9]+) decisions.*/\1/p" "$work/worker.log")
[ -n "$made" ] || fail "the worker did not say what it committed"
read -r s left_after <<<"$(demo_stored)"
[ "$s" -eq "$stored_frozen" ] || fail "$s messages stored after the stop, $stored_frozen before: a batch Kafka did not acknowledge was committed"
[ "$left_after" -eq 0 ] || fail "the worker wrote $left_after outbox entries to Redis"
ok "stopped in $ms ms with Kafka frozen (shutdown.timeout.ms=3000): $s of $total messages committed, the rest left to the next owner"

# 3. Kafka back: the next start decides the rest again and publishes every
# decision, once per id, each committed once.
kill -CONT "$LADDERTEST_KAFKA_PID"
kafka_frozen=0
"$bin/ladder-worker" >"$work/worker2.log" 2>&1 &
worker=$!
published() { read -r s left <<<"$(demo_stored)"; [ "$s" -eq "$total" ]; }
lt_retry 300 0.2 published || fail "after the restart: $(demo_stored) stored of $total"
kill -TERM "$worker"; wait "$worker"
made2=$(sed -nE "s/.*stopped: [0-9]+ events, ([0-9]+) decisions.*/\1/p" "$work/worker2.log")
[ "${made2:-0}" -gt 0 ] || fail "the restarted worker committed no decisions"
made=$((made + made2))
grep -q "every decided batch is published and committed" "$work/worker2.log" || fail "the clean stop did not say that everything was published"
distinct=$(ids | sort -u | wc -l)
[ "$distinct" -eq "$made" ] || fail "$distinct distinct decisions published, $made committed"
ok "restart committed the rest: $made decisions, $distinct distinct ids published ($(ids | wc -l) messages; duplicates share their ids)"
' "$src" "$bin"
