#!/usr/bin/env bash
# Events of every kind go through the embedded Kafka cluster and come back
# byte-identical, in the partition their key hashes to; Redis is reachable.
set -euo pipefail
src=${LADDERTEST_SRC:?}
bin=${LADDERTEST_BIN:?}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$src/tests/support/with-stack" bash -c \
  '"$0" --bootstrap "$LADDERTEST_BOOTSTRAP" --redis-url "$LADDERTEST_REDIS_URL" --count 30' \
  "$bin/ladder-roundtrip" >"$out" 2>&1 || { cat "$out"; echo "FAIL: ladder-roundtrip exited non-zero"; exit 1; }
cat "$out"
grep -q '^produced 38 events .*: 38 acknowledged$' "$out" || { echo "FAIL: not every event acknowledged"; exit 1; }
grep -q '^read back .*: 38 of 38 verified, 0 failed$' "$out" || { echo "FAIL: read-back incomplete"; exit 1; }
[ "$(grep -c 'decoded, validated, identical' "$out")" -ge 38 ] || { echo "FAIL: too few verified lines"; exit 1; }
grep -q 'stored and read back the tallies' "$out" || { echo "FAIL: redis"; exit 1; }
# Usage errors are reported, with exit status 2.
set +e
"$bin/ladder-roundtrip" --count 0 --bootstrap x --redis-url redis://x 2>"$out"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- '--count' "$out" || { echo "FAIL: bad --count gave $rc"; exit 1; }
# An unreachable Redis is exit status 3 and named.
set +e
"$bin/ladder-roundtrip" --bootstrap 127.0.0.1:1 --redis-url redis://127.0.0.1:1/0 2>"$out"; rc=$?
set -e
[ "$rc" -eq 3 ] && grep -q '127.0.0.1:1' "$out" || { cat "$out"; echo "FAIL: unreachable redis gave $rc"; exit 1; }
echo "ok - round trip, usage error and unreachable Redis"
