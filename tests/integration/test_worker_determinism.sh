#!/usr/bin/env bash
# Replay determinism (CONTRACT.md: every field but decided_at is
# deterministic, with any number of workers): one small ladder-gen stream is
# produced ONCE; (a) one worker (group A) decides it from an empty Redis;
# (b) Redis is flushed and three workers (group B) decide the same log again.
# Both runs publish to the decisions topic; ladder-decisions reads run A's
# range and then run B's (from A's end offsets). The two sets of decisions,
# keyed by decision_id, must be identical in every field but decided_at, in
# the same order per enterprise, and the final Redis counters equal.
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_scale 0.008 0.003
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
scale=$2
on_fail() { lt_show_logs 15 "$work"/*.log; }
pids=""
cleanup() { [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true; }

counters() {
  local p=0 k
  for k in $(demo_keys counters $(seq 0 $(($(redis-cli -u "$LADDER_REDIS_URL" get "$(demo_keys partitions)") - 1)))); do
    redis-cli -u "$LADDER_REDIS_URL" --raw hgetall "$k" | paste - - | sed "s/^/$p /"
    p=$((p + 1))
  done | awk "\$3 != 0" | sort # a field at 0 exists or not depending on the batches
}

"$bin/ladder-gen" --scale "$scale" --seed 11 --until 2024-06-01T00:00:00Z --out "$work/gen" -q \
  || fail "ladder-gen failed"
"$bin/ladder-feed" "$work"/gen/*.csv >"$work/feed.log" 2>&1 || fail "ladder-feed: $(tail -3 "$work/feed.log")"
total=$(demo_topic_total ladder.events.v1)
echo "ok - one stream produced once: $total input messages (ladder-gen --scale $scale --until 2024-06-01)"

# run NAME GROUP WORKERS START: decides the whole log, reads the decisions
# published from START on into NAME.jsonl.
run() {
  local name=$1 group=$2 n=$3 start=$4 ws="" i
  "$bin/ladder-decisions" ${start:+--start-offsets "$start"} --out "$work/$name.jsonl" 2>"$work/$name-reader.log" &
  local reader=$!
  pids="$pids $reader"
  for i in $(seq 1 "$n"); do
    LADDER_GROUP_ID=$group LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) "$bin/ladder-worker" >"$work/$name-worker$i.log" 2>&1 &
    ws="$ws $!"
  done
  pids="$pids $ws"
  SECONDS=0
  DEMO_PIDS="$reader $ws" demo_wait_caught_up "$total" 30 || fail "run $name: the workers did not catch up"
  local t=$SECONDS
  demo_stop $ws || fail "run $name: a worker did not stop cleanly"
  demo_stop "$reader" || fail "run $name: $(cat "$work/$name-reader.log")"
  for i in $(seq 1 "$n"); do
    grep -q "resuming at offset" "$work/$name-worker$i.log" || fail "run $name: worker $i never owned a partition"
    ! grep -q "are gone" "$work/$name-worker$i.log" || fail "run $name: worker $i lost input"
  done
  echo "ok - run $name: $n worker(s), group $group, decided everything in ${t}s; $(cat "$work/$name-reader.log")"
}

run A A 1 ""
counters >"$work/counters-A"
ends=$("$bin/ladder-decisions" --end-offsets)
redis-cli -u "$LADDER_REDIS_URL" flushall >/dev/null
[ "$(redis-cli -u "$LADDER_REDIS_URL" dbsize)" = 0 ] || fail "Redis is not empty after FLUSHALL"
echo "ok - Redis flushed; run B reads the decisions topic from $ends"
run B B 3 "$ends"
counters >"$work/counters-B"
cmp -s "$work/counters-A" "$work/counters-B" || fail "the Redis counters differ: $(diff "$work/counters-A" "$work/counters-B" | head -10)"
echo "ok - the Redis counters of both runs are equal ($(wc -l <"$work/counters-A") fields)"

/usr/bin/python3 "$src/tools/demo/compare.py" "$work/A.jsonl" "$work/B.jsonl" || fail "the two runs decided differently"
echo "ok - identical decisions with 1 and 3 workers: every field but decided_at, and the order per enterprise"
' "$src" "$bin" "$scale"
