#!/usr/bin/python3
"""The feed of test_api.sh, in three phases, and what the API must answer.

  test_api_feed.py DIR   writes DIR/phase1.jsonl, phase2.jsonl, phase3.jsonl
                         (ladder-feed files) and DIR/ents.json (name -> USCC)

Phase 1 builds a small register: A climbs the whole ladder in unit 11
(INNOVATIVE batch 3, SPECIALIZED batch 2, LITTLE_GIANT batch 1); B is
rejected; C is designated and has an open case; D is designated and then
sends 25 reviews outside the review window (27 decisions, more than the
history keeps); X, Y and W are designated, and a verified violation cancels
Y (one revocation notice). Phase 2 cancels X, phase 3 cancels W: those are
the notices the live stream must deliver.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
import feedrows  # noqa: E402
from feedrows import STRONG, WEAK  # noqa: E402

UNITS = {"A": "11", "B": "12", "C": "13", "D": "31", "X": "44", "Y": "33",
         "W": "37"}


def uscc(name):
    return feedrows.uscc("91%s0000MA%07d" % (UNITS[name], 900 + ord(name)))


def t(s):
    return s if "T" in s else s + "T00:00:00.000Z"


def app(name, eid, tier, at, batch, ind=STRONG):
    return dict(kind="application", event_id=eid, uscc=uscc(name),
                enterprise_name="接口测试企业%s有限公司" % name,
                reporting_unit=UNITS[name], tier=tier, batch=batch,
                occurred_at=t(at), **ind)


def review(name, eid, tier, at):
    return dict(kind="review", event_id=eid, uscc=uscc(name),
                enterprise_name="接口测试企业%s有限公司" % name,
                reporting_unit=UNITS[name], tier=tier, occurred_at=t(at),
                **STRONG)


def vio(name, eid, case, status, at):
    return dict(kind="violation", event_id=eid, uscc=uscc(name),
                reporting_unit=UNITS[name], case_id=case,
                violation_kind="FALSE_DECLARATION", status=status,
                occurred_at=t(at))


def tick(at):
    return dict(kind="tick", tick_at=t(at), source="test_api")


def main():
    out = sys.argv[1]
    p1 = [app("A", "a1", "INNOVATIVE", "2022-01-10", 3),
          app("X", "x1", "INNOVATIVE", "2022-01-10", 1),
          app("Y", "y1", "INNOVATIVE", "2022-01-10", 1),
          app("W", "w1", "INNOVATIVE", "2022-01-10", 1),
          app("C", "c1", "INNOVATIVE", "2022-01-12", 1),
          app("D", "d1", "INNOVATIVE", "2022-01-15", 2),
          app("B", "b1", "INNOVATIVE", "2022-01-18", 1, WEAK),
          tick("2022-02-01"),
          app("A", "a2", "SPECIALIZED", "2022-02-10", 2),
          tick("2022-02-20")]
    p1 += [review("D", "d-r%02d" % i, "INNOVATIVE",
                  "2022-03-01T00:%02d:00.000Z" % i) for i in range(25)]
    p1 += [vio("C", "c2", "C-1", "REPORTED", "2022-03-05"),
           app("A", "a3", "LITTLE_GIANT", "2022-03-10", 1),
           vio("Y", "y2", "Y-1", "VERIFIED", "2022-03-12"),
           tick("2022-03-20")]
    p2 = [vio("X", "x2", "X-1", "VERIFIED", "2022-04-01")]
    p3 = [vio("W", "w2", "W-1", "VERIFIED", "2022-04-05")]
    for name, rows in (("phase1", p1), ("phase2", p2), ("phase3", p3)):
        with open(os.path.join(out, name + ".jsonl"), "w",
                  encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "ents.json"), "w") as f:
        json.dump({n: uscc(n) for n in UNITS}, f)


if __name__ == "__main__":
    main()
