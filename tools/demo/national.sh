#!/usr/bin/env bash
# national.sh GEN_DIR SCALE KEEP -- the national demo, inside
# tests/support/with-stack (tools/quickstart runs it): two ladder-workers
# decide the ladder-gen feed in GEN_DIR while ladder-feed streams it in and
# ladder-decisions reads their decisions; then report.py prints the summary
# and compares with GEN_DIR/expected.json (its exit status is this
# script's). KEEP=1 also starts ladder-api on the demo's Redis and leaves
# everything running until Ctrl-C or SIGTERM.
set -euo pipefail
gen=$1 scale=$2 keep=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LADDERTEST_BIN:-$src/build/bin}
work=$LADDERTEST_STACK_DIR
. "$src/tools/demo/lib.sh"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
pids=""
cleanup() { [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 143' TERM
fail() {
  echo "FAILED: $*" >&2
  for f in "$work"/worker*.log "$work/reader.log" "$work/feed.log"; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }
  done
  exit 1
}

export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
export LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
export LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
parts=$(/usr/bin/python3 -c 'import sys; print(sys.argv[1].count(",") + 1)' \
  "$("$bin/ladder-decisions" --topic ladder.events.v1 --end-offsets)")
echo "    kafka: ladder-kafka, 3 brokers, topics ladder.events.v1, ladder.decisions.v1, ladder.dlq.v1 ($parts partitions each)"
echo "           bootstrap $LADDERTEST_BOOTSTRAP"
echo "    redis: redis-server with AOF on, $LADDERTEST_REDIS_URL"

"$bin/ladder-decisions" --out "$work/decisions.jsonl" 2>"$work/reader.log" &
reader=$!
pids=$reader
ports=()
workers=()
for i in 1 2; do
  ports+=("$(demo_free_port)")
  LADDER_HTTP_LISTEN=127.0.0.1:${ports[-1]} "$bin/ladder-worker" >"$work/worker$i.log" 2>&1 &
  workers+=($!)
  pids="$pids $!"
done
say "started 2 ladder-workers (http on 127.0.0.1:${ports[0]} and 127.0.0.1:${ports[1]}) and the decisions reader"
for _ in $(seq 1 100); do
  grep -q "resuming at offset" "$work/worker1.log" && grep -q "resuming at offset" "$work/worker2.log" && break
  for pid in $pids; do kill -0 "$pid" 2>/dev/null || fail "process $pid exited at start-up"; done
  sleep 0.2
done
echo "    the consumer group gave partitions to both workers (claims so far, rebalances included: worker 1 $(grep -c "resuming at offset" "$work/worker1.log"), worker 2 $(grep -c "resuming at offset" "$work/worker2.log"))"

say "streaming the feed in with ladder-feed while the workers decide"
start=$(date +%s.%N)
"$bin/ladder-feed" "$gen"/*.csv >"$work/feed.log" 2>&1 || fail "ladder-feed: $(tail -3 "$work/feed.log")"
fed=$(date +%s.%N)
echo "    $(tail -1 "$work/feed.log" | sed 's/^ladder-feed: //')"
total=$(demo_topic_total ladder.events.v1)
DEMO_PIDS=$pids demo_wait_caught_up "$total" 60 5 || fail "the workers did not finish"
done_at=$(date +%s.%N)
secs=$(/usr/bin/python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$start" "$done_at")
feed_secs=$(/usr/bin/python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$start" "$fed")
echo "    all $total input messages decided and every decision published ${secs} s after the feed started (the feed itself took ${feed_secs} s)"
kill -TERM "$reader"
wait "$reader" || fail "the decisions reader: $(cat "$work/reader.log")"
pids=${pids#"$reader"}
echo "    $(sed 's/^ladder-decisions: //' "$work/reader.log")"
if grep -h "are gone" "$work"/worker*.log; then fail "the workers lost input to the cluster's retention"; fi
dlq=$(demo_topic_total ladder.dlq.v1)

say "summary (scale $scale)"
rc=0
/usr/bin/python3 "$src/tools/demo/report.py" --decisions "$work/decisions.jsonl" \
  --expected "$gen/expected.json" --redis-url "$LADDER_REDIS_URL" \
  --events "$total" --seconds "$secs" --dead-letters "$dlq" \
  --totals "$work/totals.json" || rc=$?
echo "$rc" >"$gen/report.status" # for tools/quickstart after a Ctrl-C (--keep-running)

if [ "$keep" = 1 ]; then
  # ladder-api on the demo's Redis: 127.0.0.1:8080 unless that is taken.
  api_addr=127.0.0.1:8080
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 8080))' 2>/dev/null \
    || api_addr=127.0.0.1:$(demo_free_port)
  LADDER_HTTP_LISTEN=$api_addr "$bin/ladder-api" >"$work/api.log" 2>&1 &
  api=$!
  pids="$pids $api"
  for _ in $(seq 1 100); do
    curl -sf "http://$api_addr/readyz" >/dev/null && break
    kill -0 "$api" 2>/dev/null || fail "ladder-api exited: $(tail -3 "$work/api.log")"
    sleep 0.1
  done
  say "ladder-api serves the register: dashboard at http://$api_addr/"
  # The API reads the same Redis counters as the summary: say that they agree.
  curl -s "http://$api_addr/v1/stats" >"$work/stats.json"
  /usr/bin/python3 - "$work/totals.json" "$work/stats.json" <<'PY' || true
import json, sys
want = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
act = got["national"]["active"]
same = act == want["active"] == want["active_by_decisions"] and \
    got["little_giant_batches"] == want["little_giant_batches"]
print("    GET /v1/stats: active " + ", ".join(f"{t} {n:,}" for t, n in act.items())
      + (" -- equal to the summary's totals and batch outcomes" if same
         else f" -- DIFFERS from the summary: {want}"))
PY
  say "--keep-running: the stack stays up until Ctrl-C"
  echo "    api               http://$api_addr/  (curl -s http://$api_addr/v1/stats; log $work/api.log)"
  echo "    kafka bootstrap   $LADDERTEST_BOOTSTRAP   (kcat -L -b $LADDERTEST_BOOTSTRAP)"
  echo "    redis             $LADDERTEST_REDIS_URL   (redis-cli -u $LADDERTEST_REDIS_URL)"
  echo "    worker 1          http://127.0.0.1:${ports[0]}/metrics  (pid ${workers[0]})"
  echo "    worker 2          http://127.0.0.1:${ports[1]}/metrics  (pid ${workers[1]})"
  echo "    decisions         $work/decisions.jsonl"
  echo "    generated feed    $gen"
  echo "    logs              $work/worker1.log $work/worker2.log"
  while :; do sleep 1; done # until with-stack stops it (Ctrl-C)
fi
for i in 0 1; do
  wait_rc=0
  demo_stop "${workers[$i]}" || wait_rc=$?
  [ "$wait_rc" -eq 0 ] || fail "worker $((i + 1)) exited with status $wait_rc on SIGTERM"
done
pids=""
echo "    both workers stopped cleanly on SIGTERM: $(grep -h "stopped:" "$work"/worker*.log | sed 's/.*INFO stopped: //' | paste -sd ';' | sed 's/;/; /')"
exit "$rc"
