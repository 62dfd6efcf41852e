#!/usr/bin/python3
"""Life stories of thirteen enterprises for test_worker_stories.sh.

  stories.py gen DIR      writes DIR/feed.jsonl (one ladder-feed file, rows in
                          the order they must be produced), DIR/expected.json,
                          and the expected counts of revocation notices and
                          duplicates (DIR/notices, DIR/duplicates); prints the
                          number of decisions expected
  stories.py check DIR REDIS_URL PARTITIONS
                          compares DIR/decisions.jsonl (ladder-decisions) with
                          the expected decisions per enterprise, and Redis with
                          the expected final states; prints ok/FAIL lines and
                          exits 1 on any difference.

Together the stories cover every row of POLICY.md's state machine table and
its precise semantics. Every enterprise has its own reporting unit and every
little giant its own batch, so the Redis counters of one partition can be
checked per enterprise. Expected decisions list every field that POLICY.md
defines (decision, tier, reasons, batch, score, policy_version, valid_from,
valid_until, review_deadline, ban_until, case_id, effective_at,
cause_event_id, enterprise_name, reporting_unit); dates are computed here,
the sequences are written by hand. Late events are rows placed after a tick
later than their occurred_at (ladder-feed keeps one file's order).
"""
import datetime as dt
import json
import subprocess
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import feedrows  # noqa: E402
import store_keys  # noqa: E402
from feedrows import STRONG, STRONG26, WEAK  # noqa: E402

P22, P26 = "miit-2022", "miit-2026"
IN, SP, LG = "INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"
TIERS = [IN, SP, LG]
KINDS = ["publicity", "review", "validity"]  # timer kinds 0, 1, 2

IN_WEAK = ["IN.SCORE", "IN.INNOVATION_SUBSCORE", "IN.GROWTH_SUBSCORE",
           "IN.SPECIALIZATION_SUBSCORE"]
SP_WEAK = ["SP.RD_EXPENSE", "SP.RD_INTENSITY", "SP.SCORE"]
LG_WEAK_APP = ["LG.MAIN_SHARE", "LG.MAIN_GROWTH", "LG.ASSET_LIABILITY",
               "LG.RD_INTENSITY", "LG.RD_INSTITUTION", "LG.IP_CLASS1"]
LG_WEAK_REVIEW = [c for c in LG_WEAK_APP if c != "LG.MAIN_GROWTH"]
SCORE = {(IN, "strong"): 95, (SP, "strong"): 88, (IN, "weak"): 5,
         (SP, "weak"): 40}


def T(s):
    if len(s) == 10:
        s += "T00:00:00"
    return dt.datetime.fromisoformat(s.rstrip("Z")).replace(tzinfo=dt.timezone.utc)


def iso(t):
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def plus_years(t, n):
    try:
        return t.replace(year=t.year + n)
    except ValueError:  # 29 February -> 28 February
        return t.replace(year=t.year + n, day=28)


def ms(t):
    return int(t.timestamp() * 1000)


def uscc(unit, n):
    return feedrows.uscc("91%s0000MA%07d" % (unit, n))


def app_version(t):
    return P26 if t >= T("2026-01-17") else P22


def review_version(t):
    return P26 if t >= T("2027-01-01") else P22


rows = []     # (sort key, seq, row)
duplicates = 0
stories = []  # dicts: name, uscc, unit, decisions, final


class Story:
    def __init__(self, name, unit, n, title):
        self.name, self.unit, self.u = name, unit, uscc(unit, n)
        self.title = title
        self.name_zh = "故事企业" + name + "有限公司"
        self.known = False     # the name is known after an application/review
        self.old_units = []    # units it left: no state counters remain there
        self.want = []
        self.states = {}       # tier -> final state
        self.timers = {}       # (tier, kind) -> due
        self.lg = {}           # "lg:B:OUTCOME" -> count
        self.des = {}          # tier -> (batch, valid_until, version)
        stories.append(self)

    # -- the feed -----------------------------------------------------------
    def _row(self, r, at):
        rows.append(((at or T(r["occurred_at"])), len(rows), r))

    def app(self, eid, tier, t, ind, batch, at=None):
        self.known = True
        self._row(dict(kind="application", event_id=eid, uscc=self.u,
                       enterprise_name=self.name_zh,
                       reporting_unit=self.unit, tier=tier, batch=batch,
                       occurred_at=iso(T(t)), **ind), at and T(at))

    def review(self, eid, tier, t, ind, at=None, unit=None):
        self.known = True
        if unit:
            self.old_units.append(self.unit)
            self.unit = unit
        self._row(dict(kind="review", event_id=eid, uscc=self.u,
                       enterprise_name=self.name_zh,
                       reporting_unit=self.unit, tier=tier,
                       occurred_at=iso(T(t)), **ind), at and T(at))

    def vio(self, eid, status, case, t, kind="FALSE_DECLARATION", at=None):
        self._row(dict(kind="violation", event_id=eid, uscc=self.u,
                       reporting_unit=self.unit, case_id=case,
                       violation_kind=kind, status=status,
                       occurred_at=iso(T(t))), at and T(at))

    def resend(self, at):
        """The last row again, unchanged (a duplicate event_id)."""
        global duplicates
        duplicates += 1
        last = [r for _, _, r in rows if r.get("uscc") == self.u][-1]
        rows.append((T(at), len(rows), dict(last)))

    # -- expected decisions -------------------------------------------------
    def d(self, decision, tier, eff, cause=None, reasons=(), batch=None,
          score=None, pv=P22, vf=None, vu=None, rd=None, ban=None, case=None):
        self.want.append(dict(decision=decision, tier=tier,
                              reasons=list(reasons), batch=batch, score=score,
                              policy_version=pv, valid_from=iso(vf),
                              valid_until=iso(vu), review_deadline=iso(rd),
                              ban_until=iso(ban), case_id=case,
                              effective_at=iso(eff), cause_event_id=cause,
                              enterprise_name=self.name_zh if self.known else "",
                              reporting_unit=self.unit))

    def publicity(self, eid, tier, t, batch, score, pv=P22):
        self.d("PUBLICITY_STARTED", tier, T(t), eid, batch=batch, score=score,
               pv=pv)
        self.des[tier] = (batch, None, pv)
        self.states[tier] = "PUBLICITY"
        self.timers[(tier, 0)] = T(t) + dt.timedelta(days=7)

    def designated(self, tier, vf, eff=None, cause=None, case=None):
        batch, _, pv = self.des[tier]
        vu = plus_years(vf, 3)
        self.d("DESIGNATED", tier, eff or vf, cause, batch=batch, pv=pv,
               vf=vf, vu=vu, case=case)
        self.des[tier] = (batch, vu, pv)
        self.timers.pop((tier, 0), None)
        self.timers[(tier, 1)] = vu - dt.timedelta(days=120)
        self.timers[(tier, 2)] = vu
        self.states[tier] = "DESIGNATED"
        if tier == LG:
            self.count("lg:%d:designated" % batch)

    def publicized(self, eid, tier, t, batch, score, pv=P22):
        """PUBLICITY_STARTED, then DESIGNATED by the publicity timer."""
        self.publicity(eid, tier, t, batch, score, pv)
        self.designated(tier, T(t) + dt.timedelta(days=7))

    def review_due(self, tier):
        batch, vu, pv = self.des[tier]
        due = vu - dt.timedelta(days=120)
        self.d("REVIEW_DUE", tier, due, batch=batch, pv=pv, rd=vu)
        self.timers.pop((tier, 1))
        self.states[tier] = "REVIEW_DUE"

    def renewed(self, eid, tier, t, score):
        batch, vu, _ = self.des[tier]
        pv = review_version(T(t))
        nvu = plus_years(vu, 3)
        self.d("RENEWED", tier, T(t), eid, batch=batch, score=score, pv=pv,
               vf=vu, vu=nvu)
        self.des[tier] = (batch, nvu, pv)
        self.timers[(tier, 1)] = nvu - dt.timedelta(days=120)
        self.timers[(tier, 2)] = nvu
        self.states[tier] = "DESIGNATED"
        if tier == LG:
            self.count("lg:%d:renewed" % batch)

    def gone(self, tier):
        self.des.pop(tier)
        self.states.pop(tier)
        for k in range(3):
            self.timers.pop((tier, k), None)

    def validity_end(self, tier):
        batch, vu, pv = self.des[tier]
        if tier == IN:
            self.d("EXPIRED", tier, vu, reasons=["NOT_RENEWED"], batch=batch,
                   pv=pv)
        else:
            self.d("REVOKED", tier, vu, reasons=["NO_REVIEW_SUBMITTED"],
                   batch=batch, pv=pv)
            if tier == LG:
                self.count("lg:%d:revoked_no_submission" % batch)
        self.gone(tier)

    def review_failed(self, eid, tier, t, codes, score):
        batch = self.des[tier][0]
        self.d("REVOKED", tier, T(t), eid, ["REVIEW_FAILED"] + codes,
               batch=batch, score=score, pv=review_version(T(t)))
        if tier == LG:
            self.count("lg:%d:revoked_review_failed" % batch)
        self.gone(tier)

    def refused(self, eid, tier, t, reason, batch=None, review=False):
        t = T(t)
        self.d("REFUSED", tier, t, eid, [reason], batch=batch,
               pv=review_version(t) if review else app_version(t))

    def opened(self, eid, case, t):
        self.d("INVESTIGATION_OPENED", None, T(t), eid, case=case,
               pv=app_version(T(t)))

    def cleared(self, eid, case, t):
        self.d("INVESTIGATION_CLEARED", None, T(t), eid, case=case,
               pv=app_version(T(t)))

    def unknown_case(self, eid, case, t):
        self.d("REFUSED", None, T(t), eid, ["UNKNOWN_CASE"], case=case,
               pv=app_version(T(t)))

    def verified(self, eid, case, t, kind="FALSE_DECLARATION", ban=None):
        t = T(t)
        self.d("VIOLATION_CONFIRMED", None, t, eid, case=case,
               pv=app_version(t), ban=ban or plus_years(t, 3))
        for tier in TIERS:
            if tier in self.des:
                batch, _, pv = self.des[tier]
                self.d("CANCELLED", tier, t, eid, ["VIOLATION_VERIFIED", kind],
                       batch=batch, pv=pv, case=case)
                if tier == LG:
                    self.count("lg:%d:cancelled" % batch)
                self.gone(tier)

    def count(self, field):
        self.lg[field] = self.lg.get(field, 0) + 1


def build():
    # A: the whole ladder, every tier renewed; the review window's edge.
    a = Story("A", "11", 1, "IN, SP, LG designated; review 1 s before the window refused, at its opening renewed; SP and LG renewed")
    a.app("a1", IN, "2022-01-10", STRONG, 3); a.publicized("a1", IN, "2022-01-10", 3, 95)
    a.app("a2", SP, "2022-02-10", STRONG, 2); a.publicized("a2", SP, "2022-02-10", 2, 88)
    a.app("a3", LG, "2022-03-10", STRONG, 1); a.publicized("a3", LG, "2022-03-10", 1, None)
    a.review("a4", IN, "2024-09-18T23:59:59", STRONG)
    a.refused("a4", IN, "2024-09-18T23:59:59", "OUTSIDE_REVIEW_WINDOW", batch=3, review=True)
    a.review("a5", IN, "2024-09-19", STRONG)  # = valid_until - 120 days
    a.review_due(IN); a.renewed("a5", IN, "2024-09-19", 95)
    a.review_due(SP)
    a.review_due(LG)
    a.review("a6", SP, "2024-12-05", STRONG); a.renewed("a6", SP, "2024-12-05", 88)
    a.review("a7", LG, "2025-01-05", STRONG); a.renewed("a7", LG, "2025-01-05", None)

    # B: refused and rejected, never designated.
    b = Story("B", "12", 2, "IN rejected (4 codes, score 5) and its duplicate ignored; SP and LG refused PREREQUISITE_MISSING; review NOT_DESIGNATED; dismissal of an unknown case")
    b.app("b1", IN, "2022-01-12", WEAK, 1)
    b.d("REJECTED", IN, T("2022-01-12"), "b1", IN_WEAK, batch=1, score=5)
    b.resend("2022-01-12T00:00:01")
    b.app("b2", SP, "2022-01-20", STRONG, 1); b.refused("b2", SP, "2022-01-20", "PREREQUISITE_MISSING", batch=1)
    b.app("b3", LG, "2022-01-25", STRONG, 7); b.refused("b3", LG, "2022-01-25", "PREREQUISITE_MISSING", batch=7)
    b.review("b4", IN, "2022-02-10", STRONG); b.refused("b4", IN, "2022-02-10", "NOT_DESIGNATED", review=True)
    b.vio("b5", "DISMISSED", "B-X", "2022-02-15"); b.unknown_case("b5", "B-X", "2022-02-15")

    # C: reviews that fail; innovative expires.
    c = Story("C", "13", 3, "IN, SP, LG designated; SP and LG reviews fail (REVOKED REVIEW_FAILED + codes); IN expires NOT_RENEWED")
    c.app("c1", IN, "2022-04-05", STRONG, 2); c.publicized("c1", IN, "2022-04-05", 2, 95)
    c.app("c2", SP, "2022-05-05", STRONG, 2); c.publicized("c2", SP, "2022-05-05", 2, 88)
    c.app("c3", LG, "2022-06-05", STRONG, 8); c.publicized("c3", LG, "2022-06-05", 8, None)
    c.review_due(IN); c.review_due(SP)
    c.review("c4", SP, "2025-02-10", WEAK); c.review_failed("c4", SP, "2025-02-10", SP_WEAK, 40)
    c.review_due(LG)
    c.review("c5", LG, "2025-03-10", WEAK); c.review_failed("c5", LG, "2025-03-10", LG_WEAK_REVIEW, None)
    c.validity_end(IN)

    # D: the little giant outlives its SPECIALIZED designation.
    d = Story("D", "14", 4, "IN, SP, LG designated; IN renewed; SP revoked NO_REVIEW_SUBMITTED; LG renewed afterwards; LG application then ALREADY_DESIGNATED (before PREREQUISITE_MISSING)")
    d.app("d1", IN, "2022-06-06", STRONG, 1); d.publicized("d1", IN, "2022-06-06", 1, 95)
    d.app("d2", SP, "2022-07-06", STRONG, 1); d.publicized("d2", SP, "2022-07-06", 1, 88)
    d.app("d3", LG, "2022-08-08", STRONG, 2); d.publicized("d3", LG, "2022-08-08", 2, None)
    d.review_due(IN)
    d.review("d4", IN, "2025-03-10", STRONG); d.renewed("d4", IN, "2025-03-10", 95)
    d.review_due(SP); d.review_due(LG)
    d.validity_end(SP)
    d.review("d5", LG, "2025-08-05", STRONG); d.renewed("d5", LG, "2025-08-05", None)
    d.app("d6", LG, "2025-09-10", STRONG, 9); d.refused("d6", LG, "2025-09-10", "ALREADY_DESIGNATED", batch=9)

    # E: publicity held by a case reported twice, released by the dismissal.
    e = Story("E", "15", 5, "IN publicity; cases E-1, E-2 reported, held at publicity end; E-1 reported again; E-1 dismissed (still held), E-2 dismissed -> DESIGNATED from that dismissal; E-1 dismissed again UNKNOWN_CASE; renewed by a review from another unit (counters move)")
    e.app("e1", IN, "2022-09-05", STRONG, 4); e.publicity("e1", IN, "2022-09-05", 4, 95)
    e.vio("e2", "REPORTED", "E-1", "2022-09-08"); e.opened("e2", "E-1", "2022-09-08")
    e.vio("e2b", "REPORTED", "E-2", "2022-09-10"); e.opened("e2b", "E-2", "2022-09-10")
    e.vio("e3", "REPORTED", "E-1", "2022-10-10"); e.opened("e3", "E-1", "2022-10-10")
    e.vio("e4", "DISMISSED", "E-1", "2022-10-20"); e.cleared("e4", "E-1", "2022-10-20")
    e.vio("e4b", "DISMISSED", "E-2", "2022-10-25"); e.cleared("e4b", "E-2", "2022-10-25")
    e.designated(IN, T("2022-10-25"), cause="e4b", case="E-2")
    e.vio("e5", "DISMISSED", "E-1", "2022-11-10"); e.unknown_case("e5", "E-1", "2022-11-10")
    e.review_due(IN)
    e.review("e6", IN, "2025-07-10", STRONG, unit="36"); e.renewed("e6", IN, "2025-07-10", 95)

    # F: a verified violation cancels all three tiers; the ban's edge.
    f = Story("F", "21", 6, "IN, SP designated, LG in publicity; VERIFIED without report -> CONFIRMED + 3 CANCELLED; banned 1 s before ban_until; applies at ban_until")
    f.app("f1", IN, "2022-01-20", STRONG, 1); f.publicized("f1", IN, "2022-01-20", 1, 95)
    f.app("f2", SP, "2022-02-20", STRONG, 1); f.publicized("f2", SP, "2022-02-20", 1, 88)
    f.app("f3", LG, "2022-03-20", STRONG, 3); f.publicity("f3", LG, "2022-03-20", 3, None)
    f.vio("f4", "VERIFIED", "F-1", "2022-03-24"); f.verified("f4", "F-1", "2022-03-24")
    f.app("f5", IN, "2025-03-23T23:59:59", STRONG, 9)
    f.refused("f5", IN, "2025-03-23T23:59:59", "REAPPLICATION_BANNED", batch=9)
    f.app("f6", IN, "2025-03-24", STRONG, 9); f.publicized("f6", IN, "2025-03-24", 9, 95)

    # G: refusal rows and duplicates; a review at valid_until.
    g = Story("G", "22", 7, "IN publicity; DUPLICATE_APPLICATION; review in publicity NOT_DESIGNATED; ALREADY_DESIGNATED and its duplicate ignored; review at valid_until: EXPIRED then NOT_DESIGNATED; applies again, publicity held by a case, VERIFIED (SAFETY_ACCIDENT) cancels the held tier")
    g.app("g1", IN, "2022-04-20", STRONG, 1); g.publicity("g1", IN, "2022-04-20", 1, 95)
    g.app("g2", IN, "2022-04-22", STRONG, 2); g.refused("g2", IN, "2022-04-22", "DUPLICATE_APPLICATION", batch=2)
    g.review("g3", IN, "2022-04-23", STRONG); g.refused("g3", IN, "2022-04-23", "NOT_DESIGNATED", review=True)
    g.designated(IN, T("2022-04-27"))
    g.app("g4", IN, "2022-05-10", STRONG, 2); g.refused("g4", IN, "2022-05-10", "ALREADY_DESIGNATED", batch=2)
    g.resend("2022-05-10T00:00:01")
    g.review_due(IN)
    g.review("g5", IN, "2025-04-27", STRONG)
    g.validity_end(IN); g.refused("g5", IN, "2025-04-27", "NOT_DESIGNATED", review=True)
    g.app("g6", IN, "2025-05-10", STRONG, 3); g.publicity("g6", IN, "2025-05-10", 3, 95)
    g.vio("g7", "REPORTED", "G-1", "2025-05-12", kind="SAFETY_ACCIDENT"); g.opened("g7", "G-1", "2025-05-12")
    g.vio("g8", "VERIFIED", "G-1", "2025-06-10", kind="SAFETY_ACCIDENT")
    g.timers.pop((IN, 0))  # consumed at the end of publicity: held
    g.verified("g8", "G-1", "2025-06-10", kind="SAFETY_ACCIDENT")

    # H: late events: a dismissal older than the end of publicity, a late
    # application whose publicity ended before the partition clock.
    h = Story("H", "23", 8, "IN publicity, case reported, held; late DISMISSED (before publicity end) -> valid_from = end of publicity; late SP application designated before the next message; IN review fails (REVOKED, not EXPIRED); SP runs out")
    h.app("h1", IN, "2023-03-01T12:00:00", STRONG, 2); h.publicity("h1", IN, "2023-03-01T12:00:00", 2, 95)
    h.vio("h2", "REPORTED", "H-1", "2023-03-03"); h.opened("h2", "H-1", "2023-03-03")
    h.vio("h3", "DISMISSED", "H-1", "2023-03-05", at="2023-04-01T00:00:01")
    h.cleared("h3", "H-1", "2023-03-05")
    h.designated(IN, T("2023-03-08T12:00:00"), eff=T("2023-03-05"), cause="h3", case="H-1")
    h.app("h4", SP, "2023-03-20", STRONG, 5, at="2023-05-01T00:00:01")
    h.publicized("h4", SP, "2023-03-20", 5, 88)
    h.review_due(IN); h.review_due(SP)
    h.review("h5", IN, "2025-12-01T12:00:00", WEAK)
    h.review_failed("h5", IN, "2025-12-01T12:00:00", IN_WEAK, 5)
    h.validity_end(SP)

    # I: the policy switch of 2026-01-17 for applications.
    i = Story("I", "31", 9, "IN 2025; SP 1 s before the switch (miit-2022); LG under miit-2026 rejected LG.DEVELOPMENT_SCORE, then passes with a score; IN refused ALREADY_DESIGNATED under miit-2026")
    i.app("i1", IN, "2025-10-06", STRONG, 1); i.publicized("i1", IN, "2025-10-06", 1, 95)
    i.app("i2", SP, "2026-01-16T23:59:59", STRONG, 1); i.publicized("i2", SP, "2026-01-16T23:59:59", 1, 88)
    i.app("i3", LG, "2026-01-26", STRONG, 4)
    i.d("REJECTED", LG, T("2026-01-26"), "i3", ["LG.DEVELOPMENT_SCORE"], batch=4, pv=P26)
    i.app("i4", LG, "2026-02-10", STRONG26, 4); i.publicized("i4", LG, "2026-02-10", 4, None, pv=P26)
    i.app("i5", IN, "2026-03-10", STRONG, 2); i.refused("i5", IN, "2026-03-10", "ALREADY_DESIGNATED", batch=2)

    # J: nobody reviews.
    j = Story("J", "32", 10, "IN, SP, LG designated, never reviewed: 3 REVIEW_DUE, IN EXPIRED NOT_RENEWED, SP and LG REVOKED NO_REVIEW_SUBMITTED")
    j.app("j1", IN, "2022-10-03", STRONG, 1); j.publicized("j1", IN, "2022-10-03", 1, 95)
    j.app("j2", SP, "2022-11-03", STRONG, 1); j.publicized("j2", SP, "2022-11-03", 1, 88)
    j.app("j3", LG, "2022-12-05", STRONG, 5); j.publicized("j3", LG, "2022-12-05", 5, None)
    j.review_due(IN); j.review_due(SP); j.review_due(LG)
    j.validity_end(IN); j.validity_end(SP); j.validity_end(LG)

    # K: LG rejected; reported then verified (another kind); the ban comes
    # first among refusals and is extended by a second verification.
    k = Story("K", "33", 11, "IN, SP designated; LG rejected (6 codes, no score); reported + VERIFIED (QUALITY_ACCIDENT) cancels IN, SP; banned SP before PREREQUISITE; dismissal of the closed case UNKNOWN_CASE; 2nd VERIFIED extends the ban")
    k.app("k1", IN, "2023-01-09", STRONG, 1); k.publicized("k1", IN, "2023-01-09", 1, 95)
    k.app("k2", SP, "2023-02-06", STRONG, 1); k.publicized("k2", SP, "2023-02-06", 1, 88)
    k.app("k3", LG, "2023-03-06", WEAK, 6)
    k.d("REJECTED", LG, T("2023-03-06"), "k3", LG_WEAK_APP, batch=6)
    k.vio("k4", "REPORTED", "K-1", "2023-04-10", kind="QUALITY_ACCIDENT"); k.opened("k4", "K-1", "2023-04-10")
    k.vio("k5", "VERIFIED", "K-1", "2023-05-10", kind="QUALITY_ACCIDENT"); k.verified("k5", "K-1", "2023-05-10", kind="QUALITY_ACCIDENT")
    k.app("k6", SP, "2023-06-12", STRONG, 2); k.refused("k6", SP, "2023-06-12", "REAPPLICATION_BANNED", batch=2)
    k.vio("k7", "DISMISSED", "K-1", "2023-06-20"); k.unknown_case("k7", "K-1", "2023-06-20")
    k.vio("k8", "VERIFIED", "K-2", "2023-07-10"); k.verified("k8", "K-2", "2023-07-10")
    k.app("k9", IN, "2026-07-09T23:59:59", STRONG, 3)
    k.refused("k9", IN, "2026-07-09T23:59:59", "REAPPLICATION_BANNED", batch=3)

    # L: a late application judged at its own time; only ticks move it on.
    l = Story("L", "34", 12, "known first through a dismissal of an unknown case (name \"\"); late IN application (5 weeks behind the clock) -> PUBLICITY_STARTED at its time, DESIGNATED (29 Feb 2024 .. 28 Feb 2027) before the next message; its duplicate ignored; ticks bring REVIEW_DUE; final REVIEW_DUE")
    l.vio("l0", "DISMISSED", "L-0", "2024-01-15"); l.unknown_case("l0", "L-0", "2024-01-15")
    l.app("l1", IN, "2024-02-22", STRONG, 1, at="2024-04-01T00:00:01")
    l.publicized("l1", IN, "2024-02-22", 1, 95)  # valid 2024-02-29 .. 2027-02-28
    l.resend("2024-04-15")
    l.review_due(IN)

    # M: an application three years late: publicity end, review window and
    # validity end are all behind the clock and fire in one loop.
    m = Story("M", "35", 13, "IN application 3 years behind the clock: PUBLICITY_STARTED, then DESIGNATED, REVIEW_DUE, EXPIRED in one timer loop")
    m.app("m1", IN, "2022-05-10", STRONG, 1, at="2025-09-01T00:00:01")
    m.publicized("m1", IN, "2022-05-10", 1, 95)
    m.review_due(IN); m.validity_end(IN)

    # Monthly ticks, 2022-01 .. 2026-12.
    for y in range(2022, 2027):
        for m in range(1, 13):
            t = T("%04d-%02d-01" % (y, m))
            rows.append((t, len(rows), dict(kind="tick", tick_at=iso(t), source="stories")))


def gen(out):
    build()
    with open(out + "/feed.jsonl", "w") as fh:
        for _, _, r in sorted(rows, key=lambda x: (x[0], x[1])):
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    exp = []
    for s in stories:
        exp.append(dict(name=s.name, title=s.title, uscc=s.u, unit=s.unit,
                        old_units=s.old_units,
                        decisions=s.want, states=s.states,
                        timers={"%s:%d:%d" % (s.u, TIERS.index(t), k): ms(v)
                                for (t, k), v in s.timers.items()},
                        lg=s.lg))
    with open(out + "/expected.json", "w") as fh:
        json.dump(exp, fh, ensure_ascii=False, indent=1)
    print(sum(len(s.want) for s in stories))
    with open(out + "/notices", "w") as fh:
        fh.write("%d\n" % sum(1 for s in stories for d in s.want
                               if d["decision"] in ("REVOKED", "CANCELLED", "EXPIRED")))
    with open(out + "/duplicates", "w") as fh:
        fh.write("%d\n" % duplicates)


def rcmd(url, *args):
    return subprocess.run(["redis-cli", "-u", url] + list(args), check=True,
                          capture_output=True, text=True).stdout.splitlines()


KINDS = ("PUBLICITY_END", "REVIEW_WINDOW", "VALIDITY_END")


def admin_timers(url, uscc):
    """The timers pending in the stored state of uscc, as ladder-admin
    enterprise shows them (the states hold the timers): "USCC:tier:kind"
    -> due ms."""
    env = dict(os.environ, LADDER_REDIS_URL=url)
    r = subprocess.run([os.environ["LADDERTEST_BIN"] + "/ladder-admin",
                        "enterprise", uscc, "--json"], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return {"ladder-admin enterprise failed": r.stderr.strip()}
    j = json.loads(r.stdout)
    return {"%s:%d:%d" % (uscc, TIERS.index(t["tier"]), KINDS.index(t["kind"])):
            t["due_ms"] for t in j["timers"]}


def check(out, url, partitions):
    exp = json.load(open(out + "/expected.json"))
    got = {}
    for line in open(out + "/decisions.jsonl"):
        j = json.loads(line)
        got.setdefault(j["uscc"], []).append(j)
    fails = 0
    keys = list(exp[0]["decisions"][0].keys()) if exp[0]["decisions"] else []

    def norm(j):
        r = {k: j.get(k) for k in keys}
        if r["reasons"] is None:
            r["reasons"] = []
        return r

    def show(ds):
        return " ".join(x["decision"] + ("(%s)" % ",".join(x["reasons"]) if x["reasons"] else "") for x in ds)

    for s in exp:
        mine = sorted(got.get(s["uscc"], []), key=lambda j: (j["partition"], j["offset"]))
        parts = {j["partition"] for j in mine}
        have = [norm(j) for j in mine]
        want = s["decisions"]
        if have == want:
            print("ok - %s: %d decisions: %s" % (s["name"], len(want), show(want)))
        else:
            fails += 1
            print("FAIL - %s (%s): decisions differ" % (s["name"], s["title"]))
            for n in range(max(len(have), len(want))):
                h = have[n] if n < len(have) else None
                w = want[n] if n < len(want) else None
                if h == w:
                    print("   #%d same  %s %s" % (n, w["decision"], w["tier"]))
                else:
                    diff = {k: (h and h[k], w and w[k]) for k in keys if (h and h[k]) != (w and w[k])}
                    print("   #%d got   %s" % (n, json.dumps(h, ensure_ascii=False)))
                    print("   #%d want  %s" % (n, json.dumps(w, ensure_ascii=False)))
                    print("       diff (got, want): %s" % json.dumps(diff, ensure_ascii=False))
        if len(parts) > 1:
            fails += 1
            print("FAIL - %s: decisions in several partitions %s" % (s["name"], parts))

        # Final state in Redis: the partition whose ent hash has it.
        owners = [p for p in range(partitions)
                  if rcmd(url, "HEXISTS", store_keys.ent(p), s["uscc"]) == ["1"]]
        if len(owners) != 1:
            fails += 1
            print("FAIL - %s: stored in partitions %s" % (s["name"], owners))
            continue
        p = owners[0]
        flat = rcmd(url, "HGETALL", store_keys.counters(p))
        counters = dict(zip(flat[0::2], map(int, flat[1::2])))
        states = {f.split(":")[2]: (f.split(":")[3], v) for f, v in counters.items()
                  if f.startswith("state:%s:" % s["unit"])}
        want_states = {t: (st, 1) for t, st in s["states"].items()}
        timers = admin_timers(url, s["uscc"])
        lg = {f: v for f, v in counters.items()
              if f.startswith("lg:") and f.split(":")[1] in {k.split(":")[1] for k in s["lg"]}}
        problems = []
        for old in s["old_units"]:
            stale = [f for f in counters if f.startswith("state:%s:" % old)]
            if stale:
                problems.append("counters left under unit %s: %s" % (old, stale))
        if states != want_states:
            problems.append("states got %s want %s" % (states, want_states))
        if timers != s["timers"]:
            problems.append("timers got %s want %s" % (timers, s["timers"]))
        if lg != s["lg"]:
            problems.append("lg counters got %s want %s" % (lg, s["lg"]))
        if problems:
            fails += 1
            print("FAIL - %s: Redis partition %d: %s" % (s["name"], p, "; ".join(problems)))
        else:
            print("ok - %s: Redis partition %d: states %s, %d timers, %s" % (
                s["name"], p, s["states"] or "none", len(timers), s["lg"] or "no lg counters"))
    ids = [j["decision_id"] for js in got.values() for j in js]
    if len(set(ids)) != len(ids):
        fails += 1
        print("FAIL - decision_ids are not unique")
    else:
        print("ok - %d distinct decision_ids" % len(ids))
    known = {s["uscc"] for s in exp}
    stray = [u for u in got if u not in known]
    if stray:
        fails += 1
        print("FAIL - decisions for unknown enterprises %s" % stray)
    return 1 if fails else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4])))
