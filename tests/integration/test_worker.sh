#!/usr/bin/env bash
# ladder-worker end to end against the embedded Kafka cluster and a private
# Redis: a scripted story through ladder-feed, the exact decisions per
# enterprise read back from the decisions topic, a poison message in the
# DLQ with its headers, the outbox trimmed, no decision published twice
# after a restart, and a clean stop on SIGTERM.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs all "$work"/worker*.log; }
export LADDER_LOG_LEVEL=debug

/usr/bin/python3 - "$work/story.jsonl" <<"PY"
import json, sys
import os
sys.path.insert(0, os.path.join(os.environ["LADDERTEST_SRC"], "tests", "support"))
from feedrows import uscc, STRONG as strong, WEAK as weak
A, B = uscc("91350200MA2YN5GX1"), uscc("91350200MA2YN5GX2")
rows = []
def app(u, tier, t, ind, eid):
    rows.append(dict(kind="application", event_id=eid, uscc=u, enterprise_name="厦门精密传感科技有限公司",
                     reporting_unit="3502", tier=tier, batch=1, occurred_at=t, **ind))
def vio(u, status, case, t, eid):
    rows.append(dict(kind="violation", event_id=eid, uscc=u, reporting_unit="3502", case_id=case,
                     violation_kind="FALSE_DECLARATION", status=status, occurred_at=t))
def tick(t):
    rows.append(dict(kind="tick", tick_at=t, source="test"))
app(A, "INNOVATIVE", "2022-03-01T00:00:00Z", strong, "a1")
app(B, "INNOVATIVE", "2022-03-02T00:00:00Z", weak, "b1")
tick("2022-03-10T00:00:00Z")
app(A, "SPECIALIZED", "2022-03-12T00:00:00Z", strong, "a2")
vio(A, "REPORTED", "c1", "2022-03-13T00:00:00Z", "a3")
tick("2022-03-25T00:00:00Z")
vio(A, "DISMISSED", "c1", "2022-04-01T00:00:00Z", "a4")
vio(B, "VERIFIED", "c9", "2022-04-02T00:00:00Z", "b2")
vio(A, "VERIFIED", "c2", "2022-05-01T00:00:00Z", "a5")
app(A, "INNOVATIVE", "2022-06-01T00:00:00Z", strong, "a6")
app(A, "INNOVATIVE", "2022-06-01T00:00:00Z", strong, "a6")  # a duplicate event id
with open(sys.argv[1], "w") as f:
    for r in rows: f.write(json.dumps(r, ensure_ascii=False) + "\n")
open(sys.argv[1] + ".usccs", "w").write(A + " " + B + "\n")
PY
read -r A B <"$work/story.jsonl.usccs"

"$bin/ladder-worker" >"$work/worker1.log" 2>&1 &
worker=$!
"$bin/ladder-feed" "$work/story.jsonl" >/dev/null 2>&1 || fail "ladder-feed failed"
# A poison message: not Avro at all.
printf "not avro at all" | kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -k "$A" 2>/dev/null

decisions() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%k %h\n" 2>/dev/null; }
for _ in $(seq 1 150); do
  [ "$(decisions | wc -l)" -ge 12 ] && break; sleep 0.2
done
seq_of() { decisions | awk -v k="$1" "\$1 == k" | sed -E "s/.*ce_type=ladder\.decision\.([A-Z_]+).*/\1/" | tr "\n" " "; }
want_a="PUBLICITY_STARTED DESIGNATED PUBLICITY_STARTED INVESTIGATION_OPENED INVESTIGATION_CLEARED DESIGNATED VIOLATION_CONFIRMED CANCELLED CANCELLED REFUSED "
want_b="REJECTED VIOLATION_CONFIRMED "
[ "$(seq_of "$A")" = "$want_a" ] || fail "enterprise A: got [$(seq_of "$A")] want [$want_a]"
echo "ok - enterprise A: $want_a"
[ "$(seq_of "$B")" = "$want_b" ] || fail "enterprise B: got [$(seq_of "$B")] want [$want_b]"
echo "ok - enterprise B: $want_b"
# Every decision carries the CloudEvents headers.
[ "$(decisions | grep -c "ce_specversion=1.0,ce_id=[0-9]*-[0-9]*-[0-9]*,ce_type=ladder.decision.[A-Z_]*,ce_source=ladder/3502,ce_time=20[0-9-]*T[0-9:.]*Z,content-type=application/avro")" -eq 12 ] \
  || fail "headers: $(decisions | head -3)"
echo "ok - CloudEvents headers on all 12 decisions"

# The poison message is a dead letter with its headers and bytes intact.
for _ in $(seq 1 50); do
  dlq=$(kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.dlq.v1 -e -q -f "%s|%h\n" 2>/dev/null)
  [ -n "$dlq" ] && break; sleep 0.2
done
echo "$dlq" | grep -q "^not avro at all|ladder.error.code=BAD_FRAMING,ladder.error.message=.*,ladder.source.topic=ladder.events.v1,ladder.source.partition=0,ladder.source.offset=[0-9]*$" \
  || fail "dead letter: [$dlq]"
echo "ok - dead letter: $dlq"

# Everything published: the outboxes are empty.
outboxes=$(demo_keys outbox $(seq 0 7))
for _ in $(seq 1 50); do
  left=0
  for k in $outboxes; do left=$((left + $(redis-cli -u "$LADDERTEST_REDIS_URL" xlen "$k"))); done
  [ "$left" -eq 0 ] && break; sleep 0.2
done
[ "$left" -eq 0 ] || fail "$left outbox entries left"
echo "ok - outboxes trimmed after delivery"

# SIGTERM: a clean stop within 10 s.
SECONDS=0
kill -TERM "$worker"
set +e; wait "$worker"; rc=$?; set -e
[ "$rc" -eq 0 ] && [ "$SECONDS" -le 10 ] || fail "SIGTERM: status $rc after ${SECONDS}s"
echo "ok - SIGTERM: exit 0 after ${SECONDS}s"

# A restarted worker resumes at the stored offsets: nothing is decided or
# published twice; a new event is decided once.
"$bin/ladder-worker" >"$work/worker2.log" 2>&1 &
worker=$!
lt_wait_join "$work/worker2.log" || true
printf "{\"kind\":\"tick\",\"tick_at\":\"2022-07-01T00:00:00Z\",\"source\":\"test\"}\n" >"$work/more.jsonl"
"$bin/ladder-feed" "$work/more.jsonl" >/dev/null 2>&1 || fail "ladder-feed (2) failed"
sleep 3
[ "$(decisions | wc -l)" -eq 12 ] || fail "after restart: $(decisions | wc -l) decisions, want 12"
grep -q "partition [0-9]*: owner epoch 2, [1-9][0-9]* enterprises, resuming at offset [0-9]" "$work/worker2.log" \
  || fail "the restarted worker did not reload its state and resume at a stored offset"
kill -TERM "$worker"; wait "$worker"
echo "ok - restart: resumed at the stored offsets, no decision published twice"
' "$src" "$bin"
