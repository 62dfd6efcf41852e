#!/usr/bin/env bash
# ladder-admin rebuild refuses a partition whose input log no longer starts
# at offset 0: the state could not be rebuilt from it (the worker would stop
# with exit status 3, docs/OPERATIONS.md). The refusal names the log start
# and changes nothing in Redis.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs 10 "$work/out"; }
# About 12 MB into the one partition: the embedded cluster keeps about
# 5 MiB per partition, so the head is evicted (as test_worker_rebuild).
"$bin/ladder-gen" --scale 0.05 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt 0 ] || fail "precondition: the cluster evicted nothing (log starts at ${start:-?})"
ok "the log starts at offset $start"
# a store that looks like a stopped owner left it
meta=$(demo_keys meta 0)
demo_redis hset "$meta" epoch 4 next_offset 7 >/dev/null
for force in "" --force; do
  s=0; "$bin/ladder-admin" rebuild --partition 0 $force >"$work/out" 2>&1 || s=$?
  [ "$s" -eq 1 ] || fail "rebuild $force exited $s, want 1: $(cat "$work/out")"
  grep -q "refused: the input log ladder.events.v1/0 starts at offset $start, not 0" "$work/out" || fail "the refusal does not name the log start: $(cat "$work/out")"
  [ "$(demo_redis hget "$meta" epoch) $(demo_redis hget "$meta" next_offset)" = "4 7" ] || fail "a refused rebuild changed the store"
  ok "rebuild ${force:-without --force} refused: $(cut -c1-80 "$work/out")"
done
"$bin/ladder-admin" rebuild --partition 0 --json >"$work/out" 2>&1 || true
/usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j[\"outcome\"] == \"refused_log_head_gone\" and j[\"log_start\"] == int(sys.argv[2])))" "$work/out" "$start" || fail "--json: $(cat "$work/out")"
ok "--json says refused_log_head_gone at $start"
' "$src" "$bin"
