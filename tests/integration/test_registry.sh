#!/usr/bin/env bash
# test_registry.sh -- ladder-registry answers the Confluent REST API the way
# clients rely on: registering is idempotent per subject, one schema has one
# id across subjects, lookups and fetches by id agree, the documented error
# codes come with the right HTTP status, basic auth refuses a missing or
# wrong password with 401/40101, and HTTPS works with a CA made here (and
# plain HTTP to the TLS port gets no answer). Bad options exit 2.
#
# Needs LADDERTEST_SRC, LADDERTEST_BIN, curl, openssl and python3. Every
# registry runs on a free port (--listen 127.0.0.1:0 --port-file) and the
# EXIT trap stops it.
. "$(dirname "$0")/../support/lib.sh"
lt_init
REG="$bin/ladder-registry"
PY=/usr/bin/python3
CT='Content-Type: application/vnd.schemaregistry.v1+json'
for tool in curl openssl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (./tools/test installs it)"
done
[[ -x $REG ]] || fail "build first: $REG is missing"

lt_tmpdir tmp ladder-registry-test
pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

on_fail() { lt_show_logs 20 "$tmp"/*.log; }

# start NAME ARGS...: starts a registry, sets $port and $pid.
start() {
    local name=$1
    shift
    rm -f "$tmp/$name.port"
    "$REG" --listen 127.0.0.1:0 --port-file "$tmp/$name.port" "$@" \
        >"$tmp/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    lt_wait_file "$tmp/$name.port" || fail "$name: no port file"
    port=$(cat "$tmp/$name.port")
}

# req METHOD PATH [BODY]: sets $status and $body (against $url, with
# the curl options in $curl_opts).
curl_opts=()
req() {
    local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1" "${curl_opts[@]}")
    [[ $# -lt 3 ]] || args+=(-H "$CT" --data-binary "$3")
    status=$(curl "${args[@]}" "$url$2") || status=000
    body=$(cat "$tmp/body" 2>/dev/null || true)
}

# expect STATUS [JSON-PATH=VALUE...]: checks $status and fields of $body.
expect() {
    local want=$1 kv
    shift
    [[ $status == "$want" ]] || fail "$what: HTTP $status, expected $want ($body)"
    for kv in "$@"; do
        "$PY" -c '
import json, sys
doc = json.loads(sys.argv[1]); key, want = sys.argv[2].split("=", 1)
got = doc
for k in key.split("."):
    got = got[int(k)] if isinstance(got, list) else got[k]
sys.exit(0 if json.dumps(got) == want or str(got) == want else 1)' "$body" "$kv" ||
            fail "$what: $kv not in $body"
    done
    ok "$what"
}

# JSON request bodies with a schema text in them.
schema_body() { "$PY" -c 'import json, sys; print(json.dumps({"schema": sys.argv[1]}))' "$1"; }
dd_text=$(cat "$src/schemas/designation_decision.avsc")
dd=$(schema_body "$dd_text")
# The same schema laid out differently (one line, keys reordered).
dd_compact=$(schema_body "$("$PY" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$src/schemas/designation_decision.avsc")")
other=$(schema_body '{"type":"record","name":"T","namespace":"x","fields":[{"name":"a","type":"long"}]}')

# ---- options --------------------------------------------------------------
for args in "--nope" "--listen" "--tls-cert $src/README.md" "--basic-auth nocolon" \
    "--listen not-an-address" "--preload $tmp/none" "extra"; do
    rc=0
    # shellcheck disable=SC2086
    "$REG" $args >"$tmp/opt.out" 2>"$tmp/opt.err" </dev/null || rc=$?
    [[ $rc == 2 ]] || fail "ladder-registry $args: exit $rc, expected 2"
    [[ $(wc -l <"$tmp/opt.err") == 1 ]] || fail "ladder-registry $args: not one line: $(cat "$tmp/opt.err")"
done
ok "bad options exit 2 with one line each"
"$REG" --help | grep -q "in memory only" || fail "--help does not say the state is in memory"
ok "--help says the state is in memory only"

# ---- the API over HTTP ----------------------------------------------------
start plain
url=http://127.0.0.1:$port

what="register DesignationDecision"
req POST /subjects/ladder.v1.DesignationDecision/versions "$dd"
expect 200
id=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$body")
[[ $id =~ ^[0-9]+$ ]] || fail "no id in $body"

what="re-registering returns the same id and adds no version"
req POST /subjects/ladder.v1.DesignationDecision/versions "$dd_compact"
expect 200 "id=$id"
what="the subject still has one version"
req GET /subjects/ladder.v1.DesignationDecision/versions
expect 200 "0=1" && [[ $body == "[1]" ]] || fail "versions: $body"

what="the same schema under another subject shares the id"
req POST /subjects/decisions-value/versions "$dd"
expect 200 "id=$id"

what="another schema gets another id"
req POST /subjects/decisions-value/versions "$other"
expect 200
id2=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$body")
[[ $id2 != "$id" ]] || fail "two schemas share id $id"

what="fetch by id"
req GET "/schemas/ids/$id"
expect 200
"$PY" -c 'import json, sys; sys.exit(json.loads(sys.argv[1])["schema"] != open(sys.argv[2]).read().rstrip("\n"))' \
    "$body" "$src/schemas/designation_decision.avsc" || fail "$what: the text differs"
ok "$what (byte for byte)"

what="subjects are listed"
req GET /subjects
expect 200 '0=ladder.v1.DesignationDecision' '1=decisions-value'

what="latest version of a subject with two"
req GET /subjects/decisions-value/versions/latest
expect 200 "subject=decisions-value" "version=2" "id=$id2"
what="version 1 by number"
req GET /subjects/decisions-value/versions/1
expect 200 "version=1" "id=$id"

what="lookup of a registered schema"
req POST /subjects/decisions-value "$dd_compact"
expect 200 "subject=decisions-value" "version=1" "id=$id"

what="unknown id: 404/40403"
req GET /schemas/ids/999
expect 404 "error_code=40403" "message=Schema not found"
what="unknown subject: 404/40401"
req GET /subjects/no.such.Subject/versions/latest
expect 404 "error_code=40401"
what="unknown version: 404/40402"
req GET /subjects/decisions-value/versions/3
expect 404 "error_code=40402"
what="lookup under an unknown subject: 404/40401"
req POST /subjects/no.such.Subject "$dd"
expect 404 "error_code=40401"
what="lookup of a schema the subject does not have: 404/40403"
req POST /subjects/ladder.v1.DesignationDecision "$other"
expect 404 "error_code=40403"
what="invalid Avro: 422/42201"
req POST /subjects/bad/versions "$(schema_body '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}')"
expect 422 "error_code=42201"
what="a body without a schema: 422/42201"
req POST /subjects/bad/versions '{"schma":"\"int\""}'
expect 422 "error_code=42201"
what="an invalid schema registers nothing"
req GET /subjects/bad/versions
expect 404 "error_code=40401"
what="a bad version: 422/42202"
req GET /subjects/decisions-value/versions/0
expect 422 "error_code=42202"
what="plain application/json is accepted"
status=$(curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$dd" "$url/subjects/json/versions")
body=$(cat "$tmp/body")
expect 200 "id=$id"

# ---- basic auth -----------------------------------------------------------
start auth --basic-auth 'alice:s3cret:with colon'
url=http://127.0.0.1:$port
curl_opts=()
what="no credentials: 401/40101"
req GET /subjects
expect 401 "error_code=40101"
curl_opts=(-u 'alice:wrong')
what="a wrong password: 401/40101"
req POST /subjects/s/versions "$dd"
expect 401 "error_code=40101"
curl_opts=(-u 'alice:s3cret:with colon')
what="the right credentials"
req POST /subjects/s/versions "$dd"
expect 200 "id=1"

# ---- TLS with a CA made here ----------------------------------------------
(
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=ladder test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
        -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out server.pem -days 2 -extfile san.ext 2>/dev/null
) || fail "openssl could not make the test certificates"
start tls --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key"
url=https://127.0.0.1:$port
curl_opts=(--cacert "$tmp/ca.pem")
what="HTTPS, verified against the test CA: register"
req POST /subjects/t/versions "$dd"
expect 200 "id=1"
what="HTTPS: fetch by id"
req GET /schemas/ids/1
expect 200
curl_opts=()
req GET /schemas/ids/1
[[ $status == 000 ]] || fail "HTTPS without the CA was accepted (HTTP $status)"
ok "HTTPS without the CA is refused by curl"
url=http://127.0.0.1:$port
curl_opts=(--max-time 5)
req GET /schemas/ids/1
[[ $status == 000 ]] || fail "plain HTTP to the TLS port got HTTP $status: $body"
ok "plain HTTP to the TLS port gets no answer"
rc=0
timeout 10 "$REG" --listen 127.0.0.1:0 --tls-cert "$tmp/ca.pem" --tls-key "$tmp/server.key" \
    >"$tmp/badtls.log" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "a certificate that does not match the key: exit $rc, expected 2"
ok "a certificate that does not match the key: exit 2"

# ---- stopping -------------------------------------------------------------
start stop
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 0 ]] || fail "SIGTERM: exit $rc, expected 0"
grep -q "stopping" "$tmp/stop.log" || fail "SIGTERM: no stopping line"
ok "SIGTERM stops it with exit 0"
