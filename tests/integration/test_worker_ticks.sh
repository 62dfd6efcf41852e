#!/usr/bin/env bash
# clock.tick.interval.ms: a quiet partition's timers fire because the worker
# writes ClockTicks into the log itself, only into partitions it has fully
# read and whose clock is behind the wall clock. Without ticks the same
# timer never fires.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { tail -5 "$work"/worker*.log; }
# One INNOVATIVE application 30 days ago: its 7-day publicity is long over
# by the wall clock, but nothing else will ever move its partition clock.
/usr/bin/python3 - "$work/one.jsonl" <<"PY"
import json, sys, datetime
import os
sys.path.insert(0, os.path.join(os.environ["LADDERTEST_SRC"], "tests", "support"))
from feedrows import uscc, STRONG as ind
u = uscc("91350200MA2YN5GX7")
t = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
row = dict(kind="application", event_id="t1", uscc=u, enterprise_name="厦门精密传感科技有限公司",
           reporting_unit="3502", tier="INNOVATIVE", batch=1, occurred_at=t, **ind)
open(sys.argv[1], "w").write(json.dumps(row, ensure_ascii=False) + "\n")
PY
types() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%h\n" 2>/dev/null | sed -E "s/.*ce_type=ladder\.decision\.([A-Z_]+).*/\1/" | tr "\n" " "; }
wait_join() { lt_wait_join "$1" || fail "no join"; }

# Without ticks: publicity starts, and the designation never comes.
"$bin/ladder-worker" >"$work/worker1.log" 2>&1 &
worker=$!
wait_join "$work/worker1.log"
"$bin/ladder-feed" "$work/one.jsonl" >/dev/null 2>&1 || fail "ladder-feed"
for _ in $(seq 1 50); do [ -n "$(types)" ] && break; sleep 0.2; done
sleep 2
[ "$(types)" = "PUBLICITY_STARTED " ] || fail "without ticks: [$(types)]"
kill -TERM "$worker"; wait "$worker"
echo "ok - without ticks the publicity of a quiet partition never ends: [$(types)]"

# With ticks every 500 ms: the worker ticks its caught-up partitions and
# the publicity timer fires.
LADDER_CLOCK_TICK_INTERVAL_MS=500 "$bin/ladder-worker" >"$work/worker2.log" 2>&1 &
worker=$!
wait_join "$work/worker2.log"
for _ in $(seq 1 100); do [ "$(types)" = "PUBLICITY_STARTED DESIGNATED " ] && break; sleep 0.2; done
[ "$(types)" = "PUBLICITY_STARTED DESIGNATED " ] || fail "with ticks: [$(types)]"
ticks=$(kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -e -q -f "%k|%S\n" 2>/dev/null | grep -c "^|")
[ "$ticks" -ge 8 ] || fail "expected ticks in every partition, found $ticks unkeyed messages"
kill -TERM "$worker"; wait "$worker"
grep -q "ticks written" "$work/worker2.log" || fail "no tick count"
echo "ok - with clock.tick.interval.ms=500: DESIGNATED after the worker wrote $ticks ticks into the log ($(grep -o "[0-9]* ticks written" "$work/worker2.log"))"
' "$src" "$bin"
