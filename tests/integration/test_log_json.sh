#!/usr/bin/env bash
# log.format = json end to end: a ladder-worker run with LADDER_LOG_FORMAT=json
# at debug level (start-up, the group join, a dead letter whose key holds a
# quote, a backslash, a newline and bytes that are not UTF-8, the stop on
# SIGTERM) writes nothing on stderr but JSON objects, one a line, each with
# time, level, program, pid and event, and fields where the line has them;
# so does a second worker refused at start-up (http.listen taken); a bad
# log.format is a start-up error naming the variable and the values;
# ladder-api, ladder-notify, ladder-registry and a worker whose
# configuration does not load write JSON lines too.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs all "$work/worker.err" "$work/bad.err"; }

set +e
LADDER_LOG_FORMAT=xml "$bin/ladder-worker" 2>"$work/bad.err" >/dev/null
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "log.format=xml: exit $rc, want 2"
grep -q "LADDER_LOG_FORMAT: \"xml\" is not one of text, json" "$work/bad.err" \
  || fail "log.format=xml: the error does not name the variable and the values"
ok "a bad log.format stops the start with: $(cat "$work/bad.err")"

export LADDER_LOG_FORMAT=json LADDER_LOG_LEVEL=debug
"$bin/ladder-worker" >"$work/worker.out" 2>"$work/worker.err" &
worker=$!
lt_wait_join "$work/worker.err" || fail "the worker did not join"
# A second worker on the same http.listen stops at start-up: its reason is
# a JSON line too.
set +e
"$bin/ladder-worker" >/dev/null 2>"$work/second.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a second worker on the same http.listen: exit $rc, want 2"
# A key no USCC can be: the dead letter is logged with it.
printf "not avro" | kcat -P -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -p 0 \
  -k "$(printf "91\"\\\\\n\377\376x")" 2>/dev/null
lt_wait_log "$work/worker.err" "dead letter" || fail "no dead-letter line"
kill -TERM "$worker"
wait "$worker" || fail "the worker did not stop cleanly"

/usr/bin/python3 - "$work/worker.err" "$work/second.err" <<"PY" || fail "stderr is not JSON lines"
import json, re, sys
second = [json.loads(l) for l in open(sys.argv[2], "rb").read().decode("utf-8").splitlines()]
assert any(r["level"] == "ERROR" and "http.listen" in r["event"] for r in second), second
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\n"), "the last line is not ended"
lines = raw.split(b"\n")[:-1]
assert len(lines) >= 4, "only %d lines" % len(lines)
time_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
events, with_fields = [], 0
for n, line in enumerate(lines, 1):
    rec = json.loads(line.decode("utf-8"))
    assert isinstance(rec, dict), "line %d is not an object" % n
    assert time_re.match(rec["time"]), "line %d: time %r" % (n, rec["time"])
    assert rec["level"] in ("ERROR", "WARN", "INFO", "DEBUG"), rec
    assert rec["program"] == "ladder-worker", rec
    assert isinstance(rec["pid"], int) and isinstance(rec["event"], str), rec
    if "fields" in rec:
        assert all(isinstance(v, str) for v in rec["fields"].values()), rec
        with_fields += 1
    events.append(rec["event"])
assert any("resuming at offset" in e for e in events), "no join line"
assert any(e.startswith("dead letter") for e in events), "no dead letter"
assert any(e.startswith("stopping") for e in events), "no stop line"
assert with_fields >= 1, "no line with fields"
print("ok - %d stderr lines, every one a JSON object (%d with fields)"
      % (len(lines), with_fields))
PY

# The other long-running programs write the same lines: ladder-api with its
# Redis unreachable, ladder-notify with no subscriber, ladder-registry from
# start to SIGTERM, and a worker whose LADDER_* configuration does not load.
busy=$(demo_free_port)
set +e
LADDER_REDIS_URL=redis://127.0.0.1:$busy/0 LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) \
  timeout 20 "$bin/ladder-api" >/dev/null 2>"$work/ladder-api.err"
LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) timeout 20 "$bin/ladder-notify" >/dev/null 2>"$work/ladder-notify.err"
LADDER_HTTP_LISTEN=nowhere timeout 20 "$bin/ladder-worker" >/dev/null 2>"$work/ladder-worker.err"
set -e
"$bin/ladder-registry" --listen 127.0.0.1:0 --port-file "$work/reg.port" 2>"$work/ladder-registry.err" &
reg=$!
lt_wait_file "$work/reg.port" || fail "ladder-registry did not start"
kill -TERM "$reg"; wait "$reg" || fail "ladder-registry did not stop cleanly"
/usr/bin/python3 - "$work" <<"PY" || fail "a program wrote a line that is not JSON"
import json, os, sys
want = {"ladder-api": "redis at", "ladder-notify": "no subscriber configured",
        "ladder-worker": "LADDER_HTTP_LISTEN", "ladder-registry": "stopping"}
for prog, word in want.items():
    lines = open(os.path.join(sys.argv[1], prog + ".err")).read().splitlines()
    assert lines, "%s wrote nothing" % prog
    recs = [json.loads(l) for l in lines]
    assert all(r["program"] == prog and r["level"] in ("ERROR", "WARN", "INFO", "DEBUG")
               for r in recs), (prog, recs)
    assert any(word in r["event"] for r in recs), (prog, word, recs)
print("ok - ladder-api, ladder-notify, ladder-registry and a worker refused by its "
      "configuration write JSON lines too")
PY
' "$src" "$bin"
