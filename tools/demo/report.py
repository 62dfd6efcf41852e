#!/usr/bin/python3
"""report.py -- the national demo's summary, and the stream test's check.

Reads the decisions that ladder-decisions wrote (JSON Lines, one decision
per line with its partition and offset), the generator's expected.json and
the worker's Redis counters and notices (through redis-cli), prints readable
tables and compares, per little-giant batch and per tier, what the workers
decided with what ladder-gen intended: a difference larger than
max(2%, 2 enterprises) fails. The Redis counters "lg:B:OUTCOME" must equal
the decisions exactly. Exit status 0 when everything agrees, 1 otherwise,
2 for bad usage or unreadable input. Python 3 standard library only.
"""
import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import unicodedata

# The store's key layout, from its one copy for scripts.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "support"))
import store_keys  # noqa: E402
import notice  # noqa: E402 (the notices' compact form)

LG = "LITTLE_GIANT"
TIERS = ("INNOVATIVE", "SPECIALIZED", LG)
# The 14th Five-Year Plan's targets for 2025: 1,000,000 innovative SMEs,
# 100,000 provincial specialized SMEs, 10,000 national little giants.
TARGETS = {"INNOVATIVE": 1000000, "SPECIALIZED": 100000, LG: 10000}
OUTCOMES = ("designated", "renewed", "revoked_review_failed",
            "revoked_no_submission", "cancelled")
TIER_FIELDS = ("designated", "rejected", "renewed", "revoked_review_failed",
               "revoked_no_submission", "expired", "cancelled")
FIRST = ("passed", "failed", "not_submitted", "cancelled")


def outcome(d):
    """The counter outcome of a decision (ldr_store_lg_outcome), or None."""
    t = d["decision"]
    if t == "DESIGNATED":
        return "designated"
    if t == "RENEWED":
        return "renewed"
    if t == "CANCELLED":
        return "cancelled"
    if t == "EXPIRED":
        return "expired"
    if t == "REJECTED":
        return "rejected"
    if t == "REVOKED":
        r = d.get("reasons") or []
        return ("revoked_no_submission" if r and r[0] == "NO_REVIEW_SUBMITTED"
                else "revoked_review_failed")
    return None


def within(got, want, pct, absolute):
    return abs(got - want) <= max(absolute, want * pct / 100.0)


class Redis:
    def __init__(self, url):
        self.url = url

    def cmd(self, *args):
        out = subprocess.run(["redis-cli", "-u", self.url, "--raw"] + list(args),
                             check=True, capture_output=True, text=True).stdout
        return out.split("\n")[:-1] if out else []

    def hgetall(self, key):
        v = self.cmd("hgetall", key)
        return {v[i]: int(v[i + 1]) for i in range(0, len(v) - 1, 2)}


def width(s):
    """Columns a string takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s, w, right=False):
    fill = " " * max(0, w - width(s))
    return fill + s if right else s + fill


def fmt(n):
    return "-" if n is None else f"{n:,}"


def table(title, head, rows):
    print(f"\n{title}")
    cols = [head] + [[fmt(c) if isinstance(c, int) or c is None else str(c)
                      for c in r] for r in rows]
    ws = [max(width(r[i]) for r in cols) for i in range(len(head))]
    for k, r in enumerate(cols):
        cells = [pad(r[0], ws[0])] + [pad(c, w, True)
                                      for c, w in zip(r[1:], ws[1:])]
        print("  " + "  ".join(cells).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in ws))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--decisions", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--units", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
        "data", "reporting_units.csv"))
    ap.add_argument("--events", type=int, help="input messages streamed")
    ap.add_argument("--seconds", type=float, help="time the stream took")
    ap.add_argument("--dead-letters", type=int)
    ap.add_argument("--pct", type=float, default=2.0)
    ap.add_argument("--abs", type=int, default=2)
    ap.add_argument("--brief", action="store_true",
                    help="only the comparison tables (the tests)")
    ap.add_argument("--totals", help="also write the summary's totals "
                    "(active per tier, little-giant outcomes per batch) "
                    "to this JSON file, for comparing with ladder-api")
    a = ap.parse_args()
    try:
        exp = json.load(open(a.expected))
    except (OSError, ValueError) as e:
        print(f"report: {a.expected}: {e}", file=sys.stderr)
        return 2
    scale = exp["scale"]

    # ---- the decisions ----------------------------------------------------
    seen = set()
    dups = 0
    n = 0
    kinds = collections.Counter()
    tiers = {t: collections.Counter() for t in TIERS}
    lg = collections.defaultdict(collections.Counter)  # batch -> outcome
    per_ent = collections.defaultdict(list)  # LG decisions per uscc
    active = {}
    with open(a.decisions, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["decision_id"] in seen:
                dups += 1
                continue
            seen.add(d["decision_id"])
            n += 1
            kinds[d["decision"]] += 1
            t = d["tier"]
            o = outcome(d)
            if t in tiers and o:
                tiers[t][o] += 1
            if t in TIERS:
                key = (d["uscc"], t)
                if d["decision"] in ("DESIGNATED", "RENEWED"):
                    active[key] = True
                elif d["decision"] in ("REVOKED", "EXPIRED", "CANCELLED"):
                    active.pop(key, None)
            if t == LG and o:
                if d.get("batch") is not None and o in OUTCOMES:
                    lg[d["batch"]][o] += 1
                per_ent[d["uscc"]].append(
                    (d["partition"], d["offset"], d["decision"], o,
                     d.get("batch")))

    # First reviews: the first outcome after each little-giant designation.
    first = collections.defaultdict(collections.Counter)
    for evs in per_ent.values():
        evs.sort()
        open_batch = None
        for _, _, kind, o, b in evs:
            if kind == "DESIGNATED":
                open_batch = b
            elif open_batch is not None:
                first[open_batch][{"renewed": "passed",
                                   "revoked_review_failed": "failed",
                                   "revoked_no_submission": "not_submitted",
                                   "cancelled": "cancelled"}.get(o, "other")] += 1
                open_batch = None

    bad = []
    tol = (a.pct, a.abs)

    def check(what, got, want):
        if want is None:
            return ""
        if within(got, want, *tol):
            return "ok" if got == want else "~"
        bad.append(f"{what}: decided {got:,}, expected {want:,}")
        return "DIFF"

    # ---- the Redis side ---------------------------------------------------
    r = Redis(a.redis_url)
    try:
        parts = int((r.cmd("get", store_keys.PARTITIONS) or ["0"])[0] or 0)
        counters = collections.Counter()
        notices = 0
        last_notice = None
        for p in range(parts):
            for k, v in r.hgetall(store_keys.counters(p)).items():
                counters[k] += v
            notices += int(r.cmd("xlen", store_keys.notices(p))[0])
    except (subprocess.CalledProcessError, ValueError, IndexError) as e:
        print(f"report: redis {a.redis_url}: {e}", file=sys.stderr)
        return 2
    if parts:
        try:
            rev = notice.xrange(a.redis_url, store_keys.notices(0), 1, True)
        except (subprocess.CalledProcessError, ValueError) as e:
            print(f"report: redis {a.redis_url}: notices: {e}", file=sys.stderr)
            return 2
        last_notice = rev[0][1] if rev else None

    # ---- little giants per batch -----------------------------------------
    rows = []
    for eb in exp["little_giant_batches"]:
        b = eb["batch"]
        got = lg.get(b, collections.Counter())
        rows.append([f"{b} ({eb['year']})", eb.get("public_designated"),
                     eb["target_designated"], eb["designated"],
                     got["designated"],
                     check(f"batch {b} designated", got["designated"],
                           eb["designated"]),
                     counters.get(f"lg:{b}:designated", 0)])
        for o in OUTCOMES[1:]:
            check(f"batch {b} {o}", got[o], eb[o])
        for o in OUTCOMES:
            c = counters.get(f"lg:{b}:{o}", 0)
            if c != got[o]:
                bad.append(f"batch {b}: Redis counter lg:{b}:{o} is {c:,}, "
                           f"the decisions say {got[o]:,}")
    table(f"Little giants designated per batch (scale {scale:g}; public = "
          "MIIT's published count, target = public x scale)",
          ["batch", "public", "target", "expected", "decided", "", "redis"],
          rows)

    rows = []
    for eb in exp["little_giant_batches"]:
        b = eb["batch"]
        fr = eb.get("first_review") or {}
        got = first.get(b, collections.Counter())
        if not eb["designated"]:
            continue
        marks = []
        for k in FIRST:
            marks.append(check(f"batch {b} first review {k}", got[k],
                               fr.get(k, 0)))
        mark = "DIFF" if "DIFF" in marks else (
            "~" if "~" in marks else "ok")
        pub = fr.get("public_passed")
        rows.append([f"{b} ({eb['year']})", got["passed"], fr.get("passed"),
                     got["failed"], fr.get("failed"), got["not_submitted"],
                     fr.get("not_submitted"), got["cancelled"],
                     f"{pub / eb['public_designated']:.0%}" if pub else "",
                     f"{got['passed'] / eb['designated']:.0%}"
                     if sum(got[k] for k in FIRST[:3]) else "", mark])
    table("First reviews of the little giants per batch (decided vs "
          "expected)",
          ["batch", "renewed", "exp", "revoked:failed", "exp",
           "revoked:no review", "exp", "cancelled", "public pass",
           "pass", ""], rows)

    rows = []
    for eb in exp["little_giant_batches"]:
        b = eb["batch"]
        got = lg.get(b, collections.Counter())
        rows.append([f"{b} ({eb['year']})"] + [
            f"{got[o]:,}/{eb[o]:,}" for o in OUTCOMES])
    if a.brief:
        table("Little-giant outcomes per batch, all reviews (decided/"
              "expected)", ["batch"] + list(OUTCOMES), rows)

    rows = []
    for t in TIERS:
        et = exp["tiers"][t]
        rows.append([t] + [f"{tiers[t][k]:,}/{et[k]:,}" for k in TIER_FIELDS]
                    + ["ok" if all(
                        check(f"{t} {k}", tiers[t][k], et[k]) != "DIFF"
                        for k in TIER_FIELDS) else "DIFF"])
    table("Decisions per tier (decided/expected)",
          ["tier"] + list(TIER_FIELDS) + [""], rows)

    # ---- active designations and targets ----------------------------------
    act = collections.Counter()
    units = collections.defaultdict(collections.Counter)
    for k, v in counters.items():
        f = k.split(":")
        if f[0] == "state" and len(f) == 4 and f[3] in ("DESIGNATED",
                                                         "REVIEW_DUE"):
            act[f[2]] += v
            units[f[1]][f[2]] += v
    from_dec = collections.Counter(t for (_, t) in active)
    for t in TIERS:
        if act[t] != from_dec[t]:
            bad.append(f"{t}: {act[t]:,} active in the Redis counters, "
                       f"{from_dec[t]:,} by the decisions")
    if a.totals:
        with open(a.totals, "w") as f:
            json.dump({"active": {t: act[t] for t in TIERS},
                       "active_by_decisions": {t: from_dec[t] for t in TIERS},
                       "little_giant_batches": [
                           dict(batch=b, **{o: lg[b][o] for o in OUTCOMES})
                           for b in sorted(lg)
                           if any(lg[b][o] for o in OUTCOMES)]}, f)
    if not a.brief:
        rows = [[t, act[t], from_dec[t], round(TARGETS[t] * scale),
                 f"{act[t] / (TARGETS[t] * scale):.0%}"] for t in TIERS]
        table("Active designations at the end of the stream against the "
              "14th Five-Year targets (scaled)",
              ["tier", "active (redis)", "by decisions", "target x scale",
               "of target"], rows)

        names = {}
        try:
            with open(a.units, encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    names[row["code"]] = f"{row['name_zh']} {row['name_en']}"
        except OSError:
            pass
        top = sorted(units.items(), key=lambda kv: (-sum(kv[1].values()),
                                                     kv[0]))[:10]
        rows = [[f"{u} {names.get(u, '')}", sum(c.values()), c["INNOVATIVE"],
                 c["SPECIALIZED"], c[LG]] for u, c in top]
        table("Top 10 reporting units by active designations (Redis "
              "counters state:UNIT:TIER:DESIGNATED + REVIEW_DUE)",
              ["unit", "active", "innovative", "specialized",
               "little giants"], rows)

        rv = kinds["REVOKED"] + kinds["CANCELLED"] + kinds["EXPIRED"]
        print(f"\nRevocation notices: {notices:,} kept in the Redis notices "
              f"streams of {parts} partitions (capped), for {rv:,} REVOKED, "
              "CANCELLED and EXPIRED decisions")
        if last_notice:
            try:
                d = last_notice
                print(f"  the latest in partition 0: {d['effective_at'][:10]} "
                      f"{d['decision']} {d['tier'] or '(all tiers)'} "
                      f"{d['enterprise_name']} {d['uscc']} "
                      f"({d['reporting_unit']}): {', '.join(d['reasons'])}")
            except (ValueError, KeyError, TypeError):
                pass
        print("\nDecisions by type: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(kinds.items())))
    print(f"\n{n:,} decisions read" + (f", {dups:,} duplicates dropped by "
                                      "decision_id" if dups else "")
          + (f"; dead letters: {a.dead_letters:,}" if a.dead_letters
             is not None else ""))
    if a.dead_letters:
        bad.append(f"{a.dead_letters:,} dead letters (the generated stream "
                   "has none)")
    if a.events and a.seconds:
        print(f"Throughput: {a.events:,} input messages decided in "
              f"{a.seconds:.1f} s: {a.events / a.seconds:,.0f} events/s")

    tol_text = f"within max({a.pct:g}%, {a.abs} enterprises)"
    if bad:
        print(f"\nDISAGREES with expected.json ({tol_text}): "
              f"{len(bad)} difference(s):")
        for b in bad:
            print("  - " + b)
        return 1
    print(f"\nAgrees with expected.json ({tol_text}), and the Redis "
          "counters agree with the decisions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
