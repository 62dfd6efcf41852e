#!/usr/bin/env bash
# The tools with schema.registry.url set (ladder-registry over plain HTTP,
# with basic authentication, five other schemas registered first so that
# the registry ids cannot be taken for the local ids 1 to 5):
# - ladder-roundtrip registers the input schemas, writes the registry ids and
#   verifies every event read back (decoded through the registry);
# - ladder-gen --kafka writes the registry ids of the input records;
# - ladder-notify-bench writes the registry id of DesignationDecision, and
#   ladder-decisions decodes those decisions through the registry;
# - every message of both topics carries a registry id, none a local one;
# - ladder-bench, which runs its private stack on the local ids, refuses
#   schema.registry.url (exit 2, one line naming the key) before starting
#   anything.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
reg=
on_fail() { lt_show_logs 10 "$work/registry.log" "$work/rt.log" "$work/gen.log" "$work/nb.log" "$work/dec.log"; }
cleanup() { [ -n "$reg" ] && kill -TERM "$reg" 2>/dev/null; true; }
creds=ladder:tools-pass
lt_start_registry "$work/registry.log" --basic-auth "$creds"
export LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$reg_port
export LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=$creds
rcurl() { curl -sf -u "$creds" "$LADDER_SCHEMA_REGISTRY_URL$1" "${@:2}"; }
for i in 1 2 3 4 5; do
  rcurl /subjects/test.Filler$i/versions -X POST -H "Content-Type: application/vnd.schemaregistry.v1+json" \
    --data "{\"schema\": \"{\\\"type\\\": \\\"record\\\", \\\"name\\\": \\\"Filler$i\\\", \\\"fields\\\": []}\"}" >/dev/null ||
    fail "could not register filler schema $i"
done
subject_id() { rcurl "/subjects/ladder.v1.$1/versions/latest" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])"; }
# the distinct schema ids (bytes 1-4) of every message of TOPIC, sorted
topic_ids() {
  kcat -C -b "$LADDERTEST_BOOTSTRAP" -t "$1" -o beginning -e -q -f "%S\n%s\n" 2>/dev/null | /usr/bin/python3 -c "
import struct, sys
buf, at, ids = sys.stdin.buffer.read(), 0, set()
while at < len(buf):
    nl = buf.index(b\"\n\", at)
    size = int(buf[at:nl])
    ids.add(struct.unpack(\">I\", buf[nl + 2:nl + 6])[0])
    at = nl + 2 + size
print(\" \".join(str(i) for i in sorted(ids)))"
}

# 1. ladder-roundtrip: registers, writes and reads back the registry ids.
"$bin/ladder-roundtrip" --count 8 >"$work/rt.log" 2>&1 || fail "ladder-roundtrip with a registry: $(tail -3 "$work/rt.log")"
inputs=""
for r in ApplicationSubmitted ReviewSubmitted ViolationReported ClockTick; do
  id=$(subject_id $r) || fail "ladder-roundtrip did not register ladder.v1.$r"
  [ "$id" -gt 5 ] || fail "ladder.v1.$r has id $id"
  inputs="$inputs $id"
done
got=$(topic_ids ladder.events.v1)
for i in $got; do echo " $inputs " | grep -q " $i " || fail "ladder-roundtrip wrote schema id $i, not one of the registry ids$inputs"; done
ok "ladder-roundtrip verified its events with the registry ids $got (registry:$inputs)"

# 2. ladder-gen --kafka: the same ids, registered again (the same schemas).
before=$(demo_topic_total ladder.events.v1)
"$bin/ladder-gen" --scale 0.0002 --seed 5 --kafka --quiet >"$work/gen.log" 2>&1 || fail "ladder-gen --kafka with a registry: $(tail -3 "$work/gen.log")"
after=$(demo_topic_total ladder.events.v1)
[ "$after" -gt "$before" ] || fail "ladder-gen --kafka produced nothing"
got=$(topic_ids ladder.events.v1)
for i in $got; do echo " $inputs " | grep -q " $i " || fail "ladder-gen --kafka wrote schema id $i, not one of the registry ids$inputs"; done
[ "$(rcurl /subjects/ladder.v1.ApplicationSubmitted/versions)" = "[1]" ] || fail "a second registration of the same schema made a new version"
ok "ladder-gen --kafka wrote $((after - before)) messages, all with registry ids ($got)"

# 3. ladder-notify-bench writes decisions with the registry id; ladder-decisions reads them.
"$bin/ladder-notify-bench" --count 10 --prefix reg >"$work/nb.log" 2>&1 || fail "ladder-notify-bench with a registry: $(tail -3 "$work/nb.log")"
dec=$(subject_id DesignationDecision) || fail "ladder-notify-bench did not register ladder.v1.DesignationDecision"
[ "$dec" -gt 5 ] || fail "ladder.v1.DesignationDecision has id $dec"
[ "$(topic_ids ladder.decisions.v1)" = "$dec" ] || fail "the decisions carry ids $(topic_ids ladder.decisions.v1), not the registry id $dec"
timeout 30 "$bin/ladder-decisions" --count 10 --idle-ms 200 --out "$work/dec.jsonl" >"$work/dec.log" 2>&1 || fail "ladder-decisions: $(tail -2 "$work/dec.log")"
[ "$(grep -c "\"decision_id\": *\"reg-" "$work/dec.jsonl")" -eq 10 ] || fail "ladder-decisions decoded $(wc -l <"$work/dec.jsonl") decisions, not the 10 of ladder-notify-bench"
ok "ladder-notify-bench wrote 10 decisions with registry id $dec; ladder-decisions decoded them through the registry"

# 4. ladder-bench refuses the key rather than run on local ids.
rc=0
timeout 10 "$bin/ladder-bench" --events 1000 >"$work/bench.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "ladder-bench with schema.registry.url exited $rc, want 2"
[ "$(wc -l <"$work/bench.log")" -eq 1 ] && grep -q "schema.registry.url" "$work/bench.log" || fail "ladder-bench: $(cat "$work/bench.log")"
ok "ladder-bench refuses schema.registry.url: $(cat "$work/bench.log")"
' "$src" "$bin"
