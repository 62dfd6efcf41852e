#!/usr/bin/env bash
# Events of every kind go through the embedded Kafka cluster and come back
# byte-identical, in the partition their key hashes to; Redis is reachable.
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_tmpdir work ladder-roundtrip-it
out=$work/out
conf=$work/conf
"$src/tests/support/with-stack" bash -c \
  '"$0" --bootstrap "$LADDERTEST_BOOTSTRAP" --redis-url "$LADDERTEST_REDIS_URL" --count 30' \
  "$bin/ladder-roundtrip" >"$out" 2>&1 || { cat "$out"; fail "ladder-roundtrip exited non-zero"; }
cat "$out"
grep -q '^produced 38 events .*: 38 acknowledged$' "$out" || fail "not every event acknowledged"
grep -q '^read back .*: 38 of 38 verified, 0 failed$' "$out" || fail "read-back incomplete"
[ "$(grep -c 'decoded, validated, identical' "$out")" -ge 38 ] || fail "too few verified lines"
grep -q 'stored and read back the tallies' "$out" || fail "redis"
# Usage errors are reported, with exit status 2.
set +e
"$bin/ladder-roundtrip" --count 0 --bootstrap x --redis-url redis://x 2>"$out"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- '--count' "$out" || fail "bad --count gave $rc"
# An unreachable Redis is exit status 3 and named.
set +e
"$bin/ladder-roundtrip" --bootstrap 127.0.0.1:1 --redis-url redis://127.0.0.1:1/0 2>"$out"; rc=$?
set -e
[ "$rc" -eq 3 ] && grep -q '127.0.0.1:1' "$out" || { cat "$out"; fail "unreachable redis gave $rc"; }
# Configuration errors: one line naming the file, the line and the key; exit 2.
expect_config_error() { # expected-text command...
  local want=$1; shift
  set +e; "$@" >/dev/null 2>"$out"; local rc=$?; set -e
  [ "$rc" -eq 2 ] && grep -qF -- "$want" "$out" || { cat "$out"; fail "wanted exit 2 and '$want', got $rc"; }
  echo "ok - config error: $(cat "$out")"
}
printf 'redis.url = redis://127.0.0.1:1/0\nclock.max.skew.days = abc\n' >"$conf"
expect_config_error "$conf:2: clock.max.skew.days: \"abc\" is not a whole number" "$bin/ladder-roundtrip" --config "$conf"
printf '# comment\nbogus.key = 1\n' >"$conf"
expect_config_error "$conf:2: bogus.key: unknown key" "$bin/ladder-roundtrip" --config "$conf"
expect_config_error "environment: LADDER_NOPE: unknown variable" env LADDER_NOPE=1 "$bin/ladder-roundtrip"
expect_config_error "config file '$conf.missing': No such file or directory" "$bin/ladder-roundtrip" --config "$conf.missing"
expect_config_error "kafka.bootstrap.servers is not set" "$bin/ladder-roundtrip"
echo "ok - round trip, usage error, unreachable Redis, configuration errors"
