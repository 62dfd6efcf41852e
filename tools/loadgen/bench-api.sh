#!/usr/bin/env bash
# tools/loadgen/bench-api.sh -- ladder-api's benchmark (docs/BENCHMARKS.md,
# "ladder-api").
#
# Usage: tools/loadgen/bench-api.sh [--scale S] [--rate N] [--duration S]
#                                   [--connections N] [--paths N] [--nice N]
#
# Builds a national-scale register the way the demo does: ladder-gen
# --scale S --seed 1 (default 1, the national register), streamed with
# ladder-feed through two ladder-workers into a private redis-server
# (tests/support/with-stack, the embedded Kafka sized for the stream).
# Then starts ladder-api on that Redis and offers GET
# /v1/enterprises/{uscc} with ladder-loadgen at --rate requests/s (default
# 2000) for --duration seconds (default 60, after 10 s of warm-up) over
# --connections keep-alive connections (default 8), cycling through --paths
# USCCs (default 20000) drawn at random (seed 1) from the feed. Prints the
# register's size, the machine's load, ladder-loadgen's figures and the
# API's own latency histogram. With --nice N (e.g. -10, as root), ladder-api,
# its redis-server and ladder-loadgen run at that niceness during the
# measurement: on a machine shared with other work, that approximates one
# reserved for the API. Everything is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
scale=1 rate=2000 duration=60 conns=8 npaths=20000 nice=
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --paths) npaths=$2; shift 2 ;;
    --nice) nice=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-api: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin=build/bin
for p in ladder-gen ladder-feed ladder-worker ladder-api ladder-loadgen ladder-kafka; do
  [ -x "$bin/$p" ] || { echo "bench-api: $bin/$p is missing: build first" >&2; exit 2; }
done
gen=$(mktemp -d "${TMPDIR:-/tmp}/ladder-bench-api.XXXXXX")
trap 'rm -rf "$gen"' EXIT
echo "==> ladder-gen --scale $scale --seed 1"
"$bin/ladder-gen" --scale "$scale" --seed 1 --out "$gen/feed" 2>&1 | sed 's/^/    /'
events=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["events"]["total"])' "$gen/feed/expected.json")
# As tools/quickstart: the input topic holds the whole feed within the
# embedded cluster's 5 MiB per partition.
partitions=$(( (events * 250 + 3 * 1048576 - 1) / (3 * 1048576) ))
[ "$partitions" -ge 8 ] || partitions=8
partitions=$(( (partitions + 7) / 8 * 8 ))
/usr/bin/python3 - "$gen/feed" "$npaths" >"$gen/paths" <<'PY'
import csv, glob, random, sys
usccs = set()
for f in glob.glob(sys.argv[1] + "/*.csv"):
    with open(f, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("uscc"):
                usccs.add(row["uscc"])
usccs = sorted(usccs)
random.Random(1).shuffle(usccs)
for u in usccs[:int(sys.argv[2])]:
    print("/v1/enterprises/" + u)
PY
echo "==> $events events, $partitions partitions; $(wc -l <"$gen/paths") USCCs to ask for"

tests/support/with-stack --partitions "$partitions" bash -c '
set -euo pipefail
bin=$0 gen=$1 rate=$2 duration=$3 conns=$4 nice=$5
work=$LADDERTEST_STACK_DIR
. tools/demo/lib.sh
pids=
trap "kill -TERM \$pids 2>/dev/null || true" EXIT
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
export LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
export LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
for i in 1 2; do
  LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) "$bin/ladder-worker" >"$work/worker$i.log" 2>&1 &
  pids="$pids $!"
done
echo "==> streaming the feed through two ladder-workers"
start=$SECONDS
"$bin/ladder-feed" "$gen"/feed/*.csv >"$work/feed.log" 2>&1 || { tail -3 "$work/feed.log"; exit 1; }
DEMO_PIDS=$pids demo_wait_caught_up "$(demo_topic_total ladder.events.v1)" 120 30
echo "    decided in $((SECONDS - start)) s"
ents=0
nparts=$(redis-cli -u "$LADDER_REDIS_URL" get "$(/usr/bin/python3 tests/support/store_keys.py partitions)")
for key in $(/usr/bin/python3 tests/support/store_keys.py ent $(seq 0 $((nparts - 1)))); do
  ents=$((ents + $(redis-cli -u "$LADDER_REDIS_URL" hlen "$key")))
done
echo "    the register: $ents enterprises; redis used_memory $(redis-cli -u "$LADDER_REDIS_URL" info memory | sed -n "s/^used_memory_human:\(.*\)\r$/\1/p")"
kill -TERM $pids; wait $pids || true; pids=
# An AOF rewrite that the feed started would compete with the API for the
# CPU and the disk: let it finish first.
t0=$SECONDS
while redis-cli -u "$LADDER_REDIS_URL" info persistence | grep -qE "^aof_rewrite_(in_progress|scheduled):1"; do sleep 0.5; done
echo "    no AOF rewrite in progress (waited $((SECONDS - t0)) s)"
api_addr=127.0.0.1:$(demo_free_port)
LADDER_HTTP_LISTEN=$api_addr "$bin/ladder-api" >"$work/api.log" 2>&1 &
pids=$!
for _ in $(seq 1 100); do curl -sf "http://$api_addr/readyz" >/dev/null && break; sleep 0.1; done
run=()
if [ -n "$nice" ]; then
  renice -n "$nice" -p "$pids" "$LADDERTEST_REDIS_PID" >/dev/null
  for t in /proc/$pids/task/* /proc/$LADDERTEST_REDIS_PID/task/*; do renice -n "$nice" -p "${t##*/}" >/dev/null; done
  run=(nice -n "$nice")
  echo "    ladder-api, redis-server and ladder-loadgen at niceness $nice"
fi
echo "==> ladder-loadgen: $rate requests/s, $conns connections, 10 s warm-up + $duration s (workers stopped; load average $(cut -d" " -f1-3 /proc/loadavg))"
LADDER_HTTP_LISTEN=$api_addr "${run[@]}" "$bin/ladder-loadgen" --paths "$gen/paths" --rate "$rate" \
  --duration "$duration" --warmup 10 --connections "$conns"
echo "    load average after: $(cut -d" " -f1-3 /proc/loadavg); $(nproc) cores"
echo "==> ladder-api'"'"'s own histogram of the time to build an answer (GET /v1/enterprises/{uscc}):"
curl -s "http://$api_addr/metrics" | grep "ladder_api_request_seconds.*enterprises" | sed "s/^/    /"
' "$bin" "$gen" "$rate" "$duration" "$conns" "$nice"
