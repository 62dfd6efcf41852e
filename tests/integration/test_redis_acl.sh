#!/usr/bin/env bash
# ladder as the Redis ACL users of deploy/redis/users.acl, on one
# redis-server started with --aclfile (test passwords filled in,
# tests/support/acl.sh): the default user is off; the worker decides a
# small history (ladder-gen, ladder-feed) as the worker user and
# ladder-admin check passes as that user; ladder-api answers an enterprise
# and /v1/stats as the read-only api user; the ACL LOG is empty after all
# that (no command or key ladder needs is missing from the file). The api
# user cannot write (SET, HSET, DEL refused); the worker user cannot reach
# keys outside ldr:*, channels or the server's administration (FLUSHALL,
# KEYS, CONFIG, FUNCTION DELETE, ACL, SHUTDOWN). A wrong password is a
# start-up error naming the user, never the password; a URL without a
# user says the server wants one; a command refused with NOPERM (the
# worker run as the api user) names the command and points at the ACL file.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
. "$src/tests/support/acl.sh"
rpid="" wpid="" apid=""
cleanup() {
  for p in $apid $wpid; do demo_stop "$p" || true; done
  [ -z "$rpid" ] || { kill -TERM "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; } || true
}
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/api.log" "$work/acl/redis.log" "$work/out"; }

# -- a redis-server with the ACL file ----------------------------------------
acl_up() { acl_cli "$port" ping 2>/dev/null | grep -q PONG; }
mkdir -p "$work/acl"
acl_file "$work/acl/users.acl"
for _ in 1 2 3 4 5; do
  port=$(demo_free_port)
  redis-server "$src/deploy/redis/redis.conf" --port "$port" --dir "$work/acl" \
    --aclfile "$work/acl/users.acl" --logfile "$work/acl/redis.log" --daemonize no &
  rpid=$!
  lt_retry 50 0.1 acl_up && break
  kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; rpid=""
done
[ -n "$rpid" ] || fail "redis-server with the ACL file did not start"
out=$(redis-cli -p "$port" ping 2>&1 || true)
case "$out" in *NOAUTH*) ok "the default user is off: PING without a user gets NOAUTH" ;;
  *) fail "PING without a user answered: $out" ;; esac
worker_url=redis://worker:$acl_worker_pw@127.0.0.1:$port/0
api_url=redis://api:$acl_api_pw@127.0.0.1:$port/0

# -- start-up errors ---------------------------------------------------------
s=0; LADDER_REDIS_URL=redis://worker:Wrong-Pw-8086@127.0.0.1:$port/0 timeout 20 "$bin/ladder-worker" >"$work/out" 2>&1 || s=$?
[ "$s" -ne 0 ] || fail "the worker started with a wrong password"
grep -q "AUTH as user \"worker\" refused" "$work/out" || fail "wrong password: the error does not name the user: $(cat "$work/out")"
[ "$(wc -l <"$work/out")" -le 2 ] || fail "wrong password: more than one line: $(cat "$work/out")"
! grep -q "Wrong-Pw-8086" "$work/out" || fail "wrong password: the error shows the password"
ok "wrong password: exit $s, $(grep -o "AUTH as user.*refused" "$work/out"), no password shown"
s=0; LADDER_REDIS_URL=redis://api:Wrong-Pw-8086@127.0.0.1:$port/0 "$bin/ladder-api" >"$work/out" 2>&1 || s=$?
{ [ "$s" -eq 2 ] && grep -q "AUTH as user \"api\" refused" "$work/out" && ! grep -q "Wrong-Pw-8086" "$work/out"; } ||
  fail "ladder-api, wrong password: exit $s: $(cat "$work/out")"
ok "ladder-api, wrong password: exit 2, names the user, no password shown"
s=0; LADDER_REDIS_URL=redis://127.0.0.1:$port/0 "$bin/ladder-api" >"$work/out" 2>&1 || s=$?
{ [ "$s" -eq 2 ] && grep -q "wants a user and password" "$work/out"; } || fail "no user: exit $s: $(cat "$work/out")"
ok "no user in redis.url: exit 2, says the server wants a user and password"
s=0; LADDER_REDIS_URL=$api_url timeout 20 "$bin/ladder-worker" >"$work/out" 2>&1 || s=$?
{ [ "$s" -ne 0 ] && grep -q "FUNCTION LOAD: NOPERM" "$work/out" && grep -q "ACL file (deploy/redis/users.acl)" "$work/out"; } ||
  fail "the worker as the api user: exit $s: $(cat "$work/out")"
ok "NOPERM: the worker as the api user stops at start-up naming FUNCTION LOAD and the ACL file"
acl_cli "$port" acl log reset >/dev/null

# -- the worker as the worker user -----------------------------------------
export LADDER_REDIS_URL=$worker_url
"$bin/ladder-gen" --scale 0.001 --seed 9 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/out" 2>&1 || fail "ladder-feed: $(cat "$work/out")"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the worker (user worker) did not store the $total events"
ent=$(demo_keys ent 0 1 2 3)
n=0; for k in $ent; do n=$((n + $(demo_redis hlen "$k"))); done
[ "$n" -gt 0 ] || fail "no enterprise stored"
ok "the worker as user worker stored all $total events, $n enterprises"
s=0; "$bin/ladder-admin" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "ladder-admin check as user worker exited $s"
ok "ladder-admin check passes as user worker"

# -- the API as the read-only user -----------------------------------------
key=$(echo $ent | cut -d" " -f1)
uscc=$(demo_redis hscan "$key" 0 count 1 | sed -n 2p)
[ -n "$uscc" ] || fail "no enterprise in $key"
hp=$(demo_free_port)
LADDER_REDIS_URL=$api_url LADDER_HTTP_LISTEN=127.0.0.1:$hp "$bin/ladder-api" >"$work/api.log" 2>&1 & apid=$!
lt_wait_ready "http://127.0.0.1:$hp/readyz" || fail "ladder-api (user api) is not ready"
code=$(curl -s -o "$work/ent.json" -w "%{http_code}" "http://127.0.0.1:$hp/v1/enterprises/$uscc" || true)
{ [ "$code" = 200 ] && grep -q "\"$uscc\"" "$work/ent.json"; } || fail "GET enterprise $uscc: $code $(cat "$work/ent.json")"
code=$(curl -s -o "$work/stats.json" -w "%{http_code}" "http://127.0.0.1:$hp/v1/stats" || true)
[ "$code" = 200 ] || fail "GET /v1/stats: $code $(cat "$work/stats.json")"
ok "ladder-api as user api: enterprise $uscc and /v1/stats answer 200"
demo_stop "$wpid" || fail "the worker exited $? on SIGTERM"; wpid=""
log=$(acl_cli "$port" acl log)
[ -z "$log" ] || fail "the ACL LOG is not empty (a command or key missing from users.acl): $log"
ok "the ACL LOG is empty: users.acl grants all that the worker, ladder-admin and ladder-api sent"

# -- the api user cannot write ---------------------------------------------
for cmd in "set ldr:x 1" "hset $key $uscc x" "del $key" "flushall"; do
  # shellcheck disable=SC2086
  out=$(redis-cli -u "$api_url" --no-auth-warning $cmd 2>&1 || true)
  case "$out" in NOPERM*) ;; *) fail "the api user ran $cmd: $out" ;; esac
done
ok "the api user is refused SET, HSET, DEL and FLUSHALL (NOPERM)"

# -- the worker user: ladder s keys and commands only -----------------------
for cmd in "set other:x 1" "get other:x" "flushall" "keys ldr:x" "config get maxmemory" \
           "function delete ladder" "acl list" "shutdown nosave" "subscribe ldr:x"; do
  # shellcheck disable=SC2086
  out=$(timeout 5 redis-cli -u "$worker_url" --no-auth-warning $cmd 2>&1 || true)
  case "$out" in *NOPERM*) ;; *) fail "the worker user ran $cmd: $out" ;; esac
done
ok "the worker user is refused keys outside ldr:*, FLUSHALL, KEYS, CONFIG, FUNCTION DELETE, ACL, SHUTDOWN and channels (NOPERM)"
' "$src" "$bin"
