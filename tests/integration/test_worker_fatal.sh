#!/usr/bin/env bash
# A fatal error of the worker's idempotent producer (librdkafka's
# "sequence desynchronization", provoked through ladder-kafka's fault
# injection) is survived: the worker recreates the producer, re-sends the
# outboxes from Redis, and every decision is published, with stable ids.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { tail -8 "$work/worker.log"; }
"$bin/ladder-gen" --scale 0.0005 --seed 11 --single --until 2023-01-01T00:00:00Z --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
# From now on the broker answers the next Produce requests with
# OUT_OF_ORDER_SEQUENCE_NUMBER: fatal for an idempotent producer.
echo "errors Produce 3 OUT_OF_ORDER_SEQUENCE_NUMBER" >"$LADDERTEST_KAFKA_FIFO"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
ids() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%h\n" 2>/dev/null | sed -E "s/.*ce_id=([^,]*),.*/\1/"; }
# Every decision the worker made must reach the topic; the stored offsets
# say when everything was decided, the empty outboxes when it was sent.
total=$(demo_topic_total ladder.events.v1)
for _ in $(seq 1 300); do
  read -r s left <<<"$(demo_stored)"
  [ "$s" -eq "$total" ] && [ "$left" -eq 0 ] && break
  sleep 0.2
done
[ "$s" -eq "$total" ] && [ "$left" -eq 0 ] || fail "decided $s of $total, $left outbox entries left"
grep -q "producer: fatal error" "$work/worker.log" || fail "the injected errors did not make the producer fail"
kill -TERM "$worker"; wait "$worker"
made=$(sed -nE "s/.*stopped: [0-9]+ events, ([0-9]+) decisions.*/\1/p" "$work/worker.log")
recreated=$(sed -nE "s/.* ([0-9]+) producers recreated.*/\1/p" "$work/worker.log")
[ "${recreated:-0}" -ge 1 ] || fail "no producer was recreated"
published=$(ids | sort -u | wc -l)
[ "$published" -eq "$made" ] || fail "$published distinct decisions published, $made made"
echo "ok - fatal producer error: recreated $recreated time(s); all $made decisions published ($(ids | wc -l) messages, duplicates share their ids)"
' "$src" "$bin"
