#!/usr/bin/env bash
# Life stories (issue 5, item 6): thirteen scripted enterprises that together
# cover every row of POLICY.md's state machine table, run end to end through
# ladder-feed, one ladder-worker, Kafka and Redis. For each enterprise the
# exact sequence of decisions (type, tier, reasons, batch, score, policy
# version, validity dates, review deadline, ban, case, effective time and
# cause) is read back from the decisions topic with ladder-decisions, and
# its final state is checked in Redis: the state counters of its own
# reporting unit, its timers with their due times and the little-giant
# outcome counters of its own batch. Also: one revocation notice per
# REVOKED/CANCELLED/EXPIRED, the re-sent rows counted as duplicates, no dead
# letter, unique decision ids. stories.py writes the feed and the
# expectations and compares.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
worker=
on_fail() { lt_show_logs 40 "$work/worker.log"; }
cleanup() { [ -z "$worker" ] || kill -TERM "$worker" 2>/dev/null || true; }

want=$(/usr/bin/python3 "$src/tests/integration/stories.py" gen "$work") || fail "stories.py gen"
echo "# $(wc -l <"$work/feed.jsonl") feed rows, $want decisions expected"

"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
"$bin/ladder-feed" "$work/feed.jsonl" >"$work/feed.log" 2>&1 \
  || fail "ladder-feed: $(cat "$work/feed.log")"
# Out-of-order rows (the late events) are expected and reported; nothing
# may be rejected.
grep -v "out of order" "$work/feed.log" | grep -q ":[0-9]*: " \
  && fail "ladder-feed rejected rows: $(cat "$work/feed.log")"

# Read until the expected count arrived and nothing more came for 2 s.
timeout 40 "$bin/ladder-decisions" --count "$want" --idle-ms 2000 \
  --out "$work/decisions.jsonl" 2>"$work/reader.log" \
  || fail "ladder-decisions: got $(wc -l <"$work/decisions.jsonl" 2>/dev/null) of $want decisions: $(cat "$work/reader.log")"
got=$(wc -l <"$work/decisions.jsonl")
echo "# $got decisions read back"

rc=0
/usr/bin/python3 "$src/tests/integration/stories.py" check "$work" "$LADDERTEST_REDIS_URL" 8 || rc=1
[ "$got" -eq "$want" ] || { echo "FAIL - $got decisions on the topic, want $want"; rc=1; }
[ "$(redis-cli -u "$LADDERTEST_REDIS_URL" get "$(demo_keys partitions)")" = 8 ] || { echo "FAIL - ldr:partitions"; rc=1; }
# Every REVOKED, CANCELLED and EXPIRED is a revocation notice.
notices=0
for k in $(demo_keys notices $(seq 0 7)); do
  notices=$((notices + $(redis-cli -u "$LADDERTEST_REDIS_URL" xlen "$k")))
done
if [ "$notices" -eq "$(cat "$work/notices")" ]; then echo "ok - $notices revocation notices in the notices streams"
else echo "FAIL - $notices revocation notices, want $(cat "$work/notices")"; rc=1; fi
# The re-sent rows were counted as duplicates, and nothing was a dead letter.
dups=$(curl -s "http://$LADDER_HTTP_LISTEN/metrics" | awk "/^ladder_worker_duplicates_total/ {print \$2}")
if [ "${dups:-0}" = "$(cat "$work/duplicates")" ]; then echo "ok - $dups duplicates counted"
else echo "FAIL - ladder_worker_duplicates_total [$dups], want $(cat "$work/duplicates")"; rc=1; fi
dlq=$(kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.dlq.v1 -e -q -f "%h\n" 2>/dev/null | wc -l)
if [ "$dlq" -eq 0 ]; then echo "ok - no dead letters"; else echo "FAIL - $dlq dead letters"; rc=1; fi

kill -TERM "$worker"
set +e; wait "$worker"; wrc=$?; set -e
worker=
[ "$wrc" -eq 0 ] || { echo "FAIL - worker exit status $wrc"; rc=1; }
[ "$rc" -eq 0 ] || { echo "--- worker log (last 20 lines)"; tail -n 20 "$work/worker.log"; }
exit "$rc"
' "$src" "$bin"
