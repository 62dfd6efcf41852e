#!/usr/bin/env bash
# ladder-worker's health and metrics on http.listen, end to end against the
# embedded Kafka cluster and a private Redis: /livez, /readyz before and
# after the group join, /metrics after a small story with a duplicate event
# and a poison message (exact counter values), 404 and 405, a second worker
# given the same http.listen refused at start-up (exit 2, naming
# http.listen) without disturbing the first, and the server gone after
# SIGTERM.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs all "$work"/worker*.log; }

worker=""
for attempt in 1 2 3; do
  port=$(demo_free_port)
  export LADDER_HTTP_LISTEN=127.0.0.1:$port
  "$bin/ladder-worker" >"$work/worker1.log" 2>&1 &
  worker=$!
  lt_wait_http "http://127.0.0.1:$port/livez" "$worker" 100 || true
  kill -0 "$worker" 2>/dev/null && break
  wait "$worker" || true
  grep -q "http.listen" "$work/worker1.log" || fail "the worker did not start"
done
url=http://127.0.0.1:$port
grep -q "serving /livez, /readyz and /metrics on 127.0.0.1:$port (port $port)" "$work/worker1.log" \
  || fail "no log line naming the address"

# Liveness at once; readiness only once the partitions are assigned and
# their lag is known (the join takes a moment: the first answer is 503).
[ "$(curl -s -w " %{http_code}" "$url/livez")" = "{\"live\":true} 200" ] \
  || fail "/livez: $(curl -s -i "$url/livez")"
first=$(curl -s -w " %{http_code}" "$url/readyz")
case "$first" in
  "not ready: "*" 503") ;;
  *) fail "/readyz before the join: [$first]" ;;
esac
curl -s "$url/metrics" | grep -x "ladder_ready 0" >/dev/null || fail "ladder_ready is not 0 before the join"
echo "ok - /livez 200 at start; /readyz 503 before the join: ${first% 503}"
lt_wait_ready "$url/readyz" 200 0.1 || true
[ "$(curl -s "$url/readyz")" = ready ] || fail "/readyz: $(curl -s -i "$url/readyz")"
curl -s "$url/metrics" | grep -x "ladder_ready 1" >/dev/null || fail "ladder_ready is not 1 once ready: $(curl -s "$url/metrics" | grep ladder_ready)"
echo "ok - /readyz 200 once the partitions are assigned, and ladder_ready 1"

/usr/bin/python3 - "$work/story.jsonl" <<"PY"
import json, sys
import os
sys.path.insert(0, os.path.join(os.environ["LADDERTEST_SRC"], "tests", "support"))
from feedrows import uscc, STRONG as strong, WEAK as weak
A, B = uscc("91350200MA2YN5GX1"), uscc("91350200MA2YN5GX2")
rows = []
def app(u, t, ind, eid):
    rows.append(dict(kind="application", event_id=eid, uscc=u, enterprise_name="厦门精密传感科技有限公司",
                     reporting_unit="3502", tier="INNOVATIVE", batch=1, occurred_at=t, **ind))
app(A, "2022-03-01T00:00:00Z", strong, "a1")
app(B, "2022-03-02T00:00:00Z", weak, "b1")
app(B, "2022-03-02T00:00:00Z", weak, "b1")  # a duplicate event id
rows.append(dict(kind="tick", tick_at="2022-03-10T00:00:00Z", source="test"))
with open(sys.argv[1], "w") as f:
    for r in rows: f.write(json.dumps(r, ensure_ascii=False) + "\n")
open(sys.argv[1] + ".usccs", "w").write(A + "\n")
PY
read -r A <"$work/story.jsonl.usccs"
"$bin/ladder-feed" "$work/story.jsonl" >/dev/null 2>&1 || fail "ladder-feed failed"
printf "not avro at all" | kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -k "$A" 2>/dev/null

# A: PUBLICITY_STARTED, then DESIGNATED when the tick ends the publicity;
# B: REJECTED, and its second application is a duplicate.
metric() { curl -s "$url/metrics" | awk -v k="$1" "\$1 == k { print \$2 }"; }
for _ in $(seq 1 150); do
  [ "$(metric "ladder_worker_decision_latency_seconds_count")" = 3 ] \
    && [ "$(metric "ladder_worker_unacknowledged_batches")" = 0 ] && break
  sleep 0.1
done
curl -s "$url/metrics" >"$work/metrics.txt"
expect() {
  got=$(awk -v k="$1" "\$1 == k { print \$2 }" "$work/metrics.txt")
  [ "$got" = "$2" ] || fail "$1 is [$got], want $2; /metrics: $(cat "$work/metrics.txt")"
}
expect "ladder_worker_dead_letters_total{code=\"BAD_FRAMING\"}" 1
expect "ladder_worker_dead_letters_total{code=\"WRONG_PARTITION\"}" 0
expect "ladder_worker_events_total{kind=\"undecoded\",outcome=\"dead_letter\"}" 1
expect "ladder_worker_events_total{kind=\"application\",outcome=\"applied\"}" 2
expect "ladder_worker_events_total{kind=\"application\",outcome=\"duplicate\"}" 1
expect "ladder_worker_duplicates_total" 1
expect "ladder_worker_decisions_total{type=\"PUBLICITY_STARTED\"}" 1
expect "ladder_worker_decisions_total{type=\"DESIGNATED\"}" 1
expect "ladder_worker_decisions_total{type=\"REJECTED\"}" 1
expect "ladder_worker_decisions_total{type=\"REVOKED\"}" 0
expect "ladder_worker_decision_latency_seconds_count" 3
expect "ladder_worker_decision_latency_seconds_bucket{le=\"+Inf\"}" 3
expect "ladder_worker_unacknowledged_batches" 0
expect "ladder_worker_partitions_assigned" 8
expect "ladder_worker_redis_errors_total" 0
expect "ladder_worker_redis_retries_total" 0
expect "ladder_worker_fenced_batches_total" 0
echo "ok - counters: 1 BAD_FRAMING dead letter, 2 applied + 1 duplicate application, decisions 1 PUBLICITY_STARTED 1 DESIGNATED 1 REJECTED, 3 latencies, backlog 0"
ticks=$(awk "\$1 == \"ladder_worker_events_total{kind=\\\"tick\\\",outcome=\\\"applied\\\"}\" { print \$2 }" "$work/metrics.txt")
[ "${ticks:-0}" -ge 1 ] || fail "no tick counted"
batches=$(awk "\$1 == \"ladder_worker_batch_duration_seconds_count\" { print \$2 }" "$work/metrics.txt")
[ "${batches:-0}" -ge 1 ] || fail "no batch duration observed"
[ "$(grep -c "^ladder_worker_partition_lag{partition=\"[0-7]\"} 0$" "$work/metrics.txt")" -eq 8 ] \
  || fail "lag: $(grep partition_lag "$work/metrics.txt")"
echo "ok - $ticks ticks applied, $batches batch durations, lag 0 on all 8 partitions"
for family in events_total:counter decisions_total:counter dead_letters_total:counter \
    duplicates_total:counter batch_duration_seconds:histogram \
    decision_latency_seconds:histogram partition_lag:gauge unacknowledged_batches:gauge \
    partitions_assigned:gauge redis_errors_total:counter redis_retries_total:counter \
    fenced_batches_total:counter; do
  grep -q "^# HELP ladder_worker_${family%%:*} ." "$work/metrics.txt" || fail "no HELP for $family"
  grep -qx "# TYPE ladder_worker_${family%%:*} ${family#*:}" "$work/metrics.txt" || fail "no TYPE for $family"
done
curl -s -D "$work/headers.txt" -o /dev/null "$url/metrics"
grep -qi "^Content-Type: text/plain; version=0.0.4; charset=utf-8" "$work/headers.txt" \
  || fail "content type: $(cat "$work/headers.txt")"
echo "ok - 12 metric families with HELP and TYPE, served as text/plain version 0.0.4"

[ "$(curl -s -o /dev/null -w "%{http_code}" "$url/nope")" = 404 ] || fail "/nope is not 404"
[ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$url/metrics")" = 405 ] || fail "POST /metrics is not 405"
echo "ok - 404 for an unknown path, 405 for POST"

# A second worker on the same address stops at start-up, before it joins
# the group: the first keeps all its partitions.
SECONDS=0
set +e; "$bin/ladder-worker" >"$work/second.out" 2>"$work/second.err"; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "second worker: status $rc, want 2: $(cat "$work/second.err")"
grep -qx "ladder-worker: http.listen: \"127.0.0.1:$port\": cannot bind: Address already in use .*" "$work/second.err" \
  || fail "second worker said: $(cat "$work/second.err")"
[ "$SECONDS" -le 5 ] || fail "second worker took ${SECONDS}s to fail"
sleep 1
[ "$(metric ladder_worker_partitions_assigned)" = 8 ] || fail "the first worker lost partitions"
[ "$(curl -s "$url/readyz")" = ready ] || fail "the first worker is not ready any more"
echo "ok - a second worker on 127.0.0.1:$port: exit 2, $(cat "$work/second.err")"

# SIGTERM: a clean stop within 10 s, and the port is closed.
SECONDS=0
kill -TERM "$worker"
set +e; wait "$worker"; rc=$?; set -e
[ "$rc" -eq 0 ] && [ "$SECONDS" -le 10 ] || fail "SIGTERM: status $rc after ${SECONDS}s"
if curl -s -o /dev/null "$url/livez"; then fail "still answering after exit"; fi
echo "ok - SIGTERM: exit 0 after ${SECONDS}s, the server is gone"
' "$src" "$bin"
