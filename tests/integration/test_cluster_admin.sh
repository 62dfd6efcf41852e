#!/usr/bin/env bash
# ladder-admin on a private Redis Cluster (3 masters, 3 replicas:
# tests/support/with-cluster): check reports every master's PING, functions
# and cluster state; partition and enterprise read the partition's master;
# rebuild (--force, the worker stopped) drops the partition on its master
# and a restarted worker replays it to the same state.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-cluster" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
A=$bin/ladder-admin
wpid=""
cleanup() { [ -z "$wpid" ] || demo_stop "$wpid" || true; }
on_fail() { lt_show_logs 10 "$work/worker.log" "$work/worker2.log" "$work/out"; }
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
rc() { demo_redis "$@"; }

s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "check on the cluster exited $s"
grep -q "^ok   redis: .*a Redis Cluster" "$work/out" || fail "check did not see a cluster"
for what in ping functions cluster_state; do
  n=$(grep -c "^ok   redis 127.0.0.1:[0-9]* $what: " "$work/out" || true)
  [ "$n" -eq 3 ] || fail "check: $n masters passed $what, want 3"
done
ok "check: 3 masters answer PING, hold the functions, cluster_state:ok"

"$bin/ladder-gen" --scale 0.001 --seed 5 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the worker did not store the $total events"
p=2; meta=$(demo_keys meta $p); ent=$(demo_keys ent $p)
"$A" partition $p --json >"$work/part.json" || fail "partition $p failed"
want="$(rc hget "$meta" next_offset) $(rc hlen "$ent")"
got=$(jget "$work/part.json" "\"%d %d\" % (j[\"next_offset\"], j[\"enterprises\"])")
[ "$(jget "$work/part.json" "j[\"timers\"] > 0")" = True ] || fail "partition $p counts no timers: $(cat "$work/part.json")"
[ "$got" = "$want" ] || fail "partition $p says $got, the cluster holds $want"
[ "$(jget "$work/part.json" "j[\"owner_alive\"]")" = True ] || fail "partition $p: owner not alive"
u=$(rc hkeys "$ent" | head -1)
"$A" enterprise "$u" --json >"$work/ent.json" || fail "enterprise $u failed"
[ "$(jget "$work/ent.json" "j[\"partition\"]")" = "$p" ] || fail "enterprise $u: wrong partition"
ok "partition $p and enterprise $u as the cluster holds them ($got)"

dump() { lt_hash_dump "$ent"; rc hget "$meta" next_offset; }
digest() { dump | md5sum; }
dump >"$work/before.dump"
before=$(digest)
demo_stop "$wpid" || fail "the worker exited $? on SIGTERM"; wpid=""
"$A" rebuild --partition $p --force >"$work/out" 2>&1 || fail "rebuild --force: $(cat "$work/out")"
[ "$(rc hlen "$ent")" -eq 0 ] && [ -z "$(rc hget "$meta" next_offset)" ] || fail "rebuild left state behind"
"$bin/ladder-worker" >"$work/worker2.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the restarted worker did not store the $total events"
[ "$(digest)" = "$before" ] || fail "partition $p replayed to a different state: $(dump | diff "$work/before.dump" - | head -20)"
ok "rebuild on the cluster, and the replay reached the same state"
' "$src" "$bin"
