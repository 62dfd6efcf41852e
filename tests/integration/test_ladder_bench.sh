#!/usr/bin/env bash
# ladder-bench on a small stream, so that the instrument cannot silently
# rot: the run completes (exit 0), the table has every row with a value
# (sustained rate, both ceilings non-zero, the ratios, latency p50/p99/max,
# CPU and Redis figures, memory per enterprise, peak RSS, restart time),
# the backlog is the events asked for, and the private stack and its
# temporary directory are gone afterwards. A SIGTERM in the middle of a run
# stops it with exit 1, stops every process it started and removes its
# directory; a bad option, or a backlog that --partitions cannot hold, is
# exit 2. A short run on a 3-master Redis Cluster (--redis-cluster 3)
# reports where the partitions live and positive costs, summed over the
# masters, and the fork of the rewrites it forced. The sustained phase is
# shown tenth by tenth, in the table and in the JSON.
. "$(dirname "$0")/../support/lib.sh"
lt_init
events=20000
secs=3
rate=2000
case "$bin" in
  */asan/bin) events=5000; secs=2; rate=500; echo "# sanitizer build ($bin): $events events" ;;
esac
lt_tmpdir work ladder-bench-test
bench_pid=""
cleanup() { [ -z "$bench_pid" ] || kill -TERM "$bench_pid" 2>/dev/null || true; }
on_fail() { echo "--- stderr"; tail -30 "$work/err.log" 2>/dev/null || true; }

rc=0; "$bin/ladder-bench" --events abc >/dev/null 2>"$work/usage.log" || rc=$?
[ "$rc" -eq 2 ] || fail "--events abc: exit $rc, expected 2"
grep -q -- "--events" "$work/usage.log" || fail "--events abc: the error does not name the option"
"$bin/ladder-bench" --help | grep -q -- "--latency-seconds" || fail "--help does not list --latency-seconds"
mkdir "$work/tmp"
rc=0; TMPDIR=$work/tmp "$bin/ladder-bench" --partitions 1 --events 20000 --latency-seconds 1 --rate 100 \
  >/dev/null 2>"$work/usage.log" || rc=$?
[ "$rc" -eq 2 ] || fail "--partitions 1 for 20000 events: exit $rc, expected 2"
grep -q -- "--partitions 1: .*give at least" "$work/usage.log" \
  || fail "--partitions 1: the error does not say how many are needed: $(cat "$work/usage.log")"
[ -z "$(ls -A "$work/tmp")" ] || fail "--partitions 1: the temporary directory was left behind"
echo "ok - usage errors exit 2 and name the option (a backlog the partitions cannot hold, too); --help lists the options"

rc=0
TMPDIR=$work/tmp "$bin/ladder-bench" --events "$events" --latency-seconds "$secs" --rate "$rate" \
  >"$work/table.txt" 2>"$work/err.log" || rc=$?
[ "$rc" -eq 0 ] || fail "ladder-bench exited $rc"
cat "$work/table.txt"
grep -q "^ladder-worker: ladder-bench" "$work/table.txt" || fail "no table heading"
grep -q "^  $events events (" "$work/table.txt" || fail "the backlog is not the $events events asked for"
value() { # the value column of the row whose label starts with $1
  awk -v l="$1" 'index($0, l) == 1 { s = substr($0, 38); split(s, f, " "); print f[1]; exit }' "$work/table.txt"
}
for row in "sustained rate (worker)" "ceiling: passthrough" "ceiling: one Redis script/event" \
           "worker / passthrough" "worker / one script per event" "decision latency p50 at" \
           "decision latency p99" "decision latency max" "worker CPU per event" \
           "Redis CPU per event" "Redis commands per event" "Redis memory per enterprise" \
           "worker peak RSS (VmHWM)" "restart to first decision"; do
  v=$(value "$row")
  [ -n "$v" ] || fail "row '$row' is missing"
  /usr/bin/python3 -c 'import sys; v = float(sys.argv[1]); sys.exit(0 if v > 0 else 1)' "$v" 2>/dev/null \
    || fail "row '$row' has no positive value: '$v'"
done
# The flatness needs polls inside the first and the last tenth of the
# backlog: a run this short may store a tenth between two polls (n/a).
v=$(value "rate last 10 % / first 10 %")
[ "$v" = n/a ] || /usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$v" 2>/dev/null \
  || fail "the flatness row has neither a positive value nor n/a: '$v'"
# The work and the costs of the first and the last tenth: the same polls,
# so n/a too.
for row in "decisions per event (first 10 %)" "decisions per event (last 10 %)" \
           "worker CPU per event (first 10 %)" "worker CPU per event (last 10 %)" \
           "Redis CPU per event (first 10 %)" "Redis CPU per event (last 10 %)"; do
  c=$(value "$row")
  [ -n "$c" ] || fail "row '$row' is missing"
  [ "$c" = n/a ] || /usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$c" 2>/dev/null \
    || fail "row '$row' has neither a positive value nor n/a: '$c'"
done
echo "ok - the table has every row, each with a positive value (ceilings included; flatness: $v)"
grep -Eq "^sustained rate \(worker\).*(met|MISSED)$" "$work/table.txt" || fail "the sustained rate has no met/MISSED verdict"
grep -Eq "^restart to first decision.*session.timeout.ms 6000" "$work/table.txt" \
  || fail "the restart row does not state session.timeout.ms"
for row in "worker / passthrough" "rate last 10 % / first 10 %" "decision latency p99" \
           "decision latency max" "worker CPU per event (steady)" "Redis CPU per event (steady)" \
           "Redis memory per enterprise" "worker peak RSS (VmHWM)"; do
  grep -F "$row" "$work/table.txt" | grep -Eq "(met|MISSED)$" || fail "row '$row' has no met/MISSED verdict"
done
grep -q "BGREWRITEAOF forced on 1 of 1 master" "$work/err.log" || fail "the latency phase did not force an AOF rewrite"
echo "ok - targets are shown with met/MISSED, the restart row states its settings, the latency phase forces a BGREWRITEAOF"
# MEMORY USAGE by key type: the enterprises' hash holds most of the bytes.
awk '/^Redis MEMORY USAGE by key type/ { on = 1; next } on && NF == 4 && $1 != "key" { print }' "$work/table.txt" >"$work/mem.txt"
[ "$(wc -l <"$work/mem.txt")" -ge 6 ] || fail "the memory by key type has $(wc -l <"$work/mem.txt") rows: $(cat "$work/mem.txt")"
/usr/bin/python3 - "$work/mem.txt" <<'PY' || fail "memory by key type: $(cat "$work/mem.txt")"
import sys
rows = {l.split()[0]: (int(l.split()[1]), float(l.split()[2])) for l in open(sys.argv[1])}
for t in ("meta", "ent", "timers", "outbox", "counters", "notices"):
    assert t in rows, (t, rows)
ent = rows["ent"]
assert ent[0] >= 1 and ent[1] > 0, ent
assert rows["meta"][0] == ent[0], rows
PY
echo "ok - MEMORY USAGE by key type is shown for every key type of the store"
# The sustained phase by tenth: ten rows, 1 to 10; a tenth that was timed
# has events, a positive rate and costs, and the tenths hold no more
# events than the backlog's input messages.
awk '/^The sustained phase by tenth/ { on = 1; next } on && NF == 7 && $1 != "tenth" { print }' "$work/table.txt" >"$work/tenths.txt"
messages=$(sed -n 's/^  [0-9]* events (\([0-9]*\) input messages.*/\1/p' "$work/table.txt")
/usr/bin/python3 - "$work/tenths.txt" "$messages" <<'PY' || fail "the tenths table is not as expected: $(cat "$work/tenths.txt")"
import math, sys
rows = [l.split() for l in open(sys.argv[1])]
assert [int(r[0]) for r in rows] == list(range(1, 11)), rows
total = 0
for r in rows:
    events, rate, wus, rus = (float("nan" if x == "n/a" else x) for x in r[1:5])
    if math.isnan(events):
        continue
    assert events > 0, r
    total += events
    if not math.isnan(rate):
        assert rate > 0 and wus > 0 and rus >= 0, r
assert 0 < total <= int(sys.argv[2]), (total, sys.argv[2])
PY
echo "ok - the sustained phase is shown tenth by tenth ($(awk '$2 != "n/a" { s += $2 } END { print s + 0 }' "$work/tenths.txt") of $messages messages timed)"
grep -q "sustained:" "$work/err.log" && grep -q "ceiling: passthrough" "$work/err.log" \
  && grep -q "latency:" "$work/err.log" && grep -q "restart:" "$work/err.log" \
  || fail "progress on stderr does not name every phase"
[ -z "$(ls -A "$work/tmp")" ] || fail "the temporary directory was left behind: $(ls "$work/tmp")"
echo "ok - progress names every phase on stderr; the temporary directory is removed"

rc=0; "$bin/ladder-bench" --redis-cluster 2 >/dev/null 2>"$work/usage.log" || rc=$?
[ "$rc" -eq 2 ] || fail "--redis-cluster 2: exit $rc, expected 2"
grep -q -- "--redis-cluster" "$work/usage.log" || fail "--redis-cluster 2: the error does not name the option"
rc=0
TMPDIR=$work/tmp "$bin/ladder-bench" --events 5000 --latency-seconds 1 --rate 500 --redis-cluster 3 --json \
  >"$work/cluster.json" 2>"$work/err.log" || rc=$?
[ "$rc" -eq 0 ] || fail "ladder-bench --redis-cluster 3 exited $rc"
/usr/bin/python3 - "$work/cluster.json" <<'PY' || fail "the cluster run's JSON is not as expected: $(cat "$work/cluster.json")"
import json, sys
d = json.load(open(sys.argv[1]))
run, fig = d["run"], d["figures"]
pl = run["partitions_per_master"]
assert run["redis_masters"] == 3 and len(pl) == 3, pl
assert sum(m["partitions"] for m in pl) == run["partitions"], pl
assert all(m["node"].startswith("127.0.0.1:") for m in pl), pl
for k in ("sustained_events_per_s", "script_per_event_events_per_s",
          "worker_cpu_us_per_event", "redis_cpu_us_per_event",
          "worker_cpu_us_per_event_all", "redis_cpu_us_per_event_all",
          "redis_commands_per_event", "redis_bytes_per_enterprise"):
    assert fig[k]["value"] and fig[k]["value"] > 0, (k, fig[k])
for k in ("sustained_events_per_s", "ratio_to_passthrough",
          "flatness_last_to_first_10pct", "latency_p99_ms", "latency_max_ms",
          "worker_cpu_us_per_event", "redis_cpu_us_per_event",
          "redis_bytes_per_enterprise", "worker_peak_rss_mb",
          "restart_to_first_decision_s"):
    assert fig[k]["target"] and isinstance(fig[k]["met"], bool), (k, fig[k])
assert run["aof_rewrites_forced"] == 3, run
# the forced rewrites forked: their fork time is a figure of its own
fork = fig["aof_rewrite_fork_ms"]
assert fork["value"] and fork["value"] > 0 and fork["unit"] == "ms", fork
tenths = d["sustained_by_tenth"]
assert [t["tenth"] for t in tenths] == list(range(1, 11)), tenths
assert sum(t["events"] or 0 for t in tenths) <= run["input_messages"], tenths
for t in tenths:
    assert t["events"] is None or t["events"] > 0, t
    assert t["events_per_s"] is None or t["events_per_s"] > 0, t
types = {m["type"]: m for m in d["memory_by_key_type"]}
assert types["ent"]["keys"] == run["partitions"] and types["ent"]["bytes"] > 0, types
print("# partitions per master: " + " ".join(str(m["partitions"]) for m in pl))
PY
[ -z "$(ls -A "$work/tmp")" ] || fail "the cluster run left its temporary directory behind"
echo "ok - --redis-cluster 3: partitions per master add up, costs summed over the masters; --redis-cluster 2 is exit 2"

# SIGTERM during the run: exit 1, every child stopped, directory removed.
TMPDIR=$work/tmp "$bin/ladder-bench" --events "$events" --latency-seconds "$secs" --rate "$rate" \
  >"$work/table2.txt" 2>"$work/err.log" &
bench_pid=$!
for _ in $(seq 1 600); do
  grep -q "sustained: starting" "$work/err.log" && break
  kill -0 "$bench_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "sustained: starting" "$work/err.log" || fail "the second run did not reach its sustained phase"
children=$(pgrep -P "$bench_pid" | tr '\n' ' ')
[ -n "$children" ] || fail "no child processes seen"
kill -TERM "$bench_pid"
rc=0; wait "$bench_pid" || rc=$?
bench_pid=""
[ "$rc" -eq 1 ] || fail "after SIGTERM: exit $rc, expected 1"
grep -q "interrupted" "$work/err.log" || fail "after SIGTERM: no 'interrupted' on stderr"
for pid in $children; do
  ! kill -0 "$pid" 2>/dev/null || fail "after SIGTERM: child $pid still runs"
done
[ -z "$(ls -A "$work/tmp")" ] || fail "after SIGTERM: the temporary directory was left behind"
[ ! -s "$work/table2.txt" ] || fail "after SIGTERM: a table was printed"
echo "ok - SIGTERM mid-run: exit 1, its $(echo $children | wc -w) child processes stopped, directory removed"
