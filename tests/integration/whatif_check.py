#!/usr/bin/python3
"""Helpers of the ladder-whatif tests.

  whatif_check.py story FILE
      writes a small hand-built history (JSON Lines) to FILE: two
      enterprises that climb the ladder in 2022, identical but for
      years_in_niche (A: 4 in unit 11, B: 5 in unit 12), and a tick at
      2022-12-31. Worked out by hand: under miit-2022 both become little
      giants (LG.YEARS_IN_NICHE needs >= 3); with the threshold set to 5, A's
      little-giant application of 2022-07-01 is REJECTED [LG.YEARS_IN_NICHE]
      instead of PUBLICITY_STARTED, and A ends a SPECIALIZED SME.
  whatif_check.py register REGISTER ADMIN
      compares the baseline of ladder-whatif --register with what the worker
      stored, enterprise by enterprise, through `ADMIN enterprise USCC
      --json`: each tier's state and valid_until, and ban_until. Prints one
      line per difference and exits 1 on any.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import feedrows  # noqa: E402
from feedrows import STRONG  # noqa: E402

A = feedrows.uscc("91110000MA0000001")
B = feedrows.uscc("91120000MA0000002")


def story(path):
    rows = []
    for u, unit, years in ((A, "11", 4), (B, "12", 5)):
        ind = dict(STRONG, years_in_niche=years)
        for n, (tier, at) in enumerate((("INNOVATIVE", "2022-01-10"),
                                        ("SPECIALIZED", "2022-03-01"),
                                        ("LITTLE_GIANT", "2022-07-01"))):
            rows.append(dict(kind="application", event_id="%s-%d" % (u, n),
                             uscc=u, enterprise_name="故事企业%s有限公司" % unit,
                             reporting_unit=unit, tier=tier, batch=1,
                             occurred_at=at + "T00:00:00.000Z", **ind))
    rows.sort(key=lambda r: r["occurred_at"])
    rows.append(dict(kind="tick", tick_at="2022-12-31T00:00:00.000Z",
                     source="test"))
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def register(path, admin):
    bad = n = 0
    for line in open(path):
        want = json.loads(line)
        u = want["uscc"]
        got = json.loads(subprocess.run([admin, "enterprise", u, "--json"],
                                        check=False, capture_output=True,
                                        text=True).stdout or "{}")
        n += 1
        if not got.get("found"):
            print("FAIL - %s: nothing stored by the worker" % u)
            bad += 1
            continue
        base = want["baseline"]
        for tier, w in base["tiers"].items():
            g = got["tiers"][tier]
            for k in ("state", "valid_until"):
                if g[k] != w[k]:
                    print("FAIL - %s %s %s: worker %s, what-if %s" % (u, tier, k, g[k], w[k]))
                    bad += 1
        if got["ban_until"] != base["ban_until"]:
            print("FAIL - %s ban_until: worker %s, what-if %s" % (u, got["ban_until"], base["ban_until"]))
            bad += 1
    print("# %d enterprises compared, %d differences" % (n, bad))
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    if sys.argv[1] == "story":
        story(sys.argv[2])
    elif sys.argv[1] == "register":
        sys.exit(register(sys.argv[2], sys.argv[3]))
