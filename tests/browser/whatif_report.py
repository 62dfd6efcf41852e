#!/usr/bin/python3
"""Checks ladder-whatif's HTML report in headless Chromium (the DevTools
client of dashboard.py).

  whatif_report.py REPORT_DIR SHOT
      loads REPORT_DIR/report.html from file:// and checks, against
      REPORT_DIR/report.json and changed.csv: the page loads nothing from
      outside (one self-contained file); the bar chart is drawn, with one
      bar per unit and tier whose sizes and signs are the differences in
      active designations at the end; the line chart is drawn, six lines
      (three tiers, two policies) spanning the plot, the baseline and variant
      lines of little giants apart where the totals differ; the table and
      the changed count say what the JSON says. Saves a screenshot to SHOT.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard  # noqa: E402
from dashboard import ok  # noqa: E402

TIERS = ["INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"]


def check(d, shot):
    j = json.load(open(os.path.join(d, "report.json")))
    changed_csv = sum(1 for _ in open(os.path.join(d, "changed.csv"))) - 1
    b = dashboard.Browser()
    try:
        b.goto("file://" + os.path.abspath(os.path.join(d, "report.html")))
        ok(b.wait("document.readyState === 'complete' && "
                  "document.querySelector('#chart-time') !== null", 30),
           "the report loads")
        ok(b.eval("performance.getEntriesByType('resource').length") == 0 and
           b.eval("document.querySelectorAll('[src],link[href],script').length") == 0,
           "the report loads nothing from outside")
        bars = b.eval("""JSON.stringify([...document.querySelectorAll(
            '#chart-units rect.bar')].map(r => { const b = r.getBoundingClientRect();
            return [r.dataset.unit, r.dataset.tier, +r.dataset.diff, b.width,
                    b.height, b.left]; }))""")
        bars = json.loads(bars)
        want = {(u["unit"], t): u["variant"]["active_at_end"][t] - u["baseline"]["active_at_end"][t]
                for u in j["by_unit"] for t in TIERS}
        got = {(u, t): diff for u, t, diff, _, _, _ in bars}
        ok(got == want, "one bar per unit and tier, each the difference of the JSON (%d bars)" % len(bars))
        big = max(abs(v) for v in want.values()) or 1
        widths = {(u, t): w for u, t, _, w, _, _ in bars}
        wmax = max(widths.values()) or 1
        sized = all(abs(widths[k] / wmax - abs(v) / big) < 0.02 for k, v in want.items())
        ok(sized and any(v for v in want.values()), "bar lengths are in proportion to the differences")
        lefts = {(u, t): x for u, t, _, _, _, x in bars}
        zero = [lefts[k] for k, v in want.items() if v > 0]
        neg = [lefts[k] for k, v in want.items() if v < 0]
        ok(not zero or not neg or max(neg) < min(zero), "losses are drawn left of the axis, gains right")
        lines = json.loads(b.eval("""JSON.stringify([...document.querySelectorAll(
            '#chart-time polyline.series')].map(p => { const b = p.getBoundingClientRect();
            return [p.dataset.side, p.dataset.tier, p.points.numberOfItems, b.width,
                    p.points.numberOfItems ? p.points.getItem(p.points.numberOfItems - 1).y : 0]; }))"""))
        ok(len(lines) == 6 and all(n > 2 and w > 500 for _, _, n, w, _ in lines),
           "six lines over time, each across the plot (%s points)" % (lines[0][2] if lines else 0))
        end = {(s, t): y for s, t, _, _, y in lines}
        lg_b = j["totals"]["baseline"]["active_at_end"]["LITTLE_GIANT"]
        lg_v = j["totals"]["variant"]["active_at_end"]["LITTLE_GIANT"]
        ok((end[("baseline", "LITTLE_GIANT")] < end[("variant", "LITTLE_GIANT")]) == (lg_b > lg_v)
           and (lg_b == lg_v) == (end[("baseline", "LITTLE_GIANT")] == end[("variant", "LITTLE_GIANT")]),
           "little giants end where the totals say (baseline %d, variant %d)" % (lg_b, lg_v))
        ok(int(b.eval("document.querySelector('#changed').textContent")) == j["changed_enterprises"] == changed_csv,
           "the changed count is the JSON's and the CSV's (%d)" % changed_csv)
        rows = b.eval("document.querySelectorAll('#by-unit tbody tr').length")
        nonzero = sum(1 for u in j["by_unit"] for t in TIERS
                      if any(u[s][k][t] for s in ("baseline", "variant") for k in u["baseline"]))
        ok(rows == nonzero, "the table has a row per unit and tier with anything to show (%d)" % rows)
        ok(b.screenshot(shot) > 10000, "screenshot saved to " + shot)
    finally:
        b.close()


if __name__ == "__main__":
    check(sys.argv[1], sys.argv[2])
    sys.exit(1 if dashboard.failures else 0)
