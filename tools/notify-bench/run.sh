#!/usr/bin/env bash
# tools/notify-bench/run.sh -- ladder-notify's end-to-end notice latency.
#
# Usage: tools/notify-bench/run.sh [--count N] [--rate R] [--subscribers S]
#
# On a private embedded stack (tests/support/with-stack) it starts a local
# webhook receiver (tests/integration/test_notify_receiver.py, one thread per
# connection, keep-alive) with S subscribers' routes (default 2), and
# ladder-notify with S subscribers at its default settings; once the
# notifier owns its partitions, ladder-notify-bench produces N decisions
# (default 5000; REVOKED, CANCELLED, EXPIRED over 64 enterprises) at R per
# second (default 500). A notice's latency is the time it reached the
# receiver minus its decided_at, which ladder-notify-bench sets to the
# decision message's Kafka create time. Prints, per subscriber and over
# all, the count and the p50, p99 and max of the first acknowledged arrival
# of each notice, and fails (exit 1) when a notice is missing.
# Build first (cmake --build build); uses build/bin unless LADDERTEST_BIN
# says otherwise.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
export LADDERTEST_SRC=$src
export LADDERTEST_BIN=${LADDERTEST_BIN:-$src/build/bin}
count=5000
rate=500
subs=2
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --subscribers) subs=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for b in ladder-notify ladder-notify-bench ladder-kafka; do
  [ -x "$LADDERTEST_BIN/$b" ] || { echo "run.sh: $LADDERTEST_BIN/$b is missing: build first" >&2; exit 2; }
done

exec "$src/tests/support/with-stack" bash -c '
set -euo pipefail
src=$0; bin=$1; count=$2; rate=$3; subs=$4
work=$LADDERTEST_STACK_DIR
notify= recv=
cleanup() { for p in $notify $recv; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
routes=()
for i in $(seq 1 "$subs"); do routes+=(--route "s$i=ok:secret-$i-0123456789abcdef0123456789abcdef"); done
/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port-file "$work/recv.port" \
  --log "$work/recv.jsonl" "${routes[@]}" 2>"$work/recv.err" &
recv=$!
for _ in $(seq 1 100); do [ -s "$work/recv.port" ] && break; sleep 0.05; done
port=$(cat "$work/recv.port")
: >"$work/notify.conf"
for i in $(seq 1 "$subs"); do
  echo "notify.subscriber.s$i.url = http://127.0.0.1:$port/s$i" >>"$work/notify.conf"
  echo "notify.subscriber.s$i.secret = secret-$i-0123456789abcdef0123456789abcdef" >>"$work/notify.conf"
done
echo "notify.deadletter.file = $work/deadletter.jsonl" >>"$work/notify.conf"
"$bin/ladder-notify" --config "$work/notify.conf" >"$work/notify.log" 2>&1 &
notify=$!
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w "%{http_code}" "http://$LADDER_HTTP_LISTEN/readyz")" = 200 ] && break
  sleep 0.1
done
echo "# ladder-notify ready; producing $count decisions at $rate/s for $subs subscribers"
"$bin/ladder-notify-bench" --config "$work/notify.conf" --count "$count" --rate "$rate" \
  --enterprises 64 --prefix b --out "$work/produced.txt"
want=$((count * subs))
for _ in $(seq 1 600); do
  got=$(grep -c "\"status\": 200" "$work/recv.jsonl" || true)
  [ "$got" -ge "$want" ] && break
  sleep 0.1
done
cpu() { awk -v hz="$(getconf CLK_TCK)" "{printf \"%.1f\", (\$14 + \$15) / hz}" "/proc/$1/stat"; }
echo "# CPU seconds: ladder-notify $(cpu "$notify"), receiver $(cpu "$recv"); load average $(cut -d" " -f1-3 /proc/loadavg)"
kill -TERM "$notify"; wait "$notify" || true; notify=
/usr/bin/python3 - "$work/recv.jsonl" "$work/produced.txt" "$subs" <<"PY"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
ids = [l.split()[0] for l in open(sys.argv[2])]
subs = ["s%d" % i for i in range(1, int(sys.argv[3]) + 1)]
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1)]
allv, lost = [], 0
for s in subs:
    first = {}
    for r in reqs:
        if r["path"] == s and r["status"] == 200 and r["id"] not in first:
            first[r["id"]] = r["latency_ms"]
    lost += sum(1 for i in ids if i not in first)
    v = sorted(first.values())
    allv += v
    print("%-4s notices %6d  p50 %5d ms  p99 %5d ms  max %5d ms" % (s, len(v), pct(v, 50), pct(v, 99), v[-1]))
allv.sort()
print("all  notices %6d  p50 %5d ms  p99 %5d ms  max %5d ms  missing %d" % (len(allv), pct(allv, 50), pct(allv, 99), allv[-1], lost))
sys.exit(1 if lost else 0)
PY
' "$src" "$LADDERTEST_BIN" "$count" "$rate" "$subs"
