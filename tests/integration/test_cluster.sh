#!/usr/bin/env bash
# ladder on a real Redis Cluster (docs/REDIS-CLUSTER.md): the worker's life
# stories (test_worker_stories.sh, stories.py) run twice, once on one
# redis-server (tests/support/with-stack) and once on a private 6-node Redis
# Cluster, 3 masters and 3 replicas (tests/support/with-cluster), with
# LADDER_REDIS_URL the cluster's seed list. On the cluster: every story's
# decisions and final state are exact, every partition's keys sit on the
# master of its slot and the partitions cover all 3 masters, and ladder-api
# answers /v1/stats, /v1/notices and an enterprise exactly as it does on
# one Redis, and ladder-roundtrip, run next to the worker, stores and reads
# back its tallies on the master of their slot. Also: redis.cluster=on on a
# plain server and rediss:// are one-line start-up errors that never show
# the password.
set -euo pipefail
src=${LADDERTEST_SRC:?}
bin=${LADDERTEST_BIN:?}
out=$(mktemp -d "${TMPDIR:-/tmp}/ladder-cluster-test.XXXXXX")
trap 'rm -rf "$out"' EXIT

run='
set -euo pipefail
src=$0; bin=$1; mode=$2; out=$3
work=$LADDERTEST_STACK_DIR
worker=; api=
fail() {
  echo "FAIL ($mode): $*"
  echo "--- worker log (last 30 lines)"; tail -n 30 "$work/worker.log" 2>/dev/null || true
  [ -n "$worker" ] && kill -TERM "$worker" 2>/dev/null
  [ -n "$api" ] && kill -TERM "$api" 2>/dev/null
  exit 1
}
if [ "$mode" = cluster ]; then
  # stories.py reads Redis with `redis-cli -u URL`: a shim turns the seed
  # list into its first node and follows the cluster redirections (-c).
  mkdir -p "$work/shim"
  cat >"$work/shim/redis-cli" <<"SHIM"
#!/usr/bin/env bash
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = -u ]; then
    first=${2#redis://}; first=${first%%,*}; first=${first%%/*}
    args+=(-c -h "${first%:*}" -p "${first##*:}"); shift 2
  else args+=("$1"); shift; fi
done
exec /usr/bin/redis-cli "${args[@]}"
SHIM
  chmod +x "$work/shim/redis-cli"
  export PATH=$work/shim:$PATH
fi
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
export LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
export LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
cd "$src"
keys() { /usr/bin/python3 "$src/tests/support/store_keys.py" "$@"; }

want=$(/usr/bin/python3 "$src/tests/integration/stories.py" gen "$work") || fail "stories.py gen"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
"$bin/ladder-feed" "$work/feed.jsonl" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(cat "$work/feed.log")"
timeout 40 "$bin/ladder-decisions" --count "$want" --idle-ms 2000 \
  --out "$work/decisions.jsonl" 2>"$work/reader.log" \
  || fail "ladder-decisions: got $(wc -l <"$work/decisions.jsonl" 2>/dev/null) of $want decisions: $(cat "$work/reader.log")"
got=$(wc -l <"$work/decisions.jsonl")
rc=0
/usr/bin/python3 "$src/tests/integration/stories.py" check "$work" "$LADDERTEST_REDIS_URL" 8 \
  | sed "s/^/[$mode] /" >"$work/check.out" || rc=1
grep -c "^\[$mode\] ok" "$work/check.out" | sed "s/^/# $mode: stories ok: /"
grep "FAIL" "$work/check.out" || true
[ "$got" -eq "$want" ] && echo "ok - $mode: $got decisions on the topic" || { echo "FAIL - $mode: $got decisions, want $want"; rc=1; }
notices=0
for k in $(keys notices $(seq 0 7)); do
  notices=$((notices + $(redis-cli -u "$LADDERTEST_REDIS_URL" xlen "$k")))
done
[ "$notices" -eq "$(cat "$work/notices")" ] && echo "ok - $mode: $notices revocation notices" \
  || { echo "FAIL - $mode: $notices notices, want $(cat "$work/notices")"; rc=1; }

if [ "$mode" = cluster ]; then
  # Each partition'"'"'s keys are on the master that owns their slot, and the
  # 8 partitions cover all 3 masters.
  masters=""
  for port in $LADDERTEST_CLUSTER_PORTS; do
    [ "$(/usr/bin/redis-cli -p "$port" role | head -n1)" = master ] && masters="$masters $port"
  done
  used=0
  for port in $masters; do
    mine=""
    for p in $(seq 0 7); do
      s=$(/usr/bin/redis-cli -p "$port" cluster keyslot "$(keys meta "$p")")
      n=$(/usr/bin/redis-cli -p "$port" cluster countkeysinslot "$s")
      # Only the owner counts keys in a slot; meta exists once claimed.
      [ "$n" -ge 1 ] && mine="$mine p$p"
    done
    echo "# master $port holds partitions:${mine:- none}"
    [ -n "$mine" ] && used=$((used + 1))
  done
  total=0
  for k in $(keys meta $(seq 0 7)); do
    total=$((total + $(redis-cli -u "$LADDERTEST_REDIS_URL" exists "$k")))
  done
  [ "$used" -eq 3 ] && echo "ok - the partitions are spread over all 3 masters" || { echo "FAIL - partitions on $used of 3 masters"; rc=1; }
  [ "$total" -eq 8 ] && echo "ok - every partition'"'"'s meta is on its master" || { echo "FAIL - $total of 8 partitions'"'"' meta keys"; rc=1; }
fi

# ladder-api on the same Redis.
port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
base=http://127.0.0.1:$port
LADDER_HTTP_LISTEN=127.0.0.1:$port "$bin/ladder-api" >"$work/api.log" 2>&1 &
api=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/v1/stats" >"$out/stats-$mode.json" || fail "/v1/stats: $(cat "$work/api.log")"
curl -sf "$base/v1/notices" >"$out/notices-$mode.json" || fail "/v1/notices"
uscc=$(python3 -c "import json, sys; print(min(json.loads(l)[\"uscc\"] for l in open(sys.argv[1])))" "$work/decisions.jsonl")
curl -sf "$base/v1/enterprises/$uscc" >"$out/enterprise-$mode.json" || fail "/v1/enterprises/$uscc"
kill -TERM "$api"; wait "$api" || { echo "FAIL - $mode: ladder-api exit status"; rc=1; }
api=

if [ "$mode" = cluster ]; then
  # ladder-roundtrip next to the worker, on the seed list. Its tallies key
  # must hash to a slot the list'"'"'s first node does not serve (a plain
  # connection to that node gets MOVED), or this would pass without the
  # router. It runs after ladder-api'"'"'s answers are taken, because its
  # events and ticks go to the worker too.
  first=$(/usr/bin/redis-cli -p "$LADDERTEST_REDIS_PORT" exists ldr:roundtrip 2>&1)
  if grep -q MOVED <<<"$first"; then echo "ok - ldr:roundtrip is not on the first node of the seed list"
  else echo "FAIL - ldr:roundtrip is on the first node ($first): the round trip proves nothing"; rc=1; fi
  if "$bin/ladder-roundtrip" --count 12 >"$work/roundtrip.out" 2>&1 \
    && grep -q "^read back .*: 20 of 20 verified, 0 failed$" "$work/roundtrip.out" \
    && grep -q "(a cluster of 3 masters) stored and read back the tallies$" "$work/roundtrip.out"; then
    echo "ok - ladder-roundtrip passes on the cluster: $(grep "^redis: " "$work/roundtrip.out")"
  else
    echo "FAIL - ladder-roundtrip on the cluster:"; tail -n 5 "$work/roundtrip.out"; rc=1
  fi
fi

kill -TERM "$worker"
set +e; wait "$worker"; wrc=$?; set -e
worker=
[ "$wrc" -eq 0 ] || { echo "FAIL - $mode: worker exit status $wrc"; rc=1; }

if [ "$mode" = single ]; then
  # redis.cluster=on with a plain server, and rediss://: one clear line.
  set +e
  msg=$(LADDER_REDIS_CLUSTER=on LADDER_HTTP_LISTEN=127.0.0.1:$port timeout 20 "$bin/ladder-api" 2>&1 </dev/null); st=$?
  set -e
  if [ "$st" -ne 0 ] && grep -q "not in cluster mode" <<<"$msg"; then echo "ok - redis.cluster=on with a plain server is refused"
  else echo "FAIL - redis.cluster=on: status $st: $msg"; rc=1; fi
  set +e
  msg=$(LADDER_REDIS_URL=rediss://u:hunter2@127.0.0.1:1 timeout 20 "$bin/ladder-worker" 2>&1 </dev/null); st=$?
  set -e
  if [ "$st" -ne 0 ] && grep -q "TLS" <<<"$msg" && grep -q "stunnel" <<<"$msg" && ! grep -q hunter2 <<<"$msg"; then
    echo "ok - rediss:// is refused naming stunnel, without showing the password"
  else echo "FAIL - rediss://: status $st: $msg"; rc=1; fi
fi
[ "$rc" -eq 0 ] || { echo "--- worker log (last 20 lines)"; tail -n 20 "$work/worker.log"; }
exit "$rc"
'

rc=0
"$src/tests/support/with-stack" bash -c "$run" "$src" "$bin" single "$out" || rc=1
"$src/tests/support/with-cluster" bash -c "$run" "$src" "$bin" cluster "$out" || rc=1
for what in stats notices enterprise; do
  if [ -s "$out/$what-single.json" ] && cmp -s "$out/$what-single.json" "$out/$what-cluster.json"; then
    echo "ok - ladder-api answers the same $what on the cluster as on one Redis"
  else
    echo "FAIL - $what differ between one Redis and the cluster:"
    diff <(python3 -m json.tool "$out/$what-single.json" 2>/dev/null) <(python3 -m json.tool "$out/$what-cluster.json" 2>/dev/null) | head -20
    rc=1
  fi
done
exit "$rc"
