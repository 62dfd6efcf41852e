#!/usr/bin/env bash
# A log whose head was evicted after the worker stored an offset, but before
# the worker read on (the embedded cluster keeps about 5 MiB per partition),
# is reported and counted, never skipped silently: the worker logs the gap
# and ladder_worker_lost_messages_total says how many messages are gone.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 1 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { tail -5 "$work/worker.log"; }
# A few events, decided and stored: the partition has a stored offset.
"$bin/ladder-gen" --scale 0.0005 --seed 5 --single --out "$work/small" >/dev/null 2>&1 || fail "ladder-gen (small)"
"$bin/ladder-feed" "$work/small/events.csv" >/dev/null 2>&1 || fail "ladder-feed (small)"
"$bin/ladder-worker" >"$work/worker0.log" 2>&1 &
worker=$!
total=$(demo_topic_total ladder.events.v1)
for _ in $(seq 1 300); do
  read -r stored _ <<<"$(demo_stored)"
  [ "$stored" -eq "$total" ] && break; sleep 0.2
done
[ "$stored" -eq "$total" ] || fail "the first worker stored $stored of $total"
kill -TERM "$worker"; wait "$worker" || fail "the first worker exited $?"
ok "stored offset $stored"
# About 12 MB more into the one partition while no worker runs: the head,
# and with it messages the worker never read, is evicted.
"$bin/ladder-gen" --scale 0.05 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt "$stored" ] || fail "precondition: the log starts at ${start:-?}, not after the stored offset $stored"
ok "the log now starts at offset $start: messages $stored to $((start - 1)) are gone"
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
lt_wait_log "$work/worker.log" "messages are gone" 200 || true
line=$(grep -m1 "messages are gone" "$work/worker.log") || fail "no report of the evicted messages"
ok "reported: ${line#* ERROR }"
gone=$(echo "$line" | sed -nE "s/.*: ([0-9]+) messages are gone/\1/p")
[ "$gone" -eq $((start - stored)) ] || fail "reported $gone messages gone, want $((start - stored))"
for _ in $(seq 1 50); do
  lost=$(curl -s "http://$LADDER_HTTP_LISTEN/metrics" | sed -nE "s/^ladder_worker_lost_messages_total ([0-9]+).*/\1/p")
  [ "${lost:-0}" -eq "$gone" ] && break; sleep 0.2
done
[ "${lost:-0}" -eq "$gone" ] || fail "ladder_worker_lost_messages_total is ${lost:-missing}, want $gone"
ok "ladder_worker_lost_messages_total $lost"
kill -TERM "$worker"; wait "$worker" || fail "the worker exited $? after the gap"
' "$src" "$bin"
