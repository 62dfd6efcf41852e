#!/usr/bin/env bash
# ladder-notify end to end against the embedded Kafka cluster, with
# decisions produced by ladder-notify-bench and a local webhook receiver
# (test_notify_receiver.py) that fails in every way a webhook can:
#  - flaky: some notices are first refused by a closed connection, then left
#    beyond notify.timeout.ms, then answered 500, then 200;
#  - late: nothing listens on its port until ladder-notify has failed to
#    connect twice;
#  - dead: always 500: after notify.max.attempts its notices are dead-letter
#    lines and delivery goes on;
#  - cancelled: selects only CANCELLED;
#  - ok and gate: always 200 in the first run.
# Checked: no notice lost, every signature verifies, repeats carry the same
# id and body, per-enterprise order, one notice at a time per subscriber,
# the decisions filter, the dead-letter lines, the metrics, and across
# restarts (SIGTERM, exit 0): nothing acknowledged is sent again, while the
# notices the gate subscriber had not acknowledged (503 while a gate file
# exists) are delivered by the next run. Every request carries
# X-Ladder-Timestamp (the time of that attempt: retries are signed afresh)
# and a valid X-Ladder-Signature-V2, checked by the receiver with the
# verifier example of docs/NOTIFY.md (its copy is checked to be verbatim);
# with notify.signature.v1 = false the old X-Ladder-Signature is absent.
# Start-up errors exit 2 naming the key (a secret under 32 bytes without
# showing it); a plain http URL to a host that is not loopback gives one
# warning (password hidden), loopback ones none.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init --no-redis
check=$src/tests/integration/test_notify_check.py
notify= recv= late=
cleanup() {
  for p in $notify $recv $late; do kill -TERM "$p" 2>/dev/null || true; done
}
on_fail() { lt_show_logs 30 "$work"/notify*.log; }

# The receiver runs the verifier example of docs/NOTIFY.md, verbatim.
/usr/bin/python3 - "$src/docs/NOTIFY.md" "$src/tests/integration/test_notify_receiver.py" <<"PY" || fail "docs/NOTIFY.md example"
import sys
doc, recv = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start = doc.index("```python\n", doc.index("## Verifying the signature")) + len("```python\n")
block = doc[start:doc.index("```\n", start)]
assert "hmac.compare_digest" in block and "TOLERANCE_S = 300" in block, block
assert block in recv, "the receiver does not hold the example verbatim"
print("ok - the receiver verifies with the example of docs/NOTIFY.md, verbatim")
PY
K=0123456789abcdef0123456789abcdef # 32 bytes: with a prefix, every secret is longer

# Start-up errors: one line naming the key, exit 2.
expect_config_error() {
  local want=$1; shift
  set +e; out=$(env "$@" timeout 20 "$bin/ladder-notify" 2>&1); rc=$?; set -e
  [ "$rc" -eq 2 ] && grep -q -- "$want" <<<"$out" || fail "want exit 2 naming $want, got $rc: $out"
  echo "ok - start-up error names $want"
}
expect_config_error "no subscriber configured"
expect_config_error notify.subscriber.a.secret LADDER_NOTIFY_SUBSCRIBER_A_URL=http://127.0.0.1:1/
expect_config_error notify.subscriber.a.url LADDER_NOTIFY_SUBSCRIBER_A_URL=ftp://127.0.0.1/ LADDER_NOTIFY_SUBSCRIBER_A_SECRET=s-a-$K
expect_config_error notify.subscriber.a.decisions LADDER_NOTIFY_SUBSCRIBER_A_URL=http://127.0.0.1:1/ LADDER_NOTIFY_SUBSCRIBER_A_SECRET=s-a-$K LADDER_NOTIFY_SUBSCRIBER_A_DECISIONS=REVOKED,REVOKD
expect_config_error notify.subscriber.b.url LADDER_NOTIFY_SUBSCRIBER_B_SECRET=s-b-$K
# A secret of 31 bytes: refused, the message names the key and not the secret.
short=Short-Secret-0123456789abcdef01
[ "${#short}" -eq 31 ] || fail "the short secret is ${#short} bytes"
expect_config_error "notify.subscriber.a.secret is 31 bytes long; it must have at least 32" \
  LADDER_NOTIFY_SUBSCRIBER_A_URL=http://127.0.0.1:1/ LADDER_NOTIFY_SUBSCRIBER_A_SECRET=$short
grep -q "Short-Secret" <<<"$out" && fail "the start-up error shows the secret: $out"
echo "ok - a secret under 32 bytes is a start-up error that does not show it"

/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port-file "$work/recv.port" \
  --log "$work/recv.jsonl" --route ok=ok:s-ok-$K --route flaky=flaky:2.5:s-flaky-$K \
  --route cancelled=ok:s-cancelled-$K --route dead=fail:s-dead-$K \
  --route gate=gate:$work/gate:s-gate-$K --route slow=flaky:30:s-slow-$K \
  --route nov1=ok:s-nov1-$K 2>"$work/recv.err" &
recv=$!
lt_wait_file "$work/recv.port" || true
port=$(cat "$work/recv.port")
late_port=$(demo_free_port)
url=http://127.0.0.1:$port
cat >"$work/notify.conf" <<EOF
notify.subscriber.ok.url = $url/ok
notify.subscriber.ok.secret = s-ok-$K
notify.subscriber.flaky.url = $url/flaky
notify.subscriber.flaky.secret = s-flaky-$K
notify.subscriber.cancelled.url = $url/cancelled
notify.subscriber.cancelled.secret = s-cancelled-$K
notify.subscriber.cancelled.decisions = CANCELLED
notify.subscriber.dead.url = $url/dead
notify.subscriber.dead.secret = s-dead-$K
notify.subscriber.dead.decisions = EXPIRED
notify.subscriber.late.url = http://127.0.0.1:$late_port/late
notify.subscriber.late.secret = s-late-$K
notify.subscriber.gate.url = $url/gate
notify.subscriber.gate.secret = s-gate-$K
notify.max.attempts = 15
notify.backoff.initial.ms = 20
notify.backoff.max.ms = 500
notify.timeout.ms = 1000
notify.deadletter.file = $work/deadletter.jsonl
log.level = debug
EOF
# Plain http to a host that is not loopback: one warning at start, naming
# the subscriber, the password of the URL hidden. 192.0.2.1 (TEST-NET) is
# never contacted: the subscriber selects a type nobody produces, and the
# process is stopped as soon as it serves /livez.
cat >"$work/warn.conf" <<EOF
group.id = ladder-notify-warn
notify.subscriber.far.url = http://hook:Url-Password-1@192.0.2.1:9/x
notify.subscriber.far.secret = s-far-$K
notify.subscriber.far.decisions = REVIEW_DUE
notify.subscriber.tls.url = https://192.0.2.1:9/x
notify.subscriber.tls.secret = s-tls-$K
notify.subscriber.tls.decisions = REVIEW_DUE
notify.subscriber.v4.url = http://127.0.0.2:9/x
notify.subscriber.v4.secret = s-v4-$K
notify.subscriber.v4.decisions = REVIEW_DUE
notify.subscriber.v6.url = http://[::1]:9/x
notify.subscriber.v6.secret = s-v6-$K
notify.subscriber.v6.decisions = REVIEW_DUE
notify.subscriber.name.url = http://localhost:9/x
notify.subscriber.name.secret = s-name-$K
notify.subscriber.name.decisions = REVIEW_DUE
notify.deadletter.file = $work/deadletter-warn.jsonl
EOF
"$bin/ladder-notify" --config "$work/warn.conf" >"$work/notify-warn.log" 2>&1 &
notify=$!
lt_wait_http "http://$LADDER_HTTP_LISTEN/livez" "$notify" || fail "ladder-notify with a plain http URL did not start: $(tail -3 "$work/notify-warn.log")"
kill -TERM "$notify"
rc=0; wait "$notify" || rc=$?
notify=
[ "$rc" -eq 0 ] || fail "ladder-notify with a plain http URL: exit status $rc"
warns=$(grep " WARN .*plain http" "$work/notify-warn.log" || true)
[ "$(grep -c . <<<"$warns")" -eq 1 ] && grep -q "subscriber far: http://\*\*\*@192.0.2.1:9/\*\*\* is plain http" <<<"$warns" \
  || fail "want one warning for subscriber far, got: $warns"
grep -q "Url-Password-1" "$work/notify-warn.log" && fail "the log shows the password of the URL"
echo "ok - one warning for plain http to 192.0.2.1, password hidden; none for https, 127.0.0.2, [::1], localhost"

metrics() { curl -s "http://$LADDER_HTTP_LISTEN/metrics"; }
metric() { metrics | awk -v k="$1" "\$1 == k {print \$2}"; }
start_notify() {
  "$bin/ladder-notify" --config "$work/notify.conf" >"$work/notify$1.log" 2>&1 &
  notify=$!
  lt_wait_http "http://$LADDER_HTTP_LISTEN/livez" "$notify" && return 0
  kill -0 "$notify" 2>/dev/null || fail "ladder-notify run $1 exited at start"
  fail "ladder-notify run $1 does not answer /livez"
}
stop_notify() {
  local t0=$SECONDS
  kill -TERM "$notify"
  set +e; wait "$notify"; local rc=$?; set -e
  notify=
  [ "$rc" -eq 0 ] || fail "ladder-notify run $1 exit status $rc after SIGTERM"
  [ $((SECONDS - t0)) -le 15 ] || fail "ladder-notify took $((SECONDS - t0)) s to stop"
  echo "ok - run $1 stopped on SIGTERM with exit status 0"
}
wait_for() { # seconds, then the arguments of test_notify_check.py wait
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 5))); do
    /usr/bin/python3 "$check" wait "$work/recv.jsonl" "$@" && return 0
    sleep 0.2
  done
  return 1
}
DEF=REVOKED,CANCELLED,EXPIRED

# ---- run 1: every failure mode; the late receiver comes up mid-way
"$bin/ladder-notify-bench" --config "$work/notify.conf" --count 30 --prefix p1 --enterprises 5 \
  --types REVOKED,CANCELLED,DESIGNATED,REVOKED,CANCELLED,EXPIRED,REVOKED,CANCELLED,REVOKED,CANCELLED,REVOKED,CANCELLED,REVOKED,CANCELLED,REVOKED \
  --out "$work/p1.txt" 2>"$work/bench1.log" || fail "ladder-notify-bench: $(cat "$work/bench1.log")"
start_notify 1
[ "$(curl -s -w " %{http_code}" "http://$LADDER_HTTP_LISTEN/livez")" = "{\"live\":true} 200" ] || fail "/livez: $(curl -s -i "http://$LADDER_HTTP_LISTEN/livez")"
for _ in $(seq 1 200); do
  [ "$(curl -s -o /dev/null -w "%{http_code}" "http://$LADDER_HTTP_LISTEN/readyz")" = 200 ] && break; sleep 0.05
done
[ "$(curl -s "http://$LADDER_HTTP_LISTEN/readyz")" = ready ] || fail "/readyz: $(curl -s -i "http://$LADDER_HTTP_LISTEN/readyz")"
echo "ok - /livez 200, /readyz 200 once the partitions are assigned"
for _ in $(seq 1 300); do
  n=$(metric "ladder_notify_failed_attempts_total{subscriber=\"late\",reason=\"connection\"}")
  [ "${n:-0}" -ge 2 ] && break; sleep 0.05
done
[ "${n:-0}" -ge 2 ] || fail "no refused connection counted for the late subscriber"
/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port "$late_port" \
  --log "$work/recv.jsonl" --route late=ok:s-late-$K 2>"$work/late.err" &
late=$!
wait_for 90 "$work/p1.txt" ok=$DEF flaky=$DEF cancelled=CANCELLED late=$DEF gate=$DEF \
  || fail "run 1: not every notice arrived"
for _ in $(seq 1 600); do
  [ "$(wc -l <"$work/deadletter.jsonl" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.1
done
echo "ok - run 1: every notice acknowledged by ok, flaky, cancelled, late and gate"
# The offsets follow the deliveries: wait until nothing is outstanding.
for _ in $(seq 1 100); do
  lag=$(metrics | awk "/^ladder_notify_consumer_lag/ {s += \$2} END {print s + 0}")
  [ "$lag" = 0 ] && break; sleep 0.1
done
[ "$lag" = 0 ] || fail "consumer lag $lag after every delivery"
m=$(metrics)
grep -qx "ladder_notify_delivered_total{subscriber=\"flaky\"} 28" <<<"$m" || fail "flaky delivered: $(grep delivered_total <<<"$m")"
grep -qx "ladder_notify_delivered_total{subscriber=\"cancelled\"} 12" <<<"$m" || fail "cancelled delivered: $(grep delivered_total <<<"$m")"
grep -qx "ladder_notify_dead_letters_total{subscriber=\"dead\"} 2" <<<"$m" || fail "dead letters: $(grep dead_letters <<<"$m")"
dead=$(awk "/^ladder_notify_failed_attempts_total[{]subscriber=\"dead\"/ {s += \$2} END {print s + 0}" <<<"$m")
[ "$dead" = 30 ] || fail "dead attempts: $(grep failed_attempts <<<"$m")"
grep -qx "ladder_notify_decisions_total{type=\"DESIGNATED\"} 2" <<<"$m" || fail "decisions read: $(grep decisions_total <<<"$m")"
echo "# $(grep "failed_attempts_total{subscriber=\"flaky\"" <<<"$m" | tr "\n" " ")"
# 8 of the notices flaky gets fail once in each way before they pass: 8
# of each (on a loaded machine an answer may come later than
# notify.timeout.ms, which turns it into a timeout: so at least 8 timeouts,
# at most 8 of the others, at least 24 in all).
fc=$(metric "ladder_notify_failed_attempts_total{subscriber=\"flaky\",reason=\"connection\"}")
ft=$(metric "ladder_notify_failed_attempts_total{subscriber=\"flaky\",reason=\"timeout\"}")
fs=$(metric "ladder_notify_failed_attempts_total{subscriber=\"flaky\",reason=\"status\"}")
[ "${fc:-0}" -ge 1 ] && [ "${fc:-0}" -le 8 ] && [ "${fs:-0}" -ge 1 ] && [ "${fs:-0}" -le 8 ] \
  && [ "${ft:-0}" -ge 8 ] && [ $((fc + ft + fs)) -ge 24 ] \
  || fail "flaky: failed attempts connection $fc, timeout $ft, status $fs; want 8 of each"
grep -q "^ladder_notify_delivery_latency_seconds_count{subscriber=\"ok\"} 28$" <<<"$m" || fail "latency histogram: $(grep latency_seconds_count <<<"$m")"
echo "ok - metrics: delivered, failed attempts by reason, dead letters, decisions read, latency"
/usr/bin/python3 - "$work/deadletter.jsonl" "$work/p1.txt" <<"PY" || fail "dead-letter file"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
expired = [l.split()[0] for l in open(sys.argv[2]) if l.split()[1] == "EXPIRED"]
assert [l["event"]["id"] for l in lines] == expired, (lines, expired)
for l in lines:
    assert l["subscriber"] == "dead" and l["attempts"] == 15, l
    assert l["last_error"] == "HTTP status 500" or l["last_error"].startswith("Operation timed out"), l
    ev = l["event"]
    assert ev["specversion"] == "1.0" and ev["type"] == "ladder.decision.EXPIRED", ev
    assert ev["data"]["decision_id"] == ev["id"] and ev["datacontenttype"] == "application/json", ev
    assert ev["source"] == "ladder/" + ev["data"]["reporting_unit"], ev
    assert ev["time"] == ev["data"]["effective_at"], ev
print("ok - %d dead-letter lines (subscriber, attempts, last error, the CloudEvent), in order" % len(lines))
PY
stop_notify 1
curl -s -o /dev/null "http://$LADDER_HTTP_LISTEN/livez" && fail "the HTTP server still answers after the stop"
[ "$(stat -c %a "$work/deadletter.jsonl")" = 600 ] || fail "the dead-letter file is mode $(stat -c %a "$work/deadletter.jsonl"), want 600"
ln -s "$work/deadletter.jsonl" "$work/deadletter-link.jsonl"
rc=0
LADDER_NOTIFY_DEADLETTER_FILE=$work/deadletter-link.jsonl timeout 20 "$bin/ladder-notify" --config "$work/notify.conf" \
  >"$work/notify-link.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "deadletter-link.jsonl is a symbolic link" "$work/notify-link.log" \
  || fail "a dead-letter file that is a symbolic link: exit $rc, $(tail -2 "$work/notify-link.log")"
echo "ok - the dead-letter file is mode 600; a symbolic link in its place is refused at start"
mark1=$(wc -l <"$work/recv.jsonl")

# ---- run 2: the gate subscriber answers 503 and is stopped mid-way
touch "$work/gate"
start_notify 2
"$bin/ladder-notify-bench" --config "$work/notify.conf" --count 12 --prefix p2 --first 101 \
  --enterprises 5 --types REVOKED,CANCELLED,DESIGNATED --out "$work/p2.txt" 2>"$work/bench2.log" \
  || fail "ladder-notify-bench: $(cat "$work/bench2.log")"
wait_for 60 "$work/p2.txt" ok=$DEF cancelled=CANCELLED late=$DEF || fail "run 2: ok, cancelled, late"
for _ in $(seq 1 100); do
  [ "$(grep -c "\"path\": \"gate\", \"id\": \"p2-" "$work/recv.jsonl")" -ge 3 ] && break; sleep 0.1
done
stop_notify 2
mark2=$(wc -l <"$work/recv.jsonl")
gate_acked=$(sed -n "$((mark1 + 1)),\$p" "$work/recv.jsonl" | grep -c "\"path\": \"gate\".*\"status\": 200" || true)
[ "$gate_acked" -eq 0 ] || fail "the gate acknowledged $gate_acked notices in run 2"

# ---- run 3: the gate opens; what it had not acknowledged arrives
rm "$work/gate"
start_notify 3
wait_for 60 "$work/p1.txt,$work/p2.txt" gate=$DEF || fail "run 3: gate did not get every notice"
wait_for 30 "$work/p2.txt" flaky=$DEF || fail "run 3: flaky did not get every notice"
sleep 1
stop_notify 3
resent=$(sed -n "$((mark1 + 1)),\$p" "$work/recv.jsonl" | grep -c "\"id\": \"p1-" || true)
[ "$resent" -eq 0 ] && echo "ok - nothing acknowledged in run 1 was sent again by runs 2 and 3" \
  || fail "$resent requests for run-1 notices after run 1"

# ---- run 4: SIGTERM while a request hangs (the receiver answers only
# after 30 s, notify.timeout.ms is a minute): the request is abandoned and
# the process exits 0 at once.
cat >"$work/slow.conf" <<EOF
group.id = ladder-notify-slow
notify.subscriber.slow.url = $url/slow
notify.subscriber.slow.secret = s-slow-$K
notify.subscriber.slow.decisions = EXPIRED
notify.timeout.ms = 60000
notify.backoff.initial.ms = 20
notify.deadletter.file = $work/deadletter-slow.jsonl
EOF
"$bin/ladder-notify" --config "$work/slow.conf" >"$work/notify4.log" 2>&1 &
notify=$!
hanging() { grep -q "\"path\": \"slow\".*\"status\": \"timeout\"" "$work/recv.jsonl"; }
for _ in $(seq 1 300); do hanging && break; sleep 0.05; done
hanging || fail "run 4: no hanging request"
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$notify"
set +e; wait "$notify"; rc4=$?; set -e
notify=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc4" -eq 0 ] && [ "$ms" -lt 5000 ] || fail "run 4: exit status $rc4 after $ms ms with a request hanging"
echo "ok - run 4: SIGTERM with a request hanging: exit status 0 after $ms ms"

# ---- run 5: notify.signature.v1 = false: no X-Ladder-Signature, the
# timestamped signature as always.
cat >"$work/nov1.conf" <<EOF
group.id = ladder-notify-nov1
notify.subscriber.nov1.url = $url/nov1
notify.subscriber.nov1.secret = s-nov1-$K
notify.subscriber.nov1.decisions = CANCELLED,EXPIRED
notify.signature.v1 = false
notify.deadletter.file = $work/deadletter-nov1.jsonl
EOF
"$bin/ladder-notify" --config "$work/nov1.conf" >"$work/notify5.log" 2>&1 &
notify=$!
wait_for 60 "$work/p1.txt,$work/p2.txt" nov1=CANCELLED,EXPIRED || fail "run 5: nov1 did not get every notice"
kill -TERM "$notify"
rc=0; wait "$notify" || rc=$?
notify=
[ "$rc" -eq 0 ] || fail "run 5: exit status $rc after SIGTERM"
/usr/bin/python3 - "$work/recv.jsonl" <<"PY" || fail "run 5: notify.signature.v1 = false"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if "\"path\": \"nov1\"" in l]
assert len(reqs) >= 18, len(reqs)
assert not [r for r in reqs if r["sig_v1"]], "X-Ladder-Signature sent with notify.signature.v1 = false"
assert all(r["sig_v2_ok"] and 0 <= r["arrival_ms"] // 1000 - r["timestamp"] <= 2 for r in reqs), reqs
print("ok - run 5: notify.signature.v1 = false: %d requests, none with X-Ladder-Signature, "
      "every X-Ladder-Signature-V2 and X-Ladder-Timestamp valid" % len(reqs))
PY

rc=0
/usr/bin/python3 "$check" check "$work/recv.jsonl" "$work/p1.txt,$work/p2.txt" "$work/deadletter.jsonl" \
  "$mark1,$mark2" ok=$DEF flaky=$DEF cancelled=CANCELLED late=$DEF gate=$DEF dead=EXPIRED || rc=1
[ "$rc" -eq 0 ] || fail "delivery checks"
' "$src" "$bin"
