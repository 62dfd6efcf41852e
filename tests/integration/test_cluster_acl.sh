#!/usr/bin/env bash
# ladder as the Redis ACL users of deploy/redis/users.acl on a private Redis
# Cluster (tests/support/with-cluster): the users are loaded into all six
# nodes (ACL SETUSER, the default user off last); the worker decides a
# small history as the worker user through the cluster router (CLUSTER
# SLOTS, FUNCTION LOAD on every master, FCALL); ladder-api answers an
# enterprise and /v1/stats as the api user; no node logs an ACL refusal;
# the api user cannot write; a wrong password is a start-up error naming
# the user, never the password; the api user reads from a replica after
# READONLY.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-cluster" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
. "$src/tests/support/acl.sh"
wpid="" apid=""
cleanup() { for p in $apid $wpid; do demo_stop "$p" || true; done; }
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/api.log" "$work/out"; }

for p in $LADDERTEST_CLUSTER_PORTS; do acl_setuser "$p" || fail "ACL SETUSER on node $p"; done
out=$(redis-cli -p "${LADDERTEST_CLUSTER_PORTS%% *}" ping 2>&1 || true)
case "$out" in *NOAUTH*) ok "users loaded on the 6 nodes; the default user is off" ;;
  *) fail "PING without a user answered: $out" ;; esac
hosts=${LADDERTEST_REDIS_URL#redis://}
worker_url=redis://worker:$acl_worker_pw@$hosts
api_url=redis://api:$acl_api_pw@$hosts

s=0; LADDER_REDIS_URL=redis://worker:Wrong-Pw-8086@$hosts timeout 20 "$bin/ladder-worker" >"$work/out" 2>&1 || s=$?
{ [ "$s" -ne 0 ] && grep -q "AUTH as user \"worker\" refused" "$work/out" && ! grep -q "Wrong-Pw-8086" "$work/out"; } ||
  fail "wrong password: exit $s: $(cat "$work/out")"
ok "wrong password: exit $s, names the user, no password shown"
for p in $LADDERTEST_CLUSTER_PORTS; do acl_cli "$p" acl log reset >/dev/null; done

export LADDER_REDIS_URL=$worker_url
"$bin/ladder-gen" --scale 0.001 --seed 11 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/out" 2>&1 || fail "ladder-feed: $(cat "$work/out")"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the worker (user worker) did not store the $total events"
key=$(demo_keys ent 1)
uscc=$(demo_redis hscan "$key" 0 count 1 | sed -n 2p)
[ -n "$uscc" ] || fail "no enterprise in $key"
ok "the worker as user worker stored all $total events on the cluster"

hp=$(demo_free_port)
LADDER_REDIS_URL=$api_url LADDER_HTTP_LISTEN=127.0.0.1:$hp "$bin/ladder-api" >"$work/api.log" 2>&1 & apid=$!
lt_wait_ready "http://127.0.0.1:$hp/readyz" || fail "ladder-api (user api) is not ready"
code=$(curl -s -o "$work/ent.json" -w "%{http_code}" "http://127.0.0.1:$hp/v1/enterprises/$uscc" || true)
{ [ "$code" = 200 ] && grep -q "\"$uscc\"" "$work/ent.json"; } || fail "GET enterprise $uscc: $code $(cat "$work/ent.json")"
code=$(curl -s -o "$work/stats.json" -w "%{http_code}" "http://127.0.0.1:$hp/v1/stats" || true)
[ "$code" = 200 ] || fail "GET /v1/stats: $code $(cat "$work/stats.json")"
ok "ladder-api as user api on the cluster: enterprise $uscc and /v1/stats answer 200"
demo_stop "$wpid" || fail "the worker exited $? on SIGTERM"; wpid=""
for p in $LADDERTEST_CLUSTER_PORTS; do
  # Only the users of ladder count: the replicas of with-cluster replicate
  # as the default user, refused once it is off.
  users=$(acl_cli "$p" acl log | grep -x -A1 username | grep -v -x -e username -e -- -e default || true)
  [ -z "$users" ] || fail "node $p: the ACL LOG has refusals of $users: $(acl_cli "$p" acl log)"
done
ok "no node logged an ACL refusal of the worker or api user"

out=$(LADDER_REDIS_URL=$api_url demo_redis set ldr:x 1 2>&1 || true)
case "$out" in NOPERM*) ;; *) fail "the api user ran SET: $out" ;; esac
out=$(LADDER_REDIS_URL=$api_url demo_redis hset "$key" "$uscc" x 2>&1 || true)
case "$out" in NOPERM*) ;; *) fail "the api user ran HSET: $out" ;; esac
ok "the api user is refused SET and HSET on the cluster (NOPERM)"

# The api user may read from a replica: READONLY, then a read of a key
# whose slot that replica serves. Every replica takes READONLY; the one of
# the key s master answers HLEN itself, the others redirect (MOVED). The
# replicas replicate as admin (masteruser), so their links stay up with the
# default user off, and the one that serves the key has every enterprise.
links_up() {
  local p
  for p in $LADDERTEST_CLUSTER_PORTS; do
    acl_cli "$p" role | head -1 | grep -q slave || continue
    acl_cli "$p" info replication | grep -q "^master_link_status:up" || return 1
  done
}
lt_retry 100 0.1 links_up || fail "a replica lost its master link with the default user off: $(for p in $LADDERTEST_CLUSTER_PORTS; do acl_cli "$p" info replication | grep -E "^(role|master_link_status)"; done | tr "\r\n" "  ")"
want_n=$(acl_cli "${LADDERTEST_CLUSTER_PORTS%% *}" -c hlen "$key")
served=0 replicas=0
for p in $LADDERTEST_CLUSTER_PORTS; do
  acl_cli "$p" role | head -1 | grep -q slave || continue
  replicas=$((replicas + 1))
  out=$(printf "READONLY\nHLEN %s\n" "$key" |
    redis-cli -p "$p" --user api --pass "$acl_api_pw" --no-auth-warning 2>&1 || true)
  case "$out" in *NOPERM*|*NOAUTH*) fail "replica $p, user api: READONLY and HLEN: $out" ;; esac
  [ "$(echo "$out" | head -1)" = OK ] || fail "replica $p, user api: READONLY answered: $out"
  n=$(echo "$out" | sed -n 2p)
  case "$n" in MOVED*) ;; *[!0-9]*|"") fail "replica $p: HLEN $key answered: $out" ;;
    *) served=$((served + 1))
       [ "$n" = "$want_n" ] || fail "replica $p holds $n of the $want_n enterprises of $key" ;; esac
done
[ "$replicas" -eq 3 ] && [ "$served" -eq 1 ] || fail "$replicas replicas, $served served $key after READONLY (want 3 and 1)"
ok "the api user reads from a replica: READONLY on the 3 replicas, HLEN $key answered by the one of its master with all $want_n enterprises, every replica link up"
' "$src" "$bin"
