#!/usr/bin/env bash
# test_ladder_gen.sh -- ladder-gen from the outside: usage errors exit 2;
# the same seed gives byte-identical files and another seed different ones;
# --single holds exactly the rows of the per-unit files, in time order, and
# --out - writes the same bytes to stdout; every file is in time order,
# every USCC is valid and its region code belongs to its reporting unit
# (the Corps rule of docs/GEN.md), names and event ids are unique, ticks
# are monthly plus a final one; expected.json counts the rows and, with
# --verify, equals what libladder's state machine decides; and
# ladder-feed --dry-run rejects nothing. Small scale (0.01), so it also runs
# under the sanitizers; the calibration is test_ladder_gen_calibration.sh.
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_keep_going
gen="$bin/ladder-gen"
py=/usr/bin/python3
lt_tmpdir tmp ladder-gen-it

# --- usage errors: one line, exit 2 ----------------------------------------
expect_usage() { # NEEDLE ARGS...
  local needle=$1
  shift
  set +e
  "$gen" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  set -e
  if [ "$rc" -ne 2 ]; then
    fail "ladder-gen $*: exit $rc, want 2"
  elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF -- "$needle" "$tmp/err"; then
    fail "ladder-gen $*: want one line with '$needle', got: $(cat "$tmp/err")"
  else
    ok "usage error: $(cat "$tmp/err")"
  fi
}
expect_usage "--seed is required" --scale 0.01 --out "$tmp/x"
expect_usage "--scale is required" --seed 1 --out "$tmp/x"
expect_usage "--scale" --scale abc --seed 1 --out "$tmp/x"
expect_usage "--scale" --scale 0 --seed 1 --out "$tmp/x"
expect_usage "--seed" --scale 0.01 --seed -4 --out "$tmp/x"
expect_usage "--format" --scale 0.01 --seed 1 --format xml --out "$tmp/x"
expect_usage "--until" --scale 0.01 --seed 1 --until yesterday --out "$tmp/x"
expect_usage "--out" --scale 0.01 --seed 1
expect_usage "--single" --scale 0.01 --seed 1 --out -
expect_usage "unknown option" --scale 0.01 --seed 1 --out "$tmp/x" --bogus
"$gen" --help | grep -q -- "--scale S" || fail "--help does not describe --scale"

# --- determinism --------------------------------------------------------------
"$gen" --scale 0.01 --seed 7 --out "$tmp/a" 2>"$tmp/a.err" || fail "seed 7 run 1: $(cat "$tmp/a.err")"
# --verify: libladder's state machine decides exactly what expected.json says
"$gen" --scale 0.01 --seed 7 --out "$tmp/v" --verify 2>"$tmp/v.err" || fail "--verify: $(cat "$tmp/v.err")"
grep -q "decided what expected.json says" "$tmp/v.err" && ok "--verify: $(head -n 1 "$tmp/v.err")" ||
  fail "--verify did not confirm: $(cat "$tmp/v.err")"
cmp -s "$tmp/a/expected.json" "$tmp/v/expected.json" || fail "--verify changed expected.json"
"$gen" --scale 0.01 --seed 7 --out "$tmp/b" 2>/dev/null || fail "seed 7 run 2"
"$gen" --scale 0.01 --seed 8 --out "$tmp/c" 2>/dev/null || fail "seed 8"
grep -q "events/s" "$tmp/a.err" || fail "no summary on stderr: $(cat "$tmp/a.err")"
nfiles=$(ls "$tmp/a" | wc -l)
[ "$nfiles" -eq 39 ] || fail "want 37 unit files + ticks.csv + expected.json, got $nfiles"
same=1
for f in "$tmp"/a/*; do
  cmp -s "$f" "$tmp/b/$(basename "$f")" || { same=0; fail "seed 7 twice: $(basename "$f") differs"; }
done
[ "$same" -eq 1 ] && ok "same seed, byte-identical files ($nfiles)"
if cmp -s "$tmp/a/32.csv" "$tmp/c/32.csv"; then fail "seed 8 gave the same 32.csv as seed 7"; else ok "another seed, other data"; fi

"$gen" --scale 0.01 --seed 7 --single --format jsonl --out "$tmp/s" 2>/dev/null || fail "--single jsonl"
"$gen" --scale 0.01 --seed 7 --single --format jsonl --out - 2>/dev/null >"$tmp/stdout.jsonl" || fail "--out -"
cmp -s "$tmp/s/events.jsonl" "$tmp/stdout.jsonl" && ok "--out - writes the bytes of events.jsonl" ||
  fail "--out - differs from events.jsonl"
"$gen" --scale 0.01 --seed 7 --single --out "$tmp/sc" 2>/dev/null || fail "--single csv"
"$gen" --scale 0.01 --seed 7 --format jsonl --out "$tmp/aj" 2>/dev/null || fail "jsonl per unit"

# --- contents -------------------------------------------------------------------
if "$py" - "$tmp/a" "$tmp/sc/events.csv" "$tmp/aj" "$tmp/s/events.jsonl" "$src/deploy/data/reporting_units.csv" <<'EOF'; then ok "contents checked"; else fail "contents"; fi
import csv, glob, json, os, sys
from datetime import datetime, timezone

units_dir, single_csv, jsonl_dir, single_jsonl, units_file = sys.argv[1:6]
alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
bad = []

def uscc_ok(u):
    if len(u) != 18 or any(ch not in alphabet for ch in u):
        return False
    s = sum(alphabet.index(ch) * w for ch, w in zip(u[:17], weights))
    return alphabet[(31 - s % 31) % 31] == u[17]

codes = [r["code"] for r in csv.DictReader(open(units_file, encoding="utf-8"))]
cities = [c for c in codes if len(c) == 4]

def region_ok(unit, region):
    # docs/GEN.md: a province's code + 4 digits that do not start like a
    # listed city inside it; a city's code + 2 digits; the Corps 659001-659010.
    if unit == "66":
        return region[:4] == "6590" and 1 <= int(region[4:]) <= 10
    if len(unit) == 4:
        return region.startswith(unit)
    return (region.startswith(unit) and not any(region.startswith(c) for c in cities)
            and region[:4] != "6590")

def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))

def rows_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))

def time_of(r):
    return t(r["tick_at"] if r["kind"] == "tick" else r["occurred_at"])

names, ids = {}, set()
per_kind = {}
total_rows = 0
for path in sorted(glob.glob(os.path.join(units_dir, "*.csv"))):
    code = os.path.basename(path)[:-4]
    rows = rows_csv(path)
    total_rows += len(rows)
    prev = None
    for i, r in enumerate(rows):
        per_kind[r["kind"]] = per_kind.get(r["kind"], 0) + 1
        tm = time_of(r)
        if prev is not None and tm < prev:
            bad.append(f"{path}: row {i + 2} earlier than the row before")
        prev = tm
        if code == "ticks":
            if r["kind"] != "tick":
                bad.append(f"{path}: row {i + 2} is not a tick")
            continue
        u = r["uscc"]
        if r["reporting_unit"] != code:
            bad.append(f"{path}: row {i + 2} has unit {r['reporting_unit']}")
        if not uscc_ok(u):
            bad.append(f"{path}: invalid USCC {u}")
        if not region_ok(code, u[2:8]):
            bad.append(f"{path}: region {u[2:8]} of {u} is not unit {code}'s")
        if r["event_id"] in ids:
            bad.append(f"duplicate event_id {r['event_id']}")
        ids.add(r["event_id"])
        if r["kind"] in ("application", "review"):
            n = r["enterprise_name"]
            if not (n.endswith("有限公司")):
                bad.append(f"odd name {n}")
            if names.setdefault(u, n) != n:
                bad.append(f"{u} has two names")
if len(set(names.values())) != len(names):
    bad.append("two enterprises share a name")

# ticks: the first of every month from 2019-01 up to --until, and --until
ticks = [r["tick_at"] for r in rows_csv(os.path.join(units_dir, "ticks.csv"))]
want = [f"{y}-{m:02d}-01T00:00:00.000Z" for y in range(2019, 2026) for m in range(1, 13)]
want.append("2026-01-01T00:00:00.000Z")
if ticks != want:
    bad.append(f"ticks: {ticks[:3]}... ({len(ticks)}), want {len(want)} monthly + final")

# --single: the same rows, globally in time order
single = rows_csv(single_csv)
if len(single) != total_rows:
    bad.append(f"events.csv has {len(single)} rows, the unit files {total_rows}")
key = lambda r: tuple(r.values())
per_unit = []
for path in sorted(glob.glob(os.path.join(units_dir, "*.csv"))):
    per_unit += rows_csv(path)
if sorted(map(key, per_unit)) != sorted(map(key, single)):
    bad.append("events.csv does not hold exactly the rows of the unit files")
times = [time_of(r) for r in single]
if times != sorted(times):
    bad.append("events.csv is not in time order")

# JSON Lines carry the same rows as CSV
js = [json.loads(l) for l in open(single_jsonl, encoding="utf-8")]
if [r["event_id"] for r in js if r["kind"] != "tick"] != [r["event_id"] for r in single if r["kind"] != "tick"]:
    bad.append("events.jsonl and events.csv differ in their events")
if len(glob.glob(os.path.join(jsonl_dir, "*.jsonl"))) != 38:
    bad.append("jsonl: want 38 files")

# expected.json counts the rows
exp = json.load(open(os.path.join(units_dir, "expected.json")))
for k in ("application", "review", "violation", "tick"):
    if exp["events"][k] != per_kind.get(k, 0):
        bad.append(f"expected.json: {k} {exp['events'][k]}, rows {per_kind.get(k, 0)}")
if exp["seed"] != 7 or exp["scale"] != 0.01 or exp["until"] != "2026-01-01T00:00:00.000Z":
    bad.append(f"expected.json parameters: {exp['seed']} {exp['scale']} {exp['until']}")
for k in ("violation",):
    if per_kind.get(k, 0) == 0:
        bad.append("no violation rows at scale 0.01")
for b in bad[:20]:
    print(b, file=sys.stderr)
print(f"{total_rows} rows, {len(names)} enterprises, kinds {per_kind}")
sys.exit(1 if bad else 0)
EOF

# --until moves the horizon and the final tick
"$gen" --scale 0.01 --seed 7 --until 2021-06-15T00:00:00Z --single --out "$tmp/u" 2>/dev/null || fail "--until"
last=$(tail -n 1 "$tmp/u/events.csv")
case "$last" in tick,*2021-06-15T00:00:00.000Z*) ok "--until: final tick at 2021-06-15" ;; *) fail "--until: last row $last" ;; esac
grep -q ',2022-' "$tmp/u/events.csv" && fail "--until 2021-06-15: rows of 2022" || true

# --- ladder-feed accepts every row ----------------------------------------------
if [ -x "$bin/ladder-feed" ]; then
  set +e
  "$bin/ladder-feed" --dry-run "$tmp"/a/*.csv >"$tmp/feed.out" 2>"$tmp/feed.err"
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] && grep -q " 0 rejected" "$tmp/feed.err"; then
    ok "ladder-feed --dry-run: $(tail -n 1 "$tmp/feed.err")"
  else
    fail "ladder-feed --dry-run exit $rc: $(tail -n 5 "$tmp/feed.err")"
  fi
else
  echo "skip - ladder-feed not built"
fi

lt_finish
echo "all ladder-gen checks passed"
