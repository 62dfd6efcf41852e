#!/usr/bin/env bash
# ladder-notify reads decisions written with a schema registry's ids, and a
# registry that does not answer while ladder-notify meets an id it has not
# cached loses no notice:
# - ladder-notify-bench registers DesignationDecision and writes 10 REVOKED
#   decisions with the registry id;
# - the registry is frozen (SIGSTOP), then ladder-notify starts: it cannot
#   resolve the id, says it waits, counts the waits, delivers nothing and
#   skips nothing (no undecodable message);
# - the registry is thawed (SIGCONT): every one of the 10 notices arrives,
#   once, and ladder-notify stops with exit status 0.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
reg= notify= recv=
cleanup() {
  [ -n "$reg" ] && kill -CONT "$reg" 2>/dev/null
  for p in $notify $recv $reg; do kill -TERM "$p" 2>/dev/null || true; done
}
on_fail() { lt_show_logs 20 "$work/notify.log" "$work/registry.log"; }

lt_start_registry "$work/registry.log"
export LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$reg_port
export LADDER_SCHEMA_REGISTRY_REQUEST_TIMEOUT_MS=300

"$bin/ladder-notify-bench" --count 10 --types REVOKED --prefix reg --out "$work/sent.txt" \
  >"$work/nb.log" 2>&1 || fail "ladder-notify-bench: $(tail -3 "$work/nb.log")"

/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port-file "$work/recv.port" \
  --log "$work/recv.jsonl" --route all=ok:secret-all-0123456789abcdef0123456789 2>"$work/recv.err" &
recv=$!
lt_wait_file "$work/recv.port" || fail "the receiver did not start"
cat >"$work/notify.conf" <<EOF
notify.subscriber.all.url = http://127.0.0.1:$(cat "$work/recv.port")/all
notify.subscriber.all.secret = secret-all-0123456789abcdef0123456789
notify.deadletter.file = $work/deadletter.jsonl
EOF
export LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port)
metric() { curl -s "http://$LADDER_HTTP_LISTEN/metrics" | awk -v k="$1" "\$1 == k {print \$2}"; }
received() { grep -c "\"path\": \"all\"" "$work/recv.jsonl" 2>/dev/null || true; }

kill -STOP "$reg"
"$bin/ladder-notify" --config "$work/notify.conf" >"$work/notify.log" 2>&1 &
notify=$!
lt_wait_log "$work/notify.log" "waiting for it, nothing is skipped" 100 \
  || fail "ladder-notify did not say that it waits for the schema"
lt_wait_http "http://$LADDER_HTTP_LISTEN/livez" "$notify" || fail "ladder-notify does not answer /livez"
sleep 1
waits=$(metric ladder_notify_schema_waits_total)
[ "${waits:-0}" -ge 2 ] || fail "ladder_notify_schema_waits_total is ${waits:-none}, want 2 or more"
[ "$(metric ladder_notify_undecodable_total)" = 0 ] || fail "undecodable while the registry was frozen: $(metric ladder_notify_undecodable_total)"
[ "$(received)" -eq 0 ] || fail "$(received) notices arrived while the schema was unknown"
ok "registry frozen: ladder-notify waited $waits times, skipped nothing ($(grep -m1 "waiting for it" "$work/notify.log" | cut -d" " -f3- | cut -c1-100))"

kill -CONT "$reg"
for _ in $(seq 1 150); do [ "$(received)" -ge 10 ] && break; sleep 0.1; done
sleep 0.5 # anything more would be a duplicate
[ "$(received)" -eq 10 ] || fail "$(received) of 10 notices arrived after the registry came back"
[ "$(metric ladder_notify_undecodable_total)" = 0 ] || fail "undecodable: $(metric ladder_notify_undecodable_total)"
/usr/bin/python3 - "$work/recv.jsonl" "$work/sent.txt" <<"PY" || fail "the notices are not the decisions sent"
import json, sys
got = sorted(json.loads(l)["id"] for l in open(sys.argv[1]))
want = sorted(l.split()[0] for l in open(sys.argv[2]))
assert got == want, (got, want)
PY
kill -TERM "$notify"
set +e; wait "$notify"; nrc=$?; set -e
notify=
[ "$nrc" -eq 0 ] || fail "ladder-notify exit status $nrc"
ok "registry back: the 10 notices arrived, each once; ladder-notify stopped with exit status 0"
' "$src" "$bin"
