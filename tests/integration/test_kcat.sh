#!/usr/bin/env bash
# README.md's "A test event with kcat", run as written: the commands of its
# sh block are taken from README.md (never copied here, so the README
# cannot drift from what works) and run with a worker on the private stack.
# The event ladder-feed --encode wrote and kcat produced lands in the
# partition murmur2_random gives its USCC, the worker decides it, and the
# documented consumer prints the decision under that key, with its
# CloudEvents headers, from the same partition of ladder.decisions.v1.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs 30 "$work/worker.log" "$work/run/"*.err "$work/run/consume.out"; }
consumer=""
cleanup() { [ -z "$consumer" ] || kill "$consumer" 2>/dev/null || true; }

# The block after the marker comment, with the repository paths made to
# point at this checkout and build.
awk "/test_kcat.sh runs the commands/ {m=1; next} m && /^\`\`\`sh/ {b=1; next} b && /^\`\`\`/ {exit} b" \
  "$src/README.md" >"$work/block.sh"
[ "$(grep -c "^kcat " "$work/block.sh")" -eq 2 ] || fail "README.md: no block with the two kcat commands: $(cat "$work/block.sh")"
sed -i -e "s|build/bin/|$bin/|g" -e "s|tests/fixtures/|$src/tests/fixtures/|g" "$work/block.sh"

"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_join "$work/worker.log" || fail "the worker did not join"

mkdir "$work/run" && cd "$work/run"
echo "$LADDERTEST_BOOTSTRAP" >kafka.bootstrap   # what ladder-kafka --bootstrap-file writes
n=0
while IFS= read -r line; do
  n=$((n + 1))
  case "$line" in
    "kcat -C "*)
      # The consumer follows the topic until stopped: run it aside, its
      # output line-buffered (into a file kcat would hold it until exit).
      ( eval "exec stdbuf -oL $line" ) >consume.out 2>consume.err &
      consumer=$! ;;
    *) eval "$line" 2>>"cmd$n.err" || fail "README command failed: $line" ;;
  esac
done <"$work/block.sh"
[ -n "$consumer" ] || fail "the block has no kcat -C command"
[ -n "${USCC:-}" ] && [ -n "${BOOTSTRAP:-}" ] || fail "the block sets no USCC or BOOTSTRAP"
grep -q "key $USCC\$" cmd*.err || fail "ladder-feed --encode names another key than the USCC of the README"

lt_retry 300 0.1 grep -q "^$USCC .*ce_type=ladder\.decision\." consume.out \
  || fail "no decision keyed $USCC from the documented consumer"
line=$(grep -m1 "^$USCC " consume.out)
ok "the documented consumer printed: $line"

# The partitions: murmur2_random of the key, as Kafka'"'"'s Java clients pick it.
want=$(/usr/bin/python3 - "$USCC" 8 <<"PY"
import sys
def murmur2(data):
    m, h = 0x5bd1e995, (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = ((h * m) & 0xffffffff) ^ k
    rest = data[4 * n4:]
    if len(rest) >= 3: h ^= rest[2] << 16
    if len(rest) >= 2: h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h
print((murmur2(sys.argv[1].encode()) & 0x7fffffff) % int(sys.argv[2]))
PY
)
for topic in ladder.events.v1 ladder.decisions.v1; do
  got=$(kcat -C -b "$BOOTSTRAP" -t "$topic" -e -q -f "%p %k\n" | awk -v k="$USCC" "\$2 == k {print \$1}" | sort -u)
  [ "$got" = "$want" ] || fail "$topic: $USCC in partition(s) [$got], murmur2_random picks $want"
done
dlq=$(kcat -C -b "$BOOTSTRAP" -t ladder.dlq.v1 -e -q -f "%k\n" | wc -l)
[ "$dlq" -eq 0 ] || fail "$dlq dead letters"
ok "the event and its decision are in partition $want, murmur2_random'"'"'s pick for $USCC; no dead letters"
kill -TERM "$worker"; wait "$worker" || true
' "$src" "$bin"
