#!/usr/bin/env bash
# test_registry_npm.sh -- ladder-registry as a third-party client sees it:
# @kafkajs/confluent-schema-registry (Node.js, the npm package) registers
# schemas/designation_decision.avsc through basic auth, fetches it back by
# id, encodes a record in the Confluent wire format and decodes it
# (registry_client.js); then curl checks that the ids it saw are the ones
# the registry serves, and that the text by id is the file's.
#
# The package is installed once, like tests/deploy's kubernetes-models, into
# LADDERTEST_DEPLOY_CACHE (default build/deploy-cache), in a directory of
# its own. When npm cannot install it (no registry reachable) the test
# fails and says so: it never skips.
. "$(dirname "$0")/../support/lib.sh"
lt_init
here=$src/tests/interop
pkg=@kafkajs/confluent-schema-registry@4.1.0
cache=${LADDERTEST_DEPLOY_CACHE:-$src/build/deploy-cache}
client=$cache/registry-client
REG="$bin/ladder-registry"
PY=/usr/bin/python3
subject=ladder.v1.DesignationDecision
creds='ladder:interop-pass'

for tool in node npm curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (./tools/test installs it)"
done
[[ -x $REG ]] || fail "build first: $REG is missing"

lt_npm_install "$client" "$cache/npm" "$pkg" ||
    fail "npm could not install $pkg into $client (is an npm registry reachable?)"
ok "$pkg is installed in $client"

lt_tmpdir tmp ladder-registry-npm
pid=
cleanup() {
    [[ -z $pid ]] && return
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
on_fail() { lt_show_logs 20 "$tmp/registry.log"; }

"$REG" --listen 127.0.0.1:0 --port-file "$tmp/port" --basic-auth "$creds" \
    >"$tmp/registry.log" 2>&1 &
pid=$!
lt_wait_file "$tmp/port" || fail "ladder-registry did not start"
url=http://127.0.0.1:$(cat "$tmp/port")

out=$(NODE_PATH=$client/node_modules node "$here/registry_client.js" "$url" "$creds" \
    "$src/schemas/designation_decision.avsc") || fail "the client failed: $out"
echo "# client: $out"
ok "the client registered, fetched by id, encoded and decoded a DesignationDecision"

field() { "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
id=$(field "$out" id)
for k in latest by_schema wire_id; do
    [[ $(field "$out" "$k") == "$id" ]] || fail "the client's $k is $(field "$out" "$k"), its id $id"
done
seen=$(curl -sf -u "$creds" "$url/subjects/$subject/versions/latest") || fail "curl: no latest version"
[[ $(field "$seen" id) == "$id" ]] || fail "curl sees id $(field "$seen" id) for $subject, the client $id"
[[ $(field "$seen" version) == 1 ]] || fail "the client's two registrations made $(field "$seen" version) versions"
curl -sf -u "$creds" "$url/schemas/ids/$id" >"$tmp/by_id.json" || fail "curl: no schema $id"
"$PY" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["schema"] != open(sys.argv[2]).read())' \
    "$tmp/by_id.json" "$src/schemas/designation_decision.avsc" ||
    fail "the schema served for id $id is not the file's text"
ok "curl sees the client's id $id, one version, and the file's text by id"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[[ $rc == 0 ]] || fail "ladder-registry exited $rc after SIGTERM, expected 0"
ok "ladder-registry stops with exit 0"
