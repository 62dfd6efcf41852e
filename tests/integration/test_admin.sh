#!/usr/bin/env bash
# ladder-admin against a private stack: check passes on a good stack and
# names the broken piece (exit 1) when Redis or Kafka cannot be reached;
# partition and enterprise show what the worker stored (compared with what
# Redis holds, through tests/support/store_keys.py); rebuild is refused
# while the owner's heartbeat is fresh, allowed once the worker stopped,
# and a restarted worker replays the partition to the same state; with
# --force under a running worker, the worker is fenced at its next batch
# and replays the partition itself.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
A=$bin/ladder-admin
wpid=""
cleanup() { [ -z "$wpid" ] || demo_stop "$wpid" || true; }
on_fail() { lt_show_logs 10 "$work/worker.log" "$work/worker2.log" "$work/out"; }
# jget FILE EXPR: EXPR of the JSON object in FILE (as j), printed.
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
rc() { demo_redis "$@"; }

# ---- check -------------------------------------------------------------
s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "check on a good stack exited $s"
grep -q "^all checks passed" "$work/out" || fail "check did not say all passed"
[ "$(grep -c "^ok " "$work/out")" -ge 8 ] || fail "check printed too few ok lines"
"$A" check --json >"$work/check.json" || fail "check --json failed"
[ "$(jget "$work/check.json" "j[\"ok\"] and all(c[\"ok\"] for c in j[\"checks\"])")" = True ] || fail "check --json is not ok"
ok "check passes on a good stack ($(grep -c "^ok " "$work/out") checks)"

dead=$(demo_free_port)
s=0; LADDER_REDIS_URL=redis://127.0.0.1:$dead/0 "$A" check --timeout-ms 2000 >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "check with Redis down exited $s, want 1"
grep -q "^FAIL redis: .*fix: start Redis" "$work/out" || fail "check did not name Redis: $(grep FAIL "$work/out")"
grep -q "^ok   kafka topic ladder.events.v1" "$work/out" || fail "check lost the Kafka lines"
ok "Redis down: $(grep -m1 "^FAIL" "$work/out" | cut -c1-100)"
s=0; LADDER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$dead "$A" check --timeout-ms 2000 >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "check with Kafka down exited $s, want 1"
grep -q "^FAIL kafka: .*fix: start the Kafka cluster" "$work/out" || fail "check did not name Kafka: $(grep FAIL "$work/out")"
grep -q "^ok   redis: " "$work/out" || fail "check lost the Redis lines"
ok "Kafka down: $(grep -m1 "^FAIL" "$work/out" | cut -c1-100)"
s=0; LADDER_NO_SUCH_KEY=1 "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 2 ] && grep -q "^FAIL config: " "$work/out" || fail "a bad configuration gave $s: $(cat "$work/out")"
ok "a bad configuration: exit 2"

# ---- a small stream, one worker ---------------------------------------
"$bin/ladder-gen" --scale 0.001 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the worker did not store the $total events"
ok "the worker stored $total events"

# the partition with the most enterprises
p=0; best=-1
for i in 0 1 2 3; do n=$(rc hlen "$(demo_keys ent $i)"); [ "$n" -gt "$best" ] && { best=$n; p=$i; }; done
meta=$(demo_keys meta $p); ent=$(demo_keys ent $p); notices=$(demo_keys notices $p)

# ---- partition ---------------------------------------------------------
"$A" partition $p --json >"$work/part.json" || fail "partition $p failed"
want="$(rc hget "$meta" epoch) $(rc hget "$meta" next_offset) $(rc hlen "$ent") $(rc xlen "$notices")"
got=$(jget "$work/part.json" "j[\"owner_epoch\"], j[\"next_offset\"], j[\"enterprises\"], j[\"notices\"]" | tr -d "(),")
[ "$got" = "$want" ] || fail "partition $p says epoch/offset/enterprises/notices $got, Redis holds $want"
[ "$(jget "$work/part.json" "j[\"log_end\"] == j[\"next_offset\"] and j[\"lag\"] == 0 and j[\"log_start\"] == 0")" = True ] || fail "partition $p: log bounds or lag wrong: $(cat "$work/part.json")"
[ "$(jget "$work/part.json" "j[\"owner_alive\"] and 0 <= j[\"heartbeat_age_ms\"] < 6000")" = True ] || fail "partition $p: no fresh heartbeat: $(cat "$work/part.json")"
# the worker may have refreshed it since: not older, at most one refresh on
d=$(( $(rc hget "$meta" heartbeat) - $(jget "$work/part.json" "j[\"heartbeat_ms\"]") ))
[ "$d" -ge 0 ] && [ "$d" -le 3000 ] || fail "the heartbeat differs from Redis by $d ms"
"$A" partition $p >"$work/out" || fail "partition $p (text) failed"
grep -q "owner alive" "$work/out" || fail "partition text does not say the owner is alive"
ok "partition $p: epoch, offset $(jget "$work/part.json" "j[\"next_offset\"]"), $(jget "$work/part.json" "j[\"enterprises\"]") enterprises, lag 0, heartbeat as Redis holds them"
# The states hold the timers (no sorted set beside them): the partition
# counts them by decoding every state, which must be the sum of what
# "enterprise" shows for each of its enterprises.
[ "$(rc exists "$(demo_keys timers $p)")" = 0 ] || fail "partition $p still has a timers sorted set"
sum=0
for u in $(rc hkeys "$ent"); do
  "$A" enterprise "$u" --json >"$work/e1.json" || fail "enterprise $u failed"
  sum=$((sum + $(jget "$work/e1.json" "len(j[\"timers\"])")))
done
[ "$(jget "$work/part.json" "j[\"timers\"]")" = "$sum" ] || fail "partition $p counts $(jget "$work/part.json" "j[\"timers\"]") timers, its enterprises show $sum"
[ "$sum" -gt 0 ] || fail "partition $p has no timer at all"
ok "partition $p: $sum timers, the sum over its enterprises"
s=0; "$A" partition 4 >/dev/null 2>&1 || s=$?
[ "$s" -eq 2 ] || fail "partition 4 of 4 exited $s, want 2"

# ---- enterprise --------------------------------------------------------
# one with a notice when the partition has one, else the first
# (the entries are in their compact form: tests/support/notice.py reads them)
/usr/bin/python3 "$src/tests/support/notice.py" xrange "$LADDERTEST_REDIS_URL" "$notices" >"$work/notices.jsonl" \
  || fail "notice.py could not read $notices"
u=$(head -1 "$work/notices.jsonl" | /usr/bin/python3 -c "import json,sys
for l in sys.stdin: print(json.loads(l)[\"decision\"][\"uscc\"])")
[ -n "$u" ] || u=$(rc hkeys "$ent" | head -1)
"$A" enterprise "$u" --json >"$work/ent.json" || fail "enterprise $u failed"
[ "$(jget "$work/ent.json" "\"%d %s\" % (j[\"partition\"], j[\"uscc\"])")" = "$p $u" ] || fail "enterprise $u: wrong partition or USCC"
# A designated tier's validity ends at its valid_until, and its review
# window opens 120 days before (POLICY.md): the timers shown are the state's.
[ "$(jget "$work/ent.json" "all(any(t[\"tier\"] == n and t[\"kind\"] == \"VALIDITY_END\" and t[\"due\"] == x[\"valid_until\"] for t in j[\"timers\"]) for n, x in j[\"tiers\"].items() if x[\"state\"] == \"DESIGNATED\")")" = True ] \
  || fail "enterprise $u: a designated tier without its validity-end timer: $(cat "$work/ent.json")"
want=$(/usr/bin/python3 -c "import json,sys
print(sum(json.loads(l)[\"decision\"][\"uscc\"] == sys.argv[1] for l in open(sys.argv[2])))" "$u" "$work/notices.jsonl")
[ "$(jget "$work/ent.json" "len(j[\"notices\"])")" = "$want" ] || fail "enterprise $u: notices differ from the stream ($want)"
# ladder-admin decodes the compact form in C, notice.py in Python: the same
# ids and the same JSON form, field for field
same=$(/usr/bin/python3 -c "import json,sys
a = [(n[\"id\"], n[\"decision\"]) for n in json.load(open(sys.argv[1]))[\"notices\"]]
b = [(e[\"id\"], e[\"decision\"]) for e in map(json.loads, open(sys.argv[2])) if e[\"decision\"][\"uscc\"] == sys.argv[3]]
print(a == b and len(a) > 0)" "$work/ent.json" "$work/notices.jsonl" "$u")
[ "$want" -eq 0 ] || [ "$same" = True ] || fail "enterprise $u: ladder-admin shows other notices than the stream holds"
[ "$(jget "$work/ent.json" "len(j[\"history\"]) > 0 and j[\"found\"]")" = True ] || fail "enterprise $u: no history"
"$A" enterprise "$u" >"$work/out" || fail "enterprise $u (text) failed"
grep -q "^enterprise $u: .* partition $p" "$work/out" || fail "enterprise text: $(head -1 "$work/out")"
ok "enterprise $u: partition $p, $(jget "$work/ent.json" "len(j[\"timers\"])") timers and $want notices as Redis holds them"
s=0; "$A" enterprise 91350100M000100Y43 >/dev/null 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "an unknown enterprise exited $s, want 1"
s=0; "$A" enterprise 123 >/dev/null 2>&1 || s=$?
[ "$s" -eq 2 ] || fail "an invalid USCC exited $s, want 2"
ok "unknown enterprise: 1, invalid USCC: 2"

# ---- rebuild -----------------------------------------------------------
# the partition as the worker stored it: enterprises, timers, counters, offset, clock
dump() {
  { lt_hash_dump "$ent"; rc hgetall "$(demo_keys counters $p)" | paste - - | sort; rc hget "$meta" next_offset; rc hget "$meta" clock; }; }
digest() { dump | md5sum; }
dump >"$work/before.dump"
before=$(digest)
epoch=$(rc hget "$meta" epoch)
s=0; "$A" rebuild --partition $p --json >"$work/rb.json" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "rebuild under a running worker exited $s, want 1"
[ "$(jget "$work/rb.json" "j[\"outcome\"]")" = refused_owner_alive ] || fail "rebuild: $(cat "$work/rb.json")"
[ "$(digest)" = "$before" ] && [ "$(rc hget "$meta" epoch)" = "$epoch" ] || fail "a refused rebuild changed the store"
ok "rebuild refused while the worker runs: $(jget "$work/rb.json" "j[\"message\"]" | cut -c1-70)"
demo_stop "$wpid" || fail "the worker exited $? on SIGTERM"; wpid=""
# the heartbeat ages past 3 intervals
sleep 6.5
s=0; "$A" rebuild --partition $p >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "rebuild after the worker stopped exited $s: $(cat "$work/out")"
[ "$(rc hlen "$ent")" -eq 0 ] && [ -z "$(rc hget "$meta" next_offset)" ] && [ "$(rc exists "$timers")" -eq 0 ] || fail "rebuild left state behind"
[ "$(rc hget "$meta" epoch)" -eq $((epoch + 1)) ] || fail "rebuild did not bump the epoch"
ok "rebuild after the worker stopped: $(cut -c1-90 "$work/out")"
"$bin/ladder-worker" >"$work/worker2.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the restarted worker did not store the $total events"
grep -q "partition $p: owner epoch .*, 0 enterprises, resuming at offset -1" "$work/worker2.log" || fail "the restarted worker did not replay partition $p from the start"
[ "$(digest)" = "$before" ] || fail "partition $p replayed to a different state: $(dump | diff "$work/before.dump" - | head -20)"
ok "the restarted worker replayed partition $p to the same state"

# --force under the running worker: it is fenced at its next batch (one
# message that is a dead letter) and replays the partition itself.
state() { lt_hash_dump "$ent" | md5sum; }
was=$(state); next=$(rc hget "$meta" next_offset)
"$A" rebuild --partition $p --force >"$work/out" 2>&1 || fail "rebuild --force under the worker: $(cat "$work/out")"
[ "$(rc hlen "$ent")" -eq 0 ] || fail "rebuild --force left state behind"
echo "not an event" | kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p $p -k 91350100M000100Y43 || fail "kcat"
# a function, so that each try reads the offset again
replayed() { [ "$(rc hget "$meta" next_offset)" = $((next + 1)) ]; }
lt_retry 300 0.2 replayed || fail "the worker did not replay partition $p after rebuild --force (next offset $(rc hget "$meta" next_offset))"
# its first claim at start, then the reload after the fence
[ "$(grep -c "partition $p: owner epoch .*, 0 enterprises, resuming at offset -1" "$work/worker2.log")" -eq 2 ] || fail "the running worker did not reload partition $p empty"
[ "$(state)" = "$was" ] || fail "partition $p replayed to a different state after rebuild --force"
ok "rebuild --force under a running worker: it reloaded partition $p and replayed it to the same state"
' "$src" "$bin"
