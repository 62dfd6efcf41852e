#!/usr/bin/env bash
# ladder-whatif --from-kafka refuses an input log that no longer starts at
# offset 0 (the register cannot be rebuilt from it), naming the log start,
# and with --allow-partial replays what is left, saying what is gone.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs 10 "$work/err"; }
# About 12 MB into the one partition: the embedded cluster keeps about
# 5 MiB per partition, so the head is evicted (as test_admin_evicted).
"$bin/ladder-gen" --scale 0.05 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt 0 ] || fail "precondition: the cluster evicted nothing (log starts at ${start:-?})"
ok "the log starts at offset $start"
s=0; "$bin/ladder-whatif" --from-kafka --baseline "$src/deploy/policy" --out "$work/r" >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 3 ] && grep -q "refused: the input log no longer starts at offset 0.*ladder.events.v1/0 starts at offset $start" "$work/err" \
  || fail "a log without its head gave $s: $(cat "$work/err")"
[ ! -e "$work/r" ] || fail "a refused replay wrote --out"
ok "refused: $(cut -c1-100 "$work/err")"
s=0; "$bin/ladder-whatif" --from-kafka --allow-partial --baseline "$src/deploy/policy" --json >"$work/j" 2>"$work/err" || s=$?
[ "$s" -eq 0 ] && grep -q "warning: partial replay" "$work/err" || fail "--allow-partial gave $s: $(cat "$work/err")"
total=$(demo_topic_total ladder.events.v1)
n=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"events\"])" "$work/j")
[ "$n" -gt 0 ] && [ "$n" -le $((total - start)) ] || fail "--allow-partial replayed $n events of $((total - start)) left"
ok "--allow-partial replays the $n events left, with a warning"
' "$src" "$bin"
