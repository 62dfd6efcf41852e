#!/usr/bin/env bash
# The dashboard in a real browser: a ladder-worker decides the register of
# tests/integration/test_api_feed.py, ladder-api serves it, and headless
# Chromium (/usr/bin/chromium, driven over the DevTools protocol by
# dashboard.py) loads GET /. ladder-api requires a token (api.token), so
# the page asks for it: a wrong one is refused, the right one signs in
# with an HttpOnly, SameSite=Strict session cookie. Checked then: the
# totals, the chart's units and the batch table equal /v1/stats; the feed
# goes live; a revocation fed during the test appears in the feed within
# 30 s and the totals follow; the USCC search finds an enterprise; a
# reload stays signed in; sign-out ends it. Throughout, under the
# Content-Security-Policy every answer carries: nothing blocked (no
# violation, no console message), and no URL the browser loaded holds the
# token. The screenshot is kept in the build tree
# ($LADDERTEST_ARTIFACTS/dashboard.png).
set -euo pipefail
src=${LADDERTEST_SRC:?}
bin=${LADDERTEST_BIN:?}
[ -x /usr/bin/chromium ] || { echo "FAIL - /usr/bin/chromium is not installed (./tools/test installs it)"; exit 1; }
shot=${LADDERTEST_ARTIFACTS:-$src/build/tests/browser}/dashboard.png
exec "$src/tests/support/with-stack" bash -c '
set -euo pipefail
src=$0; bin=$1; shot=$2
work=$LADDERTEST_STACK_DIR
. "$src/tools/demo/lib.sh"
worker= api=
trap "kill -TERM \$api \$worker 2>/dev/null || true" EXIT
fail() { echo "FAIL - $*"; tail -n 20 "$work/worker.log" "$work/api.log" 2>/dev/null; exit 1; }
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
export LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
export LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
/usr/bin/python3 "$src/tests/integration/test_api_feed.py" "$work"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
"$bin/ladder-feed" "$work/phase1.jsonl" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(cat "$work/feed.log")"
DEMO_PIDS=$worker demo_wait_caught_up "$(demo_topic_total ladder.events.v1)" 60 || fail "the worker did not decide the register"
port=$(demo_free_port)
token=$(/usr/bin/python3 -c "import secrets; print(secrets.token_hex(32))")
LADDER_API_TOKEN=$token LADDER_HTTP_LISTEN=127.0.0.1:$port "$bin/ladder-api" >"$work/api.log" 2>&1 &
api=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
ent() { /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/ents.json" "$1"; }
rc=0
/usr/bin/python3 "$src/tests/browser/dashboard.py" check "http://127.0.0.1:$port" "$shot" "$token" \
  "$bin/ladder-feed" "$work/phase2.jsonl" -- "$(ent X)" "$(ent A)" || rc=1
kill -TERM "$api"; wait "$api" || { echo "FAIL - ladder-api exit status"; rc=1; }; api=
kill -TERM "$worker"; wait "$worker" || true; worker=
exit "$rc"
' "$src" "$bin" "$shot"
