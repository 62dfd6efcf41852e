#!/usr/bin/env bash
# ladder-worker on a generated stream: a small ladder-gen history (up to
# 2024, so the first little-giant reviews happen) fed with ladder-feed
# while one worker decides and ladder-decisions reads the decisions topic
# (the embedded cluster keeps only about 5 MiB per partition). The decided
# little giants per batch (designated, renewed, revoked for a failed review
# or for no review, cancelled), their first reviews and the tier totals
# must agree with expected.json within max(2%, 2 enterprises), every
# difference listed; the Redis counters lg:B:OUTCOME must equal the
# decisions; nothing may be lost, dead-lettered or undecodable.
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_scale 0.01 0.003
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
scale=$2
on_fail() { lt_show_logs 20 "$work"/worker.log "$work"/reader.log; }

"$bin/ladder-gen" --scale "$scale" --seed 7 --until 2024-01-01T00:00:00Z --out "$work/gen" -q \
  || fail "ladder-gen failed"
events=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"events\"][\"total\"])" "$work/gen/expected.json")
echo "ok - ladder-gen --scale $scale --until 2024-01-01: $events events"

"$bin/ladder-decisions" --out "$work/decisions.jsonl" 2>"$work/reader.log" &
reader=$!
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
trap "kill -TERM $reader $worker 2>/dev/null || true" EXIT
SECONDS=0
"$bin/ladder-feed" "$work"/gen/*.csv >"$work/feed.log" 2>&1 || fail "ladder-feed: $(tail -3 "$work/feed.log")"
total=$(demo_topic_total ladder.events.v1)
echo "ok - ladder-feed: $total input messages (the events and one tick per partition for each tick row)"
DEMO_PIDS="$reader $worker" demo_wait_caught_up "$total" 30 || fail "the worker did not catch up"
echo "ok - the worker decided every message and published its outbox in ${SECONDS}s"
demo_stop "$reader" || fail "ladder-decisions: $(cat "$work/reader.log")"
echo "ok - $(cat "$work/reader.log")"
demo_stop "$worker" || fail "the worker did not stop cleanly"
! grep -q "are gone" "$work/worker.log" || fail "the worker lost input: $(grep "are gone" "$work/worker.log")"
dlq=$(demo_topic_total ladder.dlq.v1)

/usr/bin/python3 "$src/tools/demo/report.py" --brief --decisions "$work/decisions.jsonl" \
  --expected "$work/gen/expected.json" --redis-url "$LADDER_REDIS_URL" --dead-letters "$dlq" \
  || fail "the decisions disagree with expected.json (see above)"
echo "ok - the decisions agree with expected.json and with the Redis counters"
' "$src" "$bin" "$scale"
