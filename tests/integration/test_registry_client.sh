#!/usr/bin/env bash
# Schema Registry client, end to end, against ladder-registry over TLS (a
# CA made here) with basic authentication:
# - ladder-feed and ladder-worker register their schemas at start and write
#   the registry's ids (the wire's bytes 1-4 are the ids the registry shows
#   under each record's subject), and ladder-decisions decodes every
#   decision through the registry;
# - a registry that is down when a producer starts is a clear start-up
#   error (exit 2, naming the registry);
# - an id the registry does not know is an UNKNOWN_SCHEMA dead letter;
# - with the registry gone, an id the worker has not cached is a transient
#   fault: no dead letter, the worker stays up, and its other messages are
#   still decided with the ids it has.
. "$(dirname "$0")/../support/lib.sh"
lt_init
command -v openssl >/dev/null || fail "openssl is not installed (./tools/test installs it)"
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
reg=
on_fail() { tail -5 "$work/worker.log" "$work/registry.log" 2>/dev/null; }
cleanup() { [ -n "$reg" ] && kill -TERM "$reg" 2>/dev/null; true; }
trap cleanup EXIT
# A CA and a certificate for 127.0.0.1 signed by it.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ladder test CA" \
  -keyout ca.key -out ca.pem >/dev/null 2>&1 || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout reg.key -out reg.csr >/dev/null 2>&1 || fail "openssl: key"
printf "subjectAltName=IP:127.0.0.1\n" >san.ext
openssl x509 -req -in reg.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile san.ext -out reg.pem >/dev/null 2>&1 || fail "openssl: certificate"
start_registry() {
  lt_start_registry "$work/registry.log" --tls-cert "$work/reg.pem" \
    --tls-key "$work/reg.key" --basic-auth ladder:s3cret
  export LADDER_SCHEMA_REGISTRY_URL=https://127.0.0.1:$reg_port
}
export LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=ladder:s3cret
export LADDER_SCHEMA_REGISTRY_SSL_CA_LOCATION=$work/ca.pem
rcurl() { curl -s --cacert "$work/ca.pem" -u ladder:s3cret "$LADDER_SCHEMA_REGISTRY_URL$1" "${@:2}"; }
subject_id() { rcurl "/subjects/ladder.v1.$1/versions/latest" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])"; }
# the schema id (bytes 1-4) of message OFFSET of TOPIC:PARTITION
wire_id() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t "$1" -p "$2" -o "$3" -c 1 -e -q -f "%s" 2>/dev/null | head -c 5 | od -An -tu1 | awk "{print \$2*16777216 + \$3*65536 + \$4*256 + \$5}"; }

# 1. Down at start: a clear error.
rc=0
LADDER_SCHEMA_REGISTRY_URL=https://127.0.0.1:1 timeout 30 "$bin/ladder-worker" >"$work/down.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a worker whose registry is down exited $rc, want 2"
grep -q "schema registry at https://127.0.0.1:1" "$work/down.log" || fail "the error does not name the registry: $(tail -2 "$work/down.log")"
ok "registry down at start: exit 2, $(grep -m1 -o "schema registry at [^;]*" "$work/down.log" | cut -c1-100)"

# 1b. A schema the registry refuses (409 incompatible, 422 invalid): a clear
# start-up error naming the record and the answer. ladder-registry never
# refuses a valid schema (compatibility is not enforced there), so a small
# stand-in answers POST with the documented error body.
cat >"$work/refuser.py" <<"PY"
import http.server, json, sys
status, code, msg = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error_code": code, "message": msg}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
PY
for refusal in "409 409 Schema being registered is incompatible with an earlier schema" \
               "422 42201 Invalid schema"; do
  read -r status code msg <<<"$refusal"
  rm -f "$work/refuser.port"
  /usr/bin/python3 "$work/refuser.py" "$work/refuser.port" "$status" "$code" "$msg" &
  refuser=$!
  lt_wait_file "$work/refuser.port" || fail "the refusing registry did not start"
  rc=0
  LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$(cat "$work/refuser.port") timeout 30 "$bin/ladder-worker" \
    >"$work/refused.log" 2>&1 || rc=$?
  kill "$refuser"; wait "$refuser" 2>/dev/null || true
  [ "$rc" -eq 2 ] || fail "a worker whose schema the registry refuses with $status exited $rc, want 2"
  grep -q "registering the schema of ladder.v1.[A-Za-z]*: HTTP $status, error code $code: $msg" "$work/refused.log" \
    || fail "the refusal $status is not named: $(tail -2 "$work/refused.log")"
  ok "registry refuses with $status: exit 2, $(grep -m1 -o "registering the schema of .*" "$work/refused.log" | cut -c1-110)"
done

# 2. Registry ids on the wire, and decisions decoded through it. Ten other
# schemas first, so that the ids of the registry (from 11 on) cannot be taken
# for the local ones (1 to 5).
start_registry
for i in $(seq 1 10); do
  data=$(/usr/bin/python3 -c "import json,sys; print(json.dumps({\"schema\": json.dumps({\"type\": \"record\", \"name\": \"Filler\" + sys.argv[1], \"fields\": []})}))" "$i")
  rcurl /subjects/test.Filler$i/versions -X POST -H "Content-Type: application/vnd.schemaregistry.v1+json" --data "$data" >/dev/null
done
[ "$(rcurl /subjects | tr , "\n" | grep -c Filler)" -eq 10 ] || fail "could not register the filler schemas: $(rcurl /subjects)"
"$bin/ladder-gen" --scale 0.0005 --seed 4 --single --until 2023-01-01T00:00:00Z --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/feed.log" 2>&1 || fail "ladder-feed with a registry: $(tail -2 "$work/feed.log")"
ids=""
for r in ApplicationSubmitted ReviewSubmitted ViolationReported ClockTick; do ids="$ids $(subject_id $r)"; done
got=$(wire_id ladder.events.v1 0 0)
[ "$got" -gt 10 ] && echo " $ids " | grep -q " $got " || fail "the first input message has schema id $got, not one the registry gave the input records ($ids)"
ok "ladder-feed wrote registry ids: the first input message has id $got (input records:$ids)"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
total=$(demo_topic_total ladder.events.v1)
for _ in $(seq 1 200); do read -r s left <<<"$(demo_stored)"; [ "$s" -eq "$total" ] && [ "$left" -eq 0 ] && break; sleep 0.1; done
[ "$s" -eq "$total" ] || fail "the worker stored $s of $total"
dec=$(subject_id DesignationDecision)
[ "$(wire_id ladder.decisions.v1 0 0)" = "$dec" ] || fail "decisions are not written with the registry id $dec"
ok "ladder-worker wrote its decisions with the registry id $dec"
ndec=$(demo_topic_total ladder.decisions.v1)
timeout 60 "$bin/ladder-decisions" --count "$ndec" --idle-ms 500 --out "$work/decisions.jsonl" >"$work/dec.log" 2>&1 \
  || fail "ladder-decisions: $(tail -2 "$work/dec.log")"
[ "$(wc -l <"$work/decisions.jsonl")" -eq "$ndec" ] || fail "ladder-decisions decoded $(wc -l <"$work/decisions.jsonl") of $ndec decisions"
grep -q " 0 undecodable" "$work/dec.log" || fail "ladder-decisions: $(cat "$work/dec.log")"
ok "ladder-decisions through the registry: $(tail -1 "$work/dec.log" | cut -c1-120)"

# 3. An id the registry does not know: an UNKNOWN_SCHEMA dead letter.
# one message per file: kcat -P FILE sends the file whole (binary safe)
wire() { /usr/bin/python3 -c "import struct,sys; sys.stdout.buffer.write(b\"\\0\" + struct.pack(\">i\", int(sys.argv[1])) + b\"\\2junk\")" "$1" >"$work/msg.$1"; echo "$work/msg.$1"; }
kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -k 91110000MA01XXXX0X "$(wire 9999)" 2>/dev/null || fail "kcat -P"
for _ in $(seq 1 100); do
  kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.dlq.v1 -e -q -f "%h\n" 2>/dev/null | grep -q "UNKNOWN_SCHEMA" && break; sleep 0.1
done
kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.dlq.v1 -e -q -f "%h\n" 2>/dev/null | grep -q "UNKNOWN_SCHEMA" || fail "no UNKNOWN_SCHEMA dead letter for id 9999"
ok "schema id 9999, unknown to the registry: an UNKNOWN_SCHEMA dead letter"

# 4. Registry gone: an uncached id waits, nothing is dead-lettered.
old=$(rcurl /subjects/ladder.v1.ClockTick/versions -X POST -H "Content-Type: application/vnd.schemaregistry.v1+json" \
  --data "$(/usr/bin/python3 -c "import json; print(json.dumps({\"schema\": json.dumps({\"type\":\"record\",\"name\":\"ClockTick\",\"namespace\":\"ladder.v1\",\"fields\":[{\"name\":\"tick_at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]})}))")" \
  | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[\"id\"])")
[ -n "$old" ] || fail "could not register a second ClockTick schema"
kill -TERM "$reg"; wait "$reg" 2>/dev/null; reg=
dlq0=$(demo_topic_total ladder.dlq.v1)
kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 1 -k 91110000MA01XXXX0X "$(wire "$old")" 2>/dev/null || fail "kcat -P"
lt_wait_log "$work/worker.log" "schema id $old" 100 || fail "the worker did not report the uncached id $old"
sleep 1
kill -0 "$worker" 2>/dev/null || fail "the worker exited when the registry was gone"
[ "$(demo_topic_total ladder.dlq.v1)" -eq "$dlq0" ] || fail "a message with an uncached id was dead-lettered while the registry was down"
ok "registry down, uncached id $old: the partition waits, no dead letter ($(grep -m1 "schema id $old" "$work/worker.log" | cut -d" " -f3- | cut -c1-110))"
# ... while partition 0, whose ids are cached, goes on: a copy of its first
# message (the same key and bytes) is decided with the registry still gone.
read -r before _ <<<"$(demo_stored)"
kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -o 0 -c 1 -e -q -f "%s" >"$work/copy.bin" 2>/dev/null || fail "kcat -C"
key=$(kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -o 0 -c 1 -e -q -f "%k" 2>/dev/null)
kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 -k "$key" "$work/copy.bin" 2>/dev/null || fail "kcat -P"
for _ in $(seq 1 100); do read -r s _ <<<"$(demo_stored)"; [ "$s" -gt "$before" ] && break; sleep 0.1; done
[ "$s" -eq $((before + 1)) ] || fail "with the registry gone, partition 0 stored $((s - before)) new messages, want 1 (its ids are cached)"
ok "registry down, cached ids: partition 0 decided a new message while partition 1 waits"
kill -TERM "$worker"; wait "$worker" || fail "the worker exit status $?"
' "$src" "$bin"
