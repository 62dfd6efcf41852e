#!/usr/bin/env bash
# test_registry_decisions.sh -- decisions that ladder-worker wrote with schema
# registry ids, read by two independent Avro implementations:
# - @kafkajs/confluent-schema-registry (npm) decodes every raw message through
#   ladder-registry (registry.decode: the schema by the id in bytes 1-4),
#   with the package defaults and with wrapUnions and a Date logical type
#   (decisions_client.js says how both are normalised);
# - Debian python3-avro decodes every message body (after the 5-byte frame)
#   with schemas/designation_decision.avsc alone (avro_interop.py
#   read-decisions).
# Each decoded decision is compared field by field with ladder's own JSON
# form of the same message (ladder-decisions, which resolves the id through
# the registry too). Any difference, a missing or an extra decision fails.
# The raw values come from kcat -f "%p %o %S\n%s\n" (the size before the
# bytes, so the dump is binary safe).
#
# The npm package is installed as in test_registry_npm.sh; when npm cannot
# install it the test fails and says so: it never skips.
. "$(dirname "$0")/../support/lib.sh"
lt_init
pkg=@kafkajs/confluent-schema-registry@4.1.0
cache=${LADDERTEST_DEPLOY_CACHE:-$src/build/deploy-cache}
export LADDERTEST_NPM_CLIENT=$cache/registry-client
for tool in node npm kcat curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (./tools/test installs it)"
done
[[ -x $bin/ladder-registry ]] || fail "build first: $bin/ladder-registry is missing"
lt_npm_install "$LADDERTEST_NPM_CLIENT" "$cache/npm" "$pkg" ||
    fail "npm could not install $pkg into $LADDERTEST_NPM_CLIENT (is an npm registry reachable?)"
ok "$pkg is installed"

exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
reg=
worker=
on_fail() { lt_show_logs 10 "$work/worker.log" "$work/registry.log" "$work/dec.log"; }
cleanup() {
  [ -n "$worker" ] && kill -TERM "$worker" 2>/dev/null
  [ -n "$reg" ] && kill -TERM "$reg" 2>/dev/null
  true
}
creds=ladder:interop-pass
lt_start_registry "$work/registry.log" --basic-auth "$creds"
export LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$reg_port
export LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=$creds
rcurl() { curl -sf -u "$creds" "$LADDER_SCHEMA_REGISTRY_URL$1" "${@:2}"; }
# Filler schemas first, so the registry ids (from 6 on) cannot be the local ones.
for i in 1 2 3 4 5; do
  rcurl /subjects/test.Filler$i/versions -X POST -H "Content-Type: application/vnd.schemaregistry.v1+json" \
    --data "{\"schema\": \"{\\\"type\\\": \\\"record\\\", \\\"name\\\": \\\"Filler$i\\\", \\\"fields\\\": []}\"}" >/dev/null ||
    fail "could not register filler schema $i"
done

"$bin/ladder-gen" --scale 0.0005 --seed 7 --single --until 2023-01-01T00:00:00Z --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(tail -2 "$work/feed.log")"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
total=$(demo_topic_total ladder.events.v1)
for _ in $(seq 1 300); do read -r s left <<<"$(demo_stored)"; [ "$s" -eq "$total" ] && [ "$left" -eq 0 ] && break; sleep 0.1; done
[ "$s" -eq "$total" ] && [ "$left" -eq 0 ] || fail "the worker stored $s of $total input messages, $left decisions unpublished"
kill -TERM "$worker"; wait "$worker" || fail "ladder-worker exited $?"
worker=
id=$(rcurl /subjects/ladder.v1.DesignationDecision/versions/latest | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])") ||
  fail "the worker did not register ladder.v1.DesignationDecision"
[ "$id" -gt 5 ] || fail "ladder.v1.DesignationDecision has id $id, which a local id could be"
n=$(demo_topic_total ladder.decisions.v1)
[ "$n" -ge 20 ] || fail "only $n decisions: too few to compare"
ok "ladder-worker decided $total input messages into $n decisions, registry id $id"

timeout 60 "$bin/ladder-decisions" --count "$n" --idle-ms 300 --out "$work/decisions.jsonl" >"$work/dec.log" 2>&1 ||
  fail "ladder-decisions: $(tail -2 "$work/dec.log")"
[ "$(wc -l <"$work/decisions.jsonl")" -eq "$n" ] || fail "ladder-decisions wrote $(wc -l <"$work/decisions.jsonl") of $n decisions"
kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -o beginning -e -q -f "%p %o %S\n%s\n" >"$work/decisions.dump" 2>"$work/kcat.log" ||
  fail "kcat: $(tail -2 "$work/kcat.log")"
ok "ladder-decisions decoded $n decisions; kcat dumped $(wc -c <"$work/decisions.dump") bytes of raw messages"

out=$(NODE_PATH=$LADDERTEST_NPM_CLIENT/node_modules node "$LADDERTEST_SRC/tests/interop/decisions_client.js" \
  "$LADDER_SCHEMA_REGISTRY_URL" "$creds" "$work/decisions.dump" "$work/decisions.jsonl" "$id" 2>&1) ||
  fail "the npm client and ladder disagree: $out"
echo "# npm client: $out"
ok "@kafkajs/confluent-schema-registry decoded all $n decisions through the registry, every field equal to ladder-decisions"

out=$(/usr/bin/python3 "$LADDERTEST_SRC/tests/interop/avro_interop.py" read-decisions \
  "$LADDERTEST_SRC/schemas/designation_decision.avsc" "$work/decisions.dump" "$work/decisions.jsonl" 2>&1) ||
  fail "python3-avro and ladder disagree: $out"
echo "# $out"
ok "python3-avro decoded all $n decisions from designation_decision.avsc, every field equal to ladder-decisions"
' "$src" "$bin"
