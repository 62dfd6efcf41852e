#!/usr/bin/env bash
# A rebuild (nothing stored in Redis) replays the input log from offset 0.
# When the head of the log is gone, the state cannot be rebuilt: the worker
# says so in one ERROR line, decides nothing and stops with exit status 3
# (docs/OPERATIONS.md, "Recovering from a lost Redis").
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { tail -5 "$work/worker.log"; }
# About 12 MB into the one partition before any worker runs: the embedded
# cluster keeps about 5 MiB per partition, so the head is evicted.
"$bin/ladder-gen" --scale 0.05 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt 0 ] || fail "precondition: the cluster evicted nothing (log starts at ${start:-?})"
ok "the log starts at offset $start"
[ "$(demo_redis dbsize)" -eq 0 ] || fail "precondition: Redis is not empty"
status=0
timeout 60 "$bin/ladder-worker" >"$work/worker.log" 2>&1 || status=$?
[ "$status" -eq 3 ] || fail "the worker exited $status, want 3"
ok "the worker stopped with exit status 3"
line=$(grep -m1 " ERROR .*nothing is stored" "$work/worker.log") || fail "no ERROR line that names the problem"
echo "$line" | grep -F "input log starts at offset $start, not 0" >/dev/null || fail "the line does not name the log start $start: $line"
ok "said: ${line#* ERROR }"
read -r stored _ <<<"$(demo_stored)"
[ "${stored:-0}" -eq 0 ] || fail "$stored messages were stored from a log without its head"
n=$(kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "x\n" 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "$n decisions were published from a log without its head"
ok "nothing stored, no decision published"
' "$src" "$bin"
