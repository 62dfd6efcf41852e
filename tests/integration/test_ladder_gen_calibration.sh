#!/usr/bin/env bash
# test_ladder_gen_calibration.sh -- the calibration of ladder-gen, checked
# independently of the generator's own bookkeeping: the generated
# LITTLE_GIANT application rows are evaluated by `ladder-policy eval` (the
# engine the worker uses, driven from outside) and the passes per batch are
# compared with the public counts x scale, within +-max(5%, 3 enterprises);
# the first reviews of batches 1-3 (the next LITTLE_GIANT review of an
# enterprise after its passed application) are evaluated in review mode and
# their pass rates compared with the public ones (142/248, 1,079/1,744,
# 2,430/2,930) within +-max(5 points, 3 enterprises / designated).
# expected.json is compared with the public counts too, and --verify
# checks it against libladder's state machine.
#
# Runs at --scale 0.1. Under the sanitizers (a build whose bin/ is
# .../asan/bin) it runs at --scale 0.01 instead, and says so: the
# 0.1 check belongs to the normal build, which tools/test runs first.
. "$(dirname "$0")/../support/lib.sh"
lt_init
py=/usr/bin/python3
lt_tmpdir tmp ladder-gen-cal

scale=0.1
case "${bin%/}" in
*/asan/bin)
  scale=0.01
  echo "note: sanitizer build ($bin): calibration at --scale 0.01 instead of 0.1; the normal build checks 0.1"
  ;;
esac

"$bin/ladder-gen" --scale "$scale" --seed 1 --single --format jsonl --verify --out "$tmp/g" 2>"$tmp/gen.err" ||
  {
    cat "$tmp/gen.err"
    fail "ladder-gen"
  }
cat "$tmp/gen.err"

# LITTLE_GIANT applications and reviews, reshaped into ladder-policy eval
# lines (Indicators fields + tier, mode, at).
"$py" - "$tmp/g/events.jsonl" "$tmp/apps.jsonl" "$tmp/reviews.jsonl" "$tmp/meta.json" <<'EOF'
import json, sys
events, apps_out, reviews_out, meta_out = sys.argv[1:5]
not_ind = {"kind", "event_id", "uscc", "enterprise_name", "reporting_unit",
           "tier", "batch", "occurred_at", "case_id", "violation_kind",
           "status", "details", "tick_at", "source"}
apps, reviews = [], []
with open(apps_out, "w") as fa, open(reviews_out, "w") as fr:
    for line in open(events, encoding="utf-8"):
        r = json.loads(line)
        if r.get("tier") != "LITTLE_GIANT" or r["kind"] not in ("application", "review"):
            continue
        ev = {k: v for k, v in r.items() if k not in not_ind}
        ev["tier"] = "LITTLE_GIANT"
        ev["at"] = r["occurred_at"]
        if r["kind"] == "application":
            ev["mode"] = "application"
            fa.write(json.dumps(ev) + "\n")
            apps.append((r["uscc"], r["occurred_at"], r["batch"]))
        else:
            ev["mode"] = "review"
            fr.write(json.dumps(ev) + "\n")
            reviews.append((r["uscc"], r["occurred_at"]))
json.dump({"apps": apps, "reviews": reviews}, open(meta_out, "w"))
print(f"{len(apps)} LITTLE_GIANT applications, {len(reviews)} reviews")
EOF
"$bin/ladder-policy" eval <"$tmp/apps.jsonl" >"$tmp/apps.out"
"$bin/ladder-policy" eval <"$tmp/reviews.jsonl" >"$tmp/reviews.out"

"$py" - "$tmp/meta.json" "$tmp/apps.out" "$tmp/reviews.out" "$tmp/g/expected.json" "$scale" <<'EOF'
import json, sys
from datetime import datetime
meta = json.load(open(sys.argv[1]))
app_pass = [json.loads(l)["pass"] for l in open(sys.argv[2])]
rev_pass = [json.loads(l)["pass"] for l in open(sys.argv[3])]
exp = json.load(open(sys.argv[4]))
scale = float(sys.argv[5])
public = {1: 248, 2: 1744, 3: 2930, 4: 4357, 5: 3671, 6: 3012, 7: 3482}
first_public = {1: 142, 2: 1079, 3: 2430}
assert len(app_pass) == len(meta["apps"]) and len(rev_pass) == len(meta["reviews"])
bad = []

def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))

# designations per batch, by the engine
designated = {b: 0 for b in public}
applications = {b: 0 for b in public}
timeline = {}  # uscc -> [(time, kind, batch or None, pass)]
for (u, at, b), p in zip(meta["apps"], app_pass):
    applications[b] = applications.get(b, 0) + 1
    if p:
        designated[b] = designated.get(b, 0) + 1
    timeline.setdefault(u, []).append((t(at), 0, b, p))
for (u, at), p in zip(meta["reviews"], rev_pass):
    timeline.setdefault(u, []).append((t(at), 1, None, p))

print("batch  public  x scale  designated  tolerance  applications")
for b in sorted(public):
    want = public[b] * scale
    tol = max(0.05 * want, 3)
    got = designated[b]
    flag = "" if abs(got - want) <= tol else "  <-- out of tolerance"
    print(f"{b:5d} {public[b]:7d} {want:8.1f} {got:11d} {tol:10.1f} {applications[b]:13d}{flag}")
    if flag:
        bad.append(f"batch {b}: {got} designated, want {want:.1f} +- {tol:.1f}")
    if want >= 0.5 and got < 1:
        bad.append(f"batch {b}: no designation")
    e = exp["little_giant_batches"][b - 1]
    if e["batch"] != b or abs(e["designated"] - want) > tol:
        bad.append(f"expected.json batch {b}: {e['designated']} designated, want {want:.1f}")
    if e["designated"] != got:
        bad.append(f"expected.json batch {b}: {e['designated']} designated, the engine says {got}")
    if not 1.4 <= applications[b] / max(got, 1) <= 1.8 and got >= 10:
        bad.append(f"batch {b}: {applications[b]} applications for {got} designations")

# first reviews: the next LITTLE_GIANT review after a passed application
first_sub = {b: 0 for b in first_public}
first_pass = {b: 0 for b in first_public}
for u, evs in timeline.items():
    evs.sort(key=lambda e: (e[0], e[1]))
    pending = None
    for tm, kind, b, p in evs:
        if kind == 0 and p:
            pending = b
        elif kind == 1 and pending is not None:
            if pending in first_sub:
                first_sub[pending] += 1
                first_pass[pending] += 1 if p else 0
            pending = None
print("batch  public rate  first reviews passed / designated  rate  tolerance")
for b in sorted(first_public):
    rate_pub = first_public[b] / public[b]
    d = designated[b]
    rate = first_pass[b] / d if d else 0.0
    tol = max(0.05, 3 / d) if d else 1.0
    flag = "" if abs(rate - rate_pub) <= tol else "  <-- out of tolerance"
    print(f"{b:5d} {rate_pub:12.3f} {first_pass[b]:13d} / {d:<10d} {rate:12.3f} {tol:10.3f}{flag}")
    if flag:
        bad.append(f"batch {b}: first-review pass rate {rate:.3f}, want {rate_pub:.3f} +- {tol:.3f}")
    e = exp["little_giant_batches"][b - 1]["first_review"]
    if e["passed"] != first_pass[b] or e["submitted"] != first_sub[b]:
        bad.append(f"expected.json batch {b} first review {e}, the engine: {first_pass[b]} of {first_sub[b]}")

# the tiers' totals, loosely (they are "about" figures)
tiers = exp["tiers"]
for tier, apps, des in (("INNOVATIVE", 750000, 600000), ("SPECIALIZED", 180000, 140000)):
    a, d = tiers[tier]["applications"], tiers[tier]["designated"]
    if abs(a - apps * scale) > 0.1 * apps * scale or abs(d - des * scale) > 0.1 * des * scale:
        bad.append(f"{tier}: {a} applications / {d} designated at scale {scale}")
total = exp["events"]["total"]
if abs(total - 1.2e6 * scale) > 0.15 * 1.2e6 * scale:
    bad.append(f"{total} events at scale {scale}, want about {1.2e6 * scale:.0f}")
print(f"tiers: {json.dumps({k: (v['applications'], v['designated']) for k, v in tiers.items()})}, events {total}")
for m in bad:
    print("FAIL:", m, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
echo "calibration at --scale $scale passed"
