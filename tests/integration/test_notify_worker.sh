#!/usr/bin/env bash
# ladder-notify behind a real ladder-worker: the thirteen life stories of
# test_worker_stories.sh (stories.py) go through ladder-feed and the worker,
# whose REVOKED, CANCELLED and EXPIRED decisions ladder-notify delivers to
# two webhooks of a local receiver: "all" (the default types) and
# "cancelled" (CANCELLED only). The decisions topic is read back with
# ladder-decisions, and each subscriber must have received exactly the
# decisions of its types, each once (nothing was retried), in each
# enterprise's order, with a valid signature, as a CloudEvents structured
# body whose attributes follow CONTRACT.md and whose data is the decision's
# JSON form, field for field as ladder-decisions prints it.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
worker= notify= recv=
cleanup() { for p in $worker $notify $recv; do kill -TERM "$p" 2>/dev/null || true; done; }
on_fail() { lt_show_logs 30 "$work"/worker.log "$work"/notify.log; }

want=$(/usr/bin/python3 "$src/tests/integration/stories.py" gen "$work") || fail "stories.py gen"

/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port-file "$work/recv.port" \
  --log "$work/recv.jsonl" --bodies --route all=ok:secret-all-0123456789abcdef0123456789abcdef --route cancelled=ok:secret-c-0123456789abcdef0123456789abcdef \
  2>"$work/recv.err" &
recv=$!
lt_wait_file "$work/recv.port" || true
url=http://127.0.0.1:$(cat "$work/recv.port")
cat >"$work/notify.conf" <<EOF
notify.subscriber.all.url = $url/all
notify.subscriber.all.secret = secret-all-0123456789abcdef0123456789abcdef
notify.subscriber.cancelled.url = $url/cancelled
notify.subscriber.cancelled.secret = secret-c-0123456789abcdef0123456789abcdef
notify.subscriber.cancelled.decisions = CANCELLED
notify.deadletter.file = $work/deadletter.jsonl
EOF
LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) "$bin/ladder-notify" --config "$work/notify.conf" >"$work/notify.log" 2>&1 &
notify=$!
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
"$bin/ladder-feed" "$work/feed.jsonl" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(cat "$work/feed.log")"
timeout 60 "$bin/ladder-decisions" --count "$want" --idle-ms 2000 --out "$work/decisions.jsonl" \
  2>"$work/reader.log" || fail "ladder-decisions: $(cat "$work/reader.log")"
notices=$(cat "$work/notices")
echo "# $want decisions, $notices of them revocation notices"

for _ in $(seq 1 300); do
  [ "$(grep -c "\"path\": \"all\"" "$work/recv.jsonl" 2>/dev/null || true)" -ge "$notices" ] && break
  sleep 0.1
done
sleep 1 # anything more would be a duplicate
kill -TERM "$notify"
set +e; wait "$notify"; nrc=$?; set -e
notify=
[ "$nrc" -eq 0 ] || fail "ladder-notify exit status $nrc"

/usr/bin/python3 - "$work" "$notices" <<"PY" || fail "deliveries"
import json, os, sys
work, notices = sys.argv[1], int(sys.argv[2])
decisions = [json.loads(l) for l in open(os.path.join(work, "decisions.jsonl"))]
reqs = [json.loads(l) for l in open(os.path.join(work, "recv.jsonl"))]
fails = 0
def check(cond, msg):
    global fails
    print(("ok - " if cond else "FAIL - ") + msg)
    fails += not cond
for path, secret, types in (("all", "secret-all-0123456789abcdef0123456789abcdef", {"REVOKED", "CANCELLED", "EXPIRED"}),
                            ("cancelled", "secret-c-0123456789abcdef0123456789abcdef", {"CANCELLED"})):
    exp = [d for d in decisions if d["decision"] in types]
    got = [r for r in reqs if r["path"] == path]
    check(len(exp) > 0, "%s: the stories make %d decisions of its types" % (path, len(exp)))
    check(sorted(r["id"] for r in got) == sorted(d["decision_id"] for d in exp),
          "%s: exactly its %d decisions, each once" % (path, len(exp)))
    check(all(r["status"] == 200 for r in got), "%s: every request answered 200" % path)
    ok_sig = bool(got) and all(r["sig_ok"] for r in got)  # the receiver computes the HMAC
    check(ok_sig, "%s: every X-Ladder-Signature verifies" % path)
    ok_v2 = bool(got) and all(r["sig_v2_ok"] for r in got)  # and the docs/NOTIFY.md verifier
    check(ok_v2, "%s: every X-Ladder-Signature-V2 verifies, X-Ladder-Timestamp within 5 minutes" % path)
    by_id = {d["decision_id"]: d for d in exp}
    form_ok = True
    for r in got:
        ev = json.loads(r["body"])
        d = dict(by_id.get(ev.get("id"), {}))
        d.pop("partition", None); d.pop("offset", None)
        want = {"specversion": "1.0", "id": d.get("decision_id"),
                "type": "ladder.decision.%s" % d.get("decision"),
                "source": "ladder/%s" % d.get("reporting_unit"),
                "time": d.get("effective_at"), "datacontenttype": "application/json", "data": d}
        if ev != want or list(ev) != list(want):
            form_ok = False
            print("# got  %s\n# want %s" % (ev, want))
    check(form_ok, "%s: CloudEvents structured bodies, data = the JSON form of the decision" % path)
    # Each enterprise in the order of the decisions topic.
    order = {}
    for d in exp:
        order.setdefault(d["uscc"], []).append(d["decision_id"])
    seen = {}
    for r in got:
        u = by_id[r["id"]]["uscc"] if r["id"] in by_id else None
        seen.setdefault(u, []).append(r["id"])
    check(all(seen.get(u) == ids for u, ids in order.items()),
          "%s: each of %d enterprises received in its decisions order" % (path, len(order)))
check(len([d for d in decisions if d["decision"] in {"REVOKED", "CANCELLED", "EXPIRED"}]) == notices,
      "the stories revocation notices (%d) all reached the decisions topic" % notices)
sys.exit(1 if fails else 0)
PY
[ ! -s "$work/deadletter.jsonl" ] || fail "dead letters: $(cat "$work/deadletter.jsonl")"
echo "ok - no dead letter"
' "$src" "$bin"
