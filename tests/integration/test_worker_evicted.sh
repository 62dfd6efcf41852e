#!/usr/bin/env bash
# A log whose head was evicted before the worker reached it (the embedded
# cluster keeps about 5 MiB per partition) is reported and counted, never
# skipped silently: the worker logs the gap and ladder_worker_lost_messages_total
# says how many messages are gone.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { tail -5 "$work/worker.log"; }
# About 12 MB of events into the one partition, before any worker runs.
"$bin/ladder-gen" --scale 0.05 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt 0 ] || fail "precondition: the cluster evicted nothing (log starts at ${start:-?})"
echo "ok - the log now starts at offset $start: the messages before it are gone"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_log "$work/worker.log" "messages are gone" 200 || true
line=$(grep -m1 "messages are gone" "$work/worker.log") || fail "no report of the evicted messages"
echo "ok - reported: ${line#* ERROR }"
gone=$(echo "$line" | sed -nE "s/.*: ([0-9]+) messages are gone/\1/p")
[ "$gone" -gt 0 ] || fail "no count in the report"
for _ in $(seq 1 50); do
  lost=$(curl -s "http://$LADDER_HTTP_LISTEN/metrics" | sed -nE "s/^ladder_worker_lost_messages_total ([0-9]+).*/\1/p")
  [ "${lost:-0}" -eq "$gone" ] && break; sleep 0.2
done
[ "${lost:-0}" -eq "$gone" ] || fail "ladder_worker_lost_messages_total is ${lost:-missing}, want $gone"
echo "ok - ladder_worker_lost_messages_total $lost"
kill -TERM "$worker"; wait "$worker"
' "$src" "$bin"
