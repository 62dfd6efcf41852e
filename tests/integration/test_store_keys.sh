#!/usr/bin/env bash
# tests/support/store_keys.py against the store itself: one ladder-worker
# decides a small story on a one-partition stack (a designation, a
# cancellation with its revocation notice, a publicity still running, so
# that every kind of key is written), and afterwards every key
# store_keys.py names for partition 0 (the timers' sorted set and the
# outbox of earlier layouts aside: they must be gone), and the partition count's key,
# exist in Redis, and Redis holds no ldr key that store_keys.py does not
# know (nor any of the layout before the tags were placed).
# A change of the key layout in services/lib/io/store.c that is not made in
# store_keys.py too fails here, before the fault suite and the demo read
# the wrong keys.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
worker=
cleanup() { [ -z "$worker" ] || kill -TERM "$worker" 2>/dev/null || true; }
on_fail() { lt_show_logs 20 "$work/worker.log"; }

/usr/bin/python3 - "$work/story.jsonl" <<"PY"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["LADDERTEST_SRC"], "tests", "support"))
from feedrows import uscc, STRONG as strong
A, C = uscc("91350200MA2YN5GX1"), uscc("91350200MA2YN5GX3")
rows = []
def app(u, t, eid):
    rows.append(dict(kind="application", event_id=eid, uscc=u, enterprise_name="厦门精密传感科技有限公司",
                     reporting_unit="3502", tier="INNOVATIVE", batch=1, occurred_at=t, **strong))
app(A, "2022-03-01T00:00:00Z", "a1")
rows.append(dict(kind="tick", tick_at="2022-03-10T00:00:00Z", source="test"))
rows.append(dict(kind="violation", event_id="a2", uscc=A, reporting_unit="3502", case_id="c1",
                 violation_kind="FALSE_DECLARATION", status="VERIFIED", occurred_at="2022-05-01T00:00:00Z"))
app(C, "2022-06-01T00:00:00Z", "c1")
with open(sys.argv[1], "w") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
PY

"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
DEMO_PIDS=$worker
"$bin/ladder-feed" "$work/story.jsonl" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(cat "$work/feed.log")"
total=$(demo_topic_total ladder.events.v1)
demo_wait_caught_up "$total" 30 || fail "the worker did not decide the $total messages"
kill -TERM "$worker"; wait "$worker" || fail "the worker stopped with status $?"
worker=

/usr/bin/python3 - <<"PY" || fail "the keys of store_keys.py are not the store'"'"'s"
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["LADDERTEST_SRC"], "tests", "support"))
import store_keys

def redis(*args):
    return subprocess.run(["redis-cli", "-u", os.environ["LADDER_REDIS_URL"], "--raw"] + list(args),
                          check=True, capture_output=True, text=True).stdout.split("\n")[:-1]

bad = 0
# The placed tag (store.h): partition 0 aims at slot 0, and "p0.425" is the
# first salt whose slot (2) lies in [0, 16). The names of the old layout, ldr:{p0}:...,
# must not be written any more.
if store_keys.meta(0) != "ldr:{p0.425}:meta" or store_keys.slot(0) != 2:
    print("FAIL: store_keys.py names %s (slot %d), not ldr:{p0.425}:meta (slot 2)"
          % (store_keys.meta(0), store_keys.slot(0)))
    bad += 1
for n in store_keys.NAMES:
    if redis("EXISTS", store_keys.old_key(0, n)) != ["0"]:
        print("FAIL: %s (the layout before placement) was written" % store_keys.old_key(0, n))
        bad += 1
# The timers sorted set and the outbox of earlier layouts are written no
# more (the states hold the timers; a batch is published before it is
# committed): they must be gone.
for k in (store_keys.timers(0), store_keys.outbox(0)):
    if redis("EXISTS", k) != ["0"]:
        print("FAIL: %s was written" % k)
        bad += 1
named = [store_keys.PARTITIONS] + [store_keys.key(0, n) for n in store_keys.NAMES if n not in ("timers", "outbox")]
for k in named:
    if redis("EXISTS", k) != ["1"]:
        print("FAIL: %s is named by store_keys.py but not in Redis" % k)
        bad += 1
for k in sorted(redis("--scan", "--pattern", store_keys.PATTERN)):
    if k not in (store_keys.PARTITIONS, store_keys.REPLAYS) and (store_keys.parse(k) or (0, ""))[1] not in store_keys.NAMES:
        print("FAIL: %s is in Redis but store_keys.py does not know it" % k)
        bad += 1
if not bad:
    print("ok - every key store_keys.py names for partition 0 is in Redis, and no other: %s"
          % ", ".join(named))
sys.exit(1 if bad else 0)
PY
' "$src" "$bin"
