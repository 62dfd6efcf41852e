#!/usr/bin/env bash
# ladder-admin check and the schema registry (ladder-registry with basic
# authentication, on a private stack):
# - without schema.registry.url there is no registry line;
# - with it, "ok schema registry" gives the number of subjects and how many
#   are ladder records (none before a producer starts, five after one did),
#   in the text and in --json;
# - a registry that does not answer, and wrong credentials, are each a FAIL
#   line naming the registry with a fix (exit 1), the other checks still ok.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
reg=
on_fail() { lt_show_logs all "$work/out"; lt_show_logs 5 "$work/registry.log"; }
cleanup() { [ -n "$reg" ] && kill -TERM "$reg" 2>/dev/null; true; }
A=$bin/ladder-admin
creds=ladder:admin-pass

s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "check without a registry exited $s"
! grep -q "schema registry" "$work/out" || fail "check printed a registry line without schema.registry.url"
ok "no schema.registry.url: no registry line"

lt_start_registry "$work/registry.log" --basic-auth "$creds"
url=http://127.0.0.1:$reg_port
export LADDER_SCHEMA_REGISTRY_URL=$url LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=$creds

s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "check with an empty registry exited $s"
grep -q "^ok   schema registry: $url: 0 subject(s), 0 of them ladder.v1 records" "$work/out" ||
  fail "no ok line for the empty registry"
ok "empty registry: $(grep "schema registry" "$work/out")"

"$bin/ladder-roundtrip" --count 1 >"$work/rt.log" 2>&1 || fail "ladder-roundtrip: $(tail -2 "$work/rt.log")"
s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 0 ] || fail "check after a producer registered exited $s"
grep -q "^ok   schema registry: $url: 5 subject(s), 5 of them ladder.v1 records$" "$work/out" ||
  fail "the registry line does not count the five records"
"$A" check --json >"$work/check.json" || fail "check --json failed"
/usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
c = [c for c in j[\"checks\"] if c[\"check\"] == \"schema registry\"]
sys.exit(not (j[\"ok\"] and len(c) == 1 and c[0][\"ok\"] and \"5 subject(s)\" in c[0][\"detail\"]))" "$work/check.json" ||
  fail "check --json has no ok schema registry entry: $(cat "$work/check.json")"
ok "after a producer started: $(grep "schema registry" "$work/out")"

s=0; LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=ladder:wrong "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "check with wrong registry credentials exited $s, want 1"
grep -q "^FAIL schema registry: schema registry at $url: .*HTTP 401.*fix: correct schema.registry.basic.auth.user.info" "$work/out" ||
  fail "no FAIL line with a fix for wrong credentials"
grep -q "^ok   redis: " "$work/out" || fail "check lost the Redis lines"
ok "wrong credentials: $(grep "schema registry" "$work/out" | cut -c1-160)"

kill -TERM "$reg"; wait "$reg" 2>/dev/null || true; reg=
s=0; "$A" check >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "check with the registry down exited $s, want 1"
grep -q "^FAIL schema registry: schema registry at $url: .*fix: start the schema registry at $url" "$work/out" ||
  fail "no FAIL line with a fix for a registry that is down"
grep -q "^ok   kafka topic ladder.events.v1" "$work/out" || fail "check lost the Kafka lines"
ok "registry down: $(grep "schema registry" "$work/out" | cut -c1-160)"
' "$src" "$bin"
