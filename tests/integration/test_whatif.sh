#!/usr/bin/env bash
# ladder-whatif without a stack: the command line and its exit statuses;
# a hand-built history whose change under one --set is worked out by hand
# (tests/integration/whatif_check.py story) gives exactly that change, in
# the table, the JSON and the changed-enterprises CSV; two copies of the
# same policy directory give no change on a generated history, while the
# 2026 revision applied from 2022 does change it, the same with one thread
# or three; and Ctrl-C stops a run cleanly (exit 3, nothing written).
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_tmpdir work whatif
W=$bin/ladder-whatif
P=$src/deploy/policy
export LADDER_UNITS_FILE=$src/deploy/data/reporting_units.csv
# jget FILE EXPR: EXPR of the JSON document in FILE (as j), printed.
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- the command line ----------------------------------------------------
"$W" --help | grep -q "^Usage: ladder-whatif" || fail "--help"
s=0; "$W" >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 2 ] && grep -q "baseline DIR is required" "$work/err" || fail "no options gave $s: $(cat "$work/err")"
/usr/bin/python3 "$src/tests/integration/whatif_check.py" story "$work/story.jsonl"
s=0; "$W" --history "$work/story.jsonl" --baseline "$P" >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 2 ] && grep -q "give --partitions N" "$work/err" || fail "no partition count gave $s: $(cat "$work/err")"
s=0; "$W" --history "$work/nope.csv" --baseline "$P" --partitions 4 >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 2 ] && grep -q "nope.csv: No such file" "$work/err" || fail "a missing history gave $s: $(cat "$work/err")"
s=0; "$W" --history "$work/story.jsonl" --baseline "$P" --partitions 4 \
  --set miit-2022.tiers.LITTLE_GIANT.criteria.LG.NO_SUCH.when.ge=5 >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 2 ] && grep -q "^ladder-whatif: --set: no element .LG. in miit-2022.tiers.LITTLE_GIANT.criteria (has LG.YEARS_IN_NICHE" "$work/err" \
  || fail "an unknown --set path gave $s: $(cat "$work/err")"
ok "an unknown --set path: exit 2, $(cut -c1-90 "$work/err")"
s=0; "$W" --history "$work/story.jsonl" --baseline "$P" --partitions 4 \
  --set miit-2022.lifecycle.validity_years=0 >/dev/null 2>"$work/err" || s=$?
[ "$s" -eq 2 ] && grep -q "miit-2022.json: \$.lifecycle.validity_years" "$work/err" \
  || fail "a --set the loader refuses gave $s: $(cat "$work/err")"
ok "a --set the policy loader refuses: exit 2 naming the file and path"

# ---- one --set, worked out by hand ----------------------------------------
"$W" --history "$work/story.jsonl" --baseline "$P" --partitions 4 --json \
  --set miit-2022.tiers.LITTLE_GIANT.criteria.LG.YEARS_IN_NICHE.when.ge=5 \
  --out "$work/story" >"$work/story.json" 2>"$work/err" || fail "story run: $(cat "$work/err")"
want='6 0 2 1'
got=$(jget "$work/story.json" "j[\"events\"], j[\"rejected\"], j[\"enterprises\"], j[\"changed_enterprises\"]" | tr -d "(),")
[ "$got" = "$want" ] || fail "events/rejected/enterprises/changed: $got, want $want"
# baseline: both little giants; variant: A (unit 11) rejected
t=$(jget "$work/story.json" "[j[\"totals\"][s][k][\"LITTLE_GIANT\"] for s in (\"baseline\",\"variant\") for k in (\"designated\",\"active_at_end\")]")
[ "$t" = "[2, 2, 1, 1]" ] || fail "little-giant totals (designated, active; baseline, variant): $t"
t=$(jget "$work/story.json" "[(u[\"unit\"], u[\"baseline\"][\"active_at_end\"][\"LITTLE_GIANT\"], u[\"variant\"][\"active_at_end\"][\"LITTLE_GIANT\"], u[\"variant\"][\"active_at_end\"][\"SPECIALIZED\"]) for u in j[\"by_unit\"] if u[\"unit\"] in (\"11\", \"12\")]")
[ "$t" = "[('11', 1, 0, 1), ('12', 1, 1, 1)]" ] || fail "by unit: $t"
t=$(jget "$work/story.json" "sorted(j.keys())")
[ "$t" = "['by_unit', 'changed_enterprises', 'enterprises', 'events', 'rejected', 'seconds', 'totals']" ] || fail "JSON keys: $t"
[ "$(jget "$work/story.json" "len(j[\"by_unit\"])")" = 37 ] || fail "by_unit does not list the 37 units"
csv=$(sed -n 2p "$work/story/changed.csv")
[ "$csv" = "91110000MA0000001L,故事企业11有限公司,11,LITTLE_GIANT,DESIGNATED,SPECIALIZED,DESIGNATED,2022-07-01T00:00:00.000Z,PUBLICITY_STARTED,LITTLE_GIANT,,REJECTED,LITTLE_GIANT,LG.YEARS_IN_NICHE" ] \
  || fail "changed.csv: $csv"
[ "$(wc -l <"$work/story/changed.csv")" -eq 2 ] || fail "changed.csv has more than one enterprise"
grep -q "^11     LITTLE_GIANT         1        0      -1 " "$work/story/table.txt" || fail "table: $(cat "$work/story/table.txt")"
for f in report.html by-unit.svg over-time.svg report.json; do [ -s "$work/story/$f" ] || fail "--out wrote no $f"; done
ok "years_in_niche >= 5 for little giants: A rejected instead of designated, as worked out by hand"

# ---- two copies of one policy: no change; the 2026 revision from 2022: some
lt_scale 0.01 0.002
"$bin/ladder-gen" --scale "$scale" --seed 7 --out "$work/g" -q || fail "ladder-gen"
cp -r "$P" "$work/copy1"; cp -r "$P" "$work/copy2"
"$W" --history "$work"/g/*.csv --baseline "$work/copy1" --variant "$work/copy2" \
  --partitions 8 --json --out "$work/same" >"$work/same.json" 2>"$work/err" || fail "copies: $(cat "$work/err")"
n=$(jget "$work/same.json" "j[\"events\"]")
[ "$n" -gt 1000 ] || fail "only $n events"
[ "$(jget "$work/same.json" "j[\"changed_enterprises\"], j[\"totals\"][\"baseline\"] == j[\"totals\"][\"variant\"], j[\"rejected\"]")" = "0 True 0" ] \
  || fail "two copies of one policy changed something: $(head -c 400 "$work/same.json")"
[ "$(wc -l <"$work/same/changed.csv")" -eq 1 ] || fail "changed.csv of two copies is not empty"
ok "two copies of the same policy: $n events, no change"
"$W" --history "$work"/g/*.csv --baseline "$P" --partitions 8 --json \
  --set miit-2026.applies_from.application=2022-01-01T00:00:00Z >"$work/from22.json" 2>"$work/err" || fail "from 2022: $(cat "$work/err")"
k=$(jget "$work/from22.json" "j[\"changed_enterprises\"]")
d=$(jget "$work/from22.json" "j[\"totals\"][\"variant\"][\"designated\"][\"LITTLE_GIANT\"] - j[\"totals\"][\"baseline\"][\"designated\"][\"LITTLE_GIANT\"]")
[ "$k" -gt 0 ] && [ "$d" -lt 0 ] || fail "the 2026 revision from 2022 changed $k enterprises, little giants by $d"
ok "the 2026 revision from 2022: $k enterprises change, $d little giants"
# threads split the partitions, not the answer
for t in 1 3; do
  "$W" --history "$work"/g/*.csv --baseline "$P" --partitions 8 --threads $t --json --out "$work/t$t" \
    --set miit-2026.applies_from.application=2022-01-01T00:00:00Z 2>"$work/err" | grep -v seconds >"$work/t$t.json" \
    || fail "--threads $t: $(cat "$work/err")"
done
for f in changed.csv over-time.svg by-unit.svg table.txt; do
  cmp -s "$work/t1/$f" "$work/t3/$f" || fail "--threads 1 and 3 give different $f"
done
cmp -s "$work/t1.json" "$work/t3.json" || fail "--threads 1 and 3 give different JSON"
ok "one thread and three give the same report"

# ---- Ctrl-C ----------------------------------------------------------------
mkfifo "$work/fifo"
( cat "$work/story.jsonl"; sleep 30 ) >"$work/fifo" & feeder=$!
cleanup() { kill "$feeder" 2>/dev/null || true; }
"$W" --history "$work/fifo" --format jsonl --baseline "$P" --partitions 4 --out "$work/int" \
  >/dev/null 2>"$work/err" & wpid=$!
sleep 1
kill -INT "$wpid"
s=0; timeout 10 tail --pid="$wpid" -f /dev/null || fail "ladder-whatif did not stop on SIGINT"
wait "$wpid" || s=$?
[ "$s" -eq 3 ] && grep -q "interrupted after .* events; nothing written" "$work/err" || fail "SIGINT gave $s: $(cat "$work/err")"
[ ! -e "$work/int" ] || fail "an interrupted run wrote --out"
ok "SIGINT stops the run: exit 3, nothing written"
