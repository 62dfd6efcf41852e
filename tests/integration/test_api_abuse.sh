#!/usr/bin/env bash
# ladder-api under abuse: a local ladder-api on loopback, api.token set,
# its limits at their defaults, and the notices streams of a 4-partition
# register seeded with 5,000 notices in partition 0 and 3,000 in each of
# the others. For 25 s, all at once (test_api_abuse.py): a slowloris
# attacker from 127.0.0.2 with 300 sockets that each send one header line
# every 3 s and never finish; a stream attacker from 127.0.0.3 that keeps
# opening 300 notice streams; streams resumed at Last-Event-ID 0-0-0 (all
# of partition 0) from 127.0.0.4; GET /v1/notices with a huge and the
# largest limit, over and over, from 127.0.0.5; a GET with a 10 GB body
# from 127.0.0.6. Throughout, probes from 127.0.0.1 ask /livez and an
# authenticated /v1/stats on a new connection every 0.25 s: every probe
# must be answered 200 within 1 s (each probe's time is recorded). Also
# checked: the server cut the slowloris connections, held the attacker to
# api.sse.max.streams.per.ip streams and answered the rest 503 with
# Retry-After, replayed at most api.replay.max notices (saying some were
# left out), closed the endless body, and counted each kind of refusal
# in ladder_http_refused_total. Bounded: about 35 s in all. Normal build
# only (tests/integration/CMakeLists.txt): under ASan the timings say
# nothing.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
py=$src/tests/integration/test_api_abuse.py
token=abuse-test-token-0123456789abcdef
api= prober=
cleanup() { for p in $prober $api; do kill -TERM "$p" 2>/dev/null || true; done; }
on_fail() { lt_show_logs 30 "$work/api.log"; }

# -- the register: partition count and notices -------------------------------
demo_redis SET "$(demo_keys partitions)" 4 >/dev/null
for p in 0 1 2 3; do
  n=3000; [ "$p" -eq 0 ] && n=5000
  /usr/bin/python3 "$py" seed "$n" "$p" | redis-cli -u "$LADDER_REDIS_URL" --pipe >"$work/seed.log" 2>&1 \
    || fail "seeding partition $p: $(cat "$work/seed.log")"
done
[ "$(demo_redis XLEN "$(demo_keys notices 0)")" = 5000 ] || fail "partition 0 was not seeded"

# -- ladder-api with its default limits ----------------------------------------
port=$(demo_free_port)
base=http://127.0.0.1:$port
LADDER_API_TOKEN=$token LADDER_API_NOTICES_LIMIT=10000 LADDER_HTTP_LISTEN=127.0.0.1:$port \
  "$bin/ladder-api" >"$work/api.log" 2>&1 &
api=$!
lt_wait_ready "$base/livez" 100 0.1 || fail "ladder-api did not answer /livez"
sleep 1 # the notices follower reads the partition count

# -- the attacks, and the probes throughout -----------------------------------
seconds=25
/usr/bin/python3 "$py" probe "$port" "$token" $((seconds + 3)) "$work/probes.jsonl" &
prober=$!
sleep 1
/usr/bin/python3 "$py" attack "$port" "$token" "$seconds" "$work/attacks.json" \
  || fail "the attackers failed"
wait "$prober" || fail "the probes failed"
prober=

# -- the verdict -----------------------------------------------------------------
rc=0
/usr/bin/python3 "$py" check "$work/probes.jsonl" "$work/attacks.json" 1000 8 || rc=$?
[ "$rc" -eq 0 ] || fail "ladder-api did not hold up (see above)"
ok "every probe of /livez and /v1/stats was answered 200 within 1 s"
ok "the attacks were held to their limits"
metrics=$(curl -sf -H "Authorization: Bearer $token" "$base/metrics") || fail "GET /metrics"
for reason in per_ip deadline body sse_streams_per_ip; do
  grep -Eq "^ladder_http_refused_total\{reason=\"$reason\"\} [1-9]" <<<"$metrics" \
    || fail "ladder_http_refused_total{reason=$reason} did not count: $(grep refused <<<"$metrics")"
done
ok "ladder_http_refused_total counted every kind of refusal"
kill -0 "$api" 2>/dev/null || fail "ladder-api is gone"
'
