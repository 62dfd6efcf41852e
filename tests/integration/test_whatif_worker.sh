#!/usr/bin/env bash
# ladder-whatif is right, and provably so: a generated history goes
# through ladder-feed and ladder-worker (a real Redis and the embedded
# Kafka, 4 partitions) and through ladder-whatif with the same policy and
# partition count; the register the worker stored (read through
# ladder-admin enterprise --json, one enterprise at a time) equals the
# what-if baseline enterprise by enterprise: every tier's state and
# valid_until, and ban_until. The history ends with ladder-gen's ticks, so
# the worker's partitions and the what-if's final tick reach the same time.
# --from-kafka reads the topic back to the same register; test_whatif_evicted
# checks that it refuses a log whose head is gone.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
wpid=""
cleanup() { [ -z "$wpid" ] || demo_stop "$wpid" || true; }
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/whatif.err"; }
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

lt_scale 0.002 0.001
"$bin/ladder-gen" --scale "$scale" --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/feed.log" 2>&1 || fail "ladder-feed: $(tail -3 "$work/feed.log")"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 60 || fail "the worker did not store the $total events"
ok "the worker stored $total messages"

"$bin/ladder-whatif" --history "$work/g/events.csv" --baseline "$src/deploy/policy" \
  --partitions 4 --register "$work/register.jsonl" --json >"$work/whatif.json" 2>"$work/whatif.err" \
  || fail "ladder-whatif: $(cat "$work/whatif.err")"
n=$(jget "$work/whatif.json" "j[\"enterprises\"]")
[ "$(wc -l <"$work/register.jsonl")" -eq "$n" ] || fail "--register has not $n enterprises"
[ "$(jget "$work/whatif.json" "j[\"rejected\"], j[\"changed_enterprises\"]" | tr -d "(),")" = "0 0" ] \
  || fail "the what-if rejected or changed something: $(head -c 300 "$work/whatif.json")"
# the register holds designations of every tier, so the comparison means something
d=$(jget "$work/whatif.json" "min(j[\"totals\"][\"baseline\"][\"active_at_end\"].values())")
[ "$d" -gt 0 ] || fail "a tier has no active designation at the end"
/usr/bin/python3 "$src/tests/integration/whatif_check.py" register "$work/register.jsonl" "$bin/ladder-admin" \
  >"$work/compare.out" || fail "the worker and the what-if differ: $(head -20 "$work/compare.out")"
ok "the worker register equals the what-if baseline: $(tail -1 "$work/compare.out")"

# --from-kafka reads the same log back (the partition count from the topic)
"$bin/ladder-whatif" --from-kafka --baseline "$src/deploy/policy" \
  --register "$work/register-kafka.jsonl" --json >"$work/kafka.json" 2>"$work/whatif.err" \
  || fail "ladder-whatif --from-kafka: $(cat "$work/whatif.err")"
cmp -s <(sort "$work/register.jsonl") <(sort "$work/register-kafka.jsonl") \
  || fail "--from-kafka gives another register than the files"
[ "$(jget "$work/kafka.json" "j[\"totals\"], j[\"enterprises\"], j[\"rejected\"]")" = "$(jget "$work/whatif.json" "j[\"totals\"], j[\"enterprises\"], j[\"rejected\"]")" ] \
  || fail "--from-kafka gives other totals than the files"
ok "--from-kafka: the same register and totals as the files"
' "$src" "$bin"
