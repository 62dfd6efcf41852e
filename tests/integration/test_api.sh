#!/usr/bin/env bash
# ladder-api end to end: a real ladder-worker decides a small register
# (test_api_feed.py) on a private Redis and Kafka, and ladder-api answers
# about it. Checked (test_api_check.py): an enterprise's designations, open
# case, ban and its history against the decisions on the topic; stats
# against the known register, per unit and against the targets; the
# notices with since and limit; every error (malformed, badly checked and
# unknown USCC, unknown unit, bad since and limit, unknown route, wrong
# method, missing and wrong token, ?token= refused) as JSON with the right
# status. The dashboard's sign-in (POST /v1/session): wrong tokens, other
# methods and content types refused; the HttpOnly, SameSite=Strict cookie
# opens /v1/stats and the notice stream; forged and expired cookies are
# refused; restarts keep sessions, a new token ends them; every answer
# carries the Content-Security-Policy; an open API on 0.0.0.0 warns. /livez,
# /readyz (503 once Redis is gone), /metrics. Live notices: two event-stream
# clients connected before a verified violation is produced both receive
# the CANCELLED it causes, with its decision_id as id:; a client resuming
# with Last-Event-ID gets exactly what it missed; after a restart of the
# API, a Last-Event-ID resumes its partition from the store; a quiet stream
# stays open on keep-alive comments. SIGTERM stops the API promptly with a
# stream open. Start-up errors exit 2, limits that do not fit together
# included.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
check=$src/tests/integration/test_api_check.py
worker= api= clients=
cleanup() {
  for p in $clients $api $worker; do kill -TERM "$p" 2>/dev/null || true; done
}
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/api.log"; }
rc=0
ent() { /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/ents.json" "$1"; }

# -- start-up errors: one line, exit 2 ---------------------------------------
expect_exit2() { # WHAT TEXT ENV... -- ARGS...
  local what=$1 text=$2; shift 2
  local envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  set +e; out=$(env "${envs[@]}" "$bin/ladder-api" "$@" 2>&1 </dev/null); st=$?; set -e
  if [ "$st" -eq 2 ] && grep -q -- "$text" <<<"$out"; then echo "ok - $what: exit 2, says $text"
  else echo "FAIL - $what: exit $st, said: $out"; rc=1; fi
}
expect_exit2 "unknown option" "Usage" X=1 -- --bogus
expect_exit2 "unreachable Redis" "127.0.0.1:1" LADDER_REDIS_URL=redis://127.0.0.1:1/0 --
expect_exit2 "bad http.listen" "LADDER_HTTP_LISTEN" LADDER_HTTP_LISTEN=nowhere --
expect_exit2 "bad api.notices.limit" "LADDER_API_NOTICES_LIMIT" LADDER_API_NOTICES_LIMIT=0 --
expect_exit2 "streams above the connections" "api.sse.max.streams (512) must be below http.max.connections (512)" LADDER_API_SSE_MAX_STREAMS=512 --
expect_exit2 "per-address limit above the total" "http.max.connections.per.ip (64) must be below http.max.connections (64)" LADDER_HTTP_MAX_CONNECTIONS=64 LADDER_HTTP_MAX_CONNECTIONS_PER_IP=64 LADDER_API_SSE_MAX_STREAMS=8 --
expect_exit2 "trusted proxy not an address" "http.trusted.proxy: \"proxy.local\" is not an IP address" LADDER_HTTP_TRUSTED_PROXY=proxy.local --
expect_exit2 "bad http.request.timeout.ms" "LADDER_HTTP_REQUEST_TIMEOUT_MS" LADDER_HTTP_REQUEST_TIMEOUT_MS=5 --
"$bin/ladder-api" --help | grep -q "/v1/notices/stream" && echo "ok - --help lists the endpoints" || { echo "FAIL - --help"; rc=1; }

# -- the register --------------------------------------------------------------
/usr/bin/python3 "$src/tests/integration/test_api_feed.py" "$work"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
feed() {
  "$bin/ladder-feed" "$work/$1.jsonl" >"$work/$1.log" 2>&1 || fail "ladder-feed $1: $(cat "$work/$1.log")"
  DEMO_PIDS=$worker demo_wait_caught_up "$(demo_topic_total ladder.events.v1)" 60 || fail "the worker did not decide $1"
}
feed phase1
n=$(demo_topic_total ladder.decisions.v1)
"$bin/ladder-decisions" --count "$n" --idle-ms 500 --out "$work/decisions.jsonl" 2>"$work/reader.log" \
  || fail "ladder-decisions: $(cat "$work/reader.log")"
hmax=$(sed -n "s/^#define LDR_ENTERPRISE_HISTORY_MAX *\([0-9]*\).*/\1/p" "$src/services/lib/model/include/ladder/enterprise.h")
echo "# $n decisions on the topic; the history keeps $hmax"

start_api() { # ENV...
  port=$(demo_free_port)
  base=http://127.0.0.1:$port
  env "$@" LADDER_HTTP_LISTEN=127.0.0.1:$port "$bin/ladder-api" >>"$work/api.log" 2>&1 &
  api=$!
  lt_wait_http "$base/livez" "$api" 100 0.1 && return 0
  kill -0 "$api" 2>/dev/null || fail "ladder-api exited at start-up"
  fail "ladder-api did not answer /livez"
}
stop_api() {
  local t0=$SECONDS st=0
  kill -TERM "$api"
  wait "$api" || st=$?
  api=
  if [ "$st" -eq 0 ] && [ $((SECONDS - t0)) -le 10 ]; then echo "ok - ladder-api stopped on SIGTERM ($1) with status 0 in $((SECONDS - t0)) s"
  else echo "FAIL - ladder-api stop ($1): status $st after $((SECONDS - t0)) s"; rc=1; fi
}
# wait_sse FILE USCC [NOT...]: the id of USCC'"'"'s CANCELLED in FILE, within 30 s
wait_sse() {
  local f=$1; shift
  for _ in $(seq 1 300); do
    if id=$(/usr/bin/python3 "$check" sse "$f" "$@" 2>/dev/null); then echo "$id"; return 0; fi
    sleep 0.1
  done
  /usr/bin/python3 "$check" sse "$f" "$@" >&2 || true
  return 1
}
sse_clients() { curl -s "$base/metrics" | awk "/^ladder_api_sse_clients / {print \$2}"; }

start_api
/usr/bin/python3 "$check" register "$base" "$work" "$hmax" || rc=1

# -- live notices -------------------------------------------------------------------
X=$(ent X) Y=$(ent Y) W=$(ent W)
curl -sN "$base/v1/notices/stream" >"$work/sse1.txt" & c1=$!
curl -sN "$base/v1/notices/stream" >"$work/sse2.txt" & c2=$!
clients="$c1 $c2"
for _ in $(seq 1 100); do [ "$(sse_clients)" = 2 ] && break; sleep 0.1; done
[ "$(sse_clients)" = 2 ] && echo "ok - two stream clients counted in ladder_api_sse_clients" \
  || { echo "FAIL - ladder_api_sse_clients is $(sse_clients), want 2"; rc=1; }
grep -q "^retry: " "$work/sse1.txt" && echo "ok - the stream opens at once (retry: line)" || { echo "FAIL - nothing on the stream yet"; rc=1; }
feed phase2
if xid=$(wait_sse "$work/sse1.txt" "$X" "$Y") && xid2=$(wait_sse "$work/sse2.txt" "$X" "$Y") && [ "$xid" = "$xid2" ]; then
  echo "ok - both clients received X'"'"'s CANCELLED, produced after they connected, with id: $xid (and not Y'"'"'s older one)"
else
  echo "FAIL - the clients did not both receive X'"'"'s cancellation"; rc=1; xid=none
fi
/usr/bin/python3 "$check" stats "$base" 4 || rc=1
kill -TERM $c1 $c2; wait $c1 $c2 2>/dev/null || true; clients=

feed phase3
curl -sN -H "Last-Event-ID: $xid" "$base/v1/notices/stream" >"$work/sse3.txt" & c3=$!
clients=$c3
if wid=$(wait_sse "$work/sse3.txt" "$W" "$X" "$Y"); then
  echo "ok - resumed with Last-Event-ID $xid: W'"'"'s CANCELLED ($wid), decided while away, and nothing seen before"
else
  echo "FAIL - resuming after $xid: $(cat "$work/sse3.txt")"; rc=1
fi
# Stopping must not wait for the open stream.
stop_api "a stream open"
wait $c3 2>/dev/null || true; clients=

# A new process: the id is not in its memory; its partition comes back from the store.
start_api
pw=$(curl -s "$base/v1/enterprises/$W" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)[\"partition\"])")
others=()
for u in "$X" "$Y"; do
  p=$(curl -s "$base/v1/enterprises/$u" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)[\"partition\"])")
  [ "$p" = "$pw" ] || others+=("$u")
done
curl -sN -H "Last-Event-ID: $pw-0-0" "$base/v1/notices/stream" >"$work/sse4.txt" & c4=$!
clients=$c4
if wid2=$(wait_sse "$work/sse4.txt" "$W" "${others[@]}") && [ "$wid2" = "$wid" ]; then
  echo "ok - after a restart, Last-Event-ID $pw-0-0 replays partition $pw from the store ($wid2), no other partition"
else
  echo "FAIL - restart resume: $(cat "$work/sse4.txt")"; rc=1
fi
kill -TERM $c4; wait $c4 2>/dev/null || true; clients=
# A quiet stream stays open: keep-alive comments beat the server'"'"'s 10 s idle timeout.
st=0; timeout 13 curl -sN "$base/v1/notices/stream" >"$work/idle.txt" || st=$?
ka=$(grep -c "^: keep-alive" "$work/idle.txt" || true)
if [ "$st" -eq 124 ] && [ "$ka" -ge 2 ]; then echo "ok - a quiet stream stays open for 13 s with $ka keep-alive comments"
else echo "FAIL - quiet stream: curl status $st (124 = still open), $ka keep-alive comments"; rc=1; fi
stop_api "no stream open"

start_api LADDER_API_TOKEN=s3cret-token
/usr/bin/python3 "$check" token "$base" s3cret-token || rc=1

# -- the dashboard sign-in: a session cookie instead of the token --------------
/usr/bin/python3 "$check" session "$base" s3cret-token 43200 "$work/cookie" || rc=1
cookie=$(cat "$work/cookie")
# The stream authenticates with the cookie (EventSource sends no headers):
# resuming partition $pw from the store brings the CANCELLED of W through it.
curl -sN -H "Cookie: $cookie" -H "Last-Event-ID: $pw-0-0" "$base/v1/notices/stream" >"$work/sse5.txt" & c5=$!
clients=$c5
if wid3=$(wait_sse "$work/sse5.txt" "$W" "${others[@]}") && [ "$wid3" = "$wid" ]; then
  echo "ok - the notice stream with the session cookie delivers the CANCELLED of W ($wid3)"
else
  echo "FAIL - stream with the session cookie: $(cat "$work/sse5.txt")"; rc=1
fi
kill -TERM $c5 2>/dev/null || true; wait $c5 2>/dev/null || true; clients=
for q in "" "?token=s3cret-token"; do
  st=$(curl -s -o "$work/sse6.txt" -w "%{http_code}" --max-time 5 "$base/v1/notices/stream$q" || true)
  if [ "$st" = 401 ]; then echo "ok - the stream without the cookie${q:+, with $q,} -> 401"
  else echo "FAIL - the stream without the cookie${q:+, with $q,}: $st $(head -c 300 "$work/sse6.txt")"; rc=1; fi
done
# The session key comes from the token: a restarted process (or another
# replica) accepts the session, a new token ends it, and so does a lifetime
# shorter than what is left of it.
stop_api "the token set"
start_api LADDER_API_TOKEN=s3cret-token
/usr/bin/python3 "$check" cookie "$base" "$cookie" 200 || rc=1
stop_api "the same token"
start_api LADDER_API_TOKEN=rotated-token
/usr/bin/python3 "$check" cookie "$base" "$cookie" 401 || rc=1
stop_api "a rotated token"
start_api LADDER_API_TOKEN=s3cret-token LADDER_API_SESSION_LIFETIME_S=3
/usr/bin/python3 "$check" cookie "$base" "$cookie" 401 || rc=1
/usr/bin/python3 "$check" expiry "$base" s3cret-token 3 || rc=1
# Open on an address other machines reach: a warning at start.
port2=$(demo_free_port)
LADDER_HTTP_LISTEN=0.0.0.0:$port2 "$bin/ladder-api" >"$work/api-open.log" 2>&1 & open_api=$!
clients=$open_api
lt_wait_http "http://127.0.0.1:$port2/livez" "$open_api" 100 0.1 || true
kill -TERM "$open_api"; wait "$open_api" || true; clients=
if grep -q "WARN the API is open: api.token is not set and http.listen (0.0.0.0:$port2)" "$work/api-open.log"; then
  echo "ok - open on 0.0.0.0 without api.token: WARN at start"
else echo "FAIL - no warning for an open API on 0.0.0.0: $(cat "$work/api-open.log")"; rc=1; fi
if grep -q "the API is open" "$work/api.log"; then echo "FAIL - a warning on loopback or with a token: $(grep "the API is open" "$work/api.log")"; rc=1
else echo "ok - no such warning on 127.0.0.1 or with api.token set"; fi

# Redis gone: not ready, and requests say the store is unavailable.
kill -TERM "$worker"; wait "$worker" || true; worker=
kill -TERM "$LADDERTEST_REDIS_PID"
for _ in $(seq 1 50); do kill -0 "$LADDERTEST_REDIS_PID" 2>/dev/null || break; sleep 0.1; done
st=$(curl -s -o "$work/readyz.json" -w "%{http_code}" "$base/readyz")
if [ "$st" = 503 ] && grep -q "\"ready\":false" "$work/readyz.json"; then echo "ok - /readyz 503 once Redis is gone"
else echo "FAIL - /readyz with Redis gone: $st $(cat "$work/readyz.json")"; rc=1; fi
st=$(curl -s -o "$work/stats.json" -w "%{http_code}" -H "Authorization: Bearer s3cret-token" "$base/v1/stats")
if [ "$st" = 503 ] && grep -q store_unavailable "$work/stats.json"; then echo "ok - /v1/stats 503 store_unavailable once Redis is gone"
else echo "FAIL - /v1/stats with Redis gone: $st $(cat "$work/stats.json")"; rc=1; fi
stop_api "Redis gone"
exit "$rc"
' "$src" "$bin"
