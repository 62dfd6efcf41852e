#!/usr/bin/python3
"""notice -- the notices stream's entries as the JSON form, for scripts.

DESIGN: the worker keeps each revocation notice in a compact binary form
(services/lib/codec/include/ladder/decision.h, LDR_DECISION_NOTICE_FORMAT);
entries an earlier version wrote are JSON text. parse() takes either and
gives the decision's JSON form as a dict, the same one ladder-api serves
(decided_at aside), so the fault suite, the integration tests and the demo
read notices through this one copy of the format. unit.test_decision checks
the C side; integration.test_admin compares this reading with ladder-admin's.

Python:  sys.path.insert(0, "<src>/tests/support"); import notice
         notice.parse(value_bytes) -> dict
Shell:   /usr/bin/python3 tests/support/notice.py xrange REDIS_URL KEY [COUNT]
         one line per entry: {"id": ..., "decision": {...}}, oldest first
"""
import ast
import datetime
import json
import os
import re
import subprocess
import sys

FORMAT = 1
REASONS_MAX = 32


def _enums():
    """The Tier and DecisionType symbols, in the order of the contract's
    schema (schemas/designation_decision.avsc), which the C enums follow
    and the compact form stores as indexes."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "schemas",
                        "designation_decision.avsc")
    found = {}

    def walk(x):
        if isinstance(x, dict):
            if x.get("type") == "enum":
                found[x["name"]] = tuple(x["symbols"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    with open(path, encoding="utf-8") as f:
        walk(json.load(f))
    return found["Tier"], found["DecisionType"]


TIERS, DECISIONS = _enums()
_EPOCH = datetime.datetime(1970, 1, 1)


class Damaged(ValueError):
    pass


class _Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        if self.at >= len(self.data):
            raise Damaged("cut short")
        self.at += 1
        return self.data[self.at - 1]

    def varint(self):
        v = shift = 0
        for _ in range(10):
            c = self.byte()
            v |= (c & 0x7F) << shift
            if not c & 0x80:
                return v
            shift += 7
        raise Damaged("varint longer than 10 bytes")

    def int(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def str(self):
        n = self.varint()
        if n > len(self.data) - self.at:
            raise Damaged("string past the end")
        self.at += n
        return self.data[self.at - n:self.at].decode("utf-8")


def _time(ms):
    t = _EPOCH + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def decode(data):
    """The compact form -> the JSON form (a dict); Damaged when it does not
    decode, as ldr_decision_read_notice() refuses it."""
    r = _Reader(data)
    if r.byte() != FORMAT:
        raise Damaged("not the compact form")
    d = {"decision_id": r.str(), "uscc": r.str(), "enterprise_name": r.str(),
         "reporting_unit": r.str()}
    tier = r.byte()
    if tier != 255 and tier >= len(TIERS):
        raise Damaged("tier %d" % tier)
    d["tier"] = None if tier == 255 else TIERS[tier]
    kind = r.byte()
    if kind >= len(DECISIONS):
        raise Damaged("decision type %d" % kind)
    d["decision"] = DECISIONS[kind]
    n = r.varint()
    if n > REASONS_MAX:
        raise Damaged("%d reasons" % n)
    d["reasons"] = [r.str() for _ in range(n)]
    d["effective_at"] = _time(r.int())
    flags = r.byte()
    for bit, key, read in ((1, "valid_from", "time"), (2, "valid_until", "time"),
                           (4, "review_deadline", "time"),
                           (8, "ban_until", "time"), (16, "case_id", "str"),
                           (32, "batch", "int"), (64, "score", "int")):
        if not flags & bit:
            d[key] = None
        elif read == "time":
            d[key] = _time(r.int())
        elif read == "str":
            d[key] = r.str()
        else:
            d[key] = r.int()
    cause_event_id = r.str() if flags & 128 else None
    # the JSON form's order: policy_version, cause_event_id, cause
    d["policy_version"] = r.str()
    d["cause_event_id"] = cause_event_id
    d["cause"] = r.str()
    d["decided_at"] = _time(r.int())
    if r.at != len(data):
        raise Damaged("%d bytes left over" % (len(data) - r.at))
    return d


def parse(value):
    """An entry's value (bytes), either form -> the JSON form (a dict)."""
    if value[:1] == bytes([FORMAT]):
        return decode(value)
    return json.loads(value)


# redis-cli --no-raw quotes every bulk string as a C-like literal that a
# Python bytes literal reads back (\xNN, \n, \", \\ ...).
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def _unquote(b):
    return ast.literal_eval((b'b"' + b + b'"').decode("latin-1"))


def xrange(url, key, count=None, rev=False):
    """[(entry id, JSON form)] of the stream at @key, oldest first (newest
    first with @rev), at most @count."""
    args = ["redis-cli", "-u", url, "--no-raw"]
    args += ["XREVRANGE", key, "+", "-"] if rev else ["XRANGE", key, "-", "+"]
    if count:
        args += ["COUNT", str(count)]
    out = subprocess.run(args, capture_output=True, check=True).stdout
    q = [_unquote(m.group(1)) for m in _QUOTED.finditer(out)]
    entries = []
    for i in range(0, len(q) - 2, 3):  # id, "decision", value
        if q[i + 1] != b"decision":
            raise Damaged("entry %s: field %r" % (q[i], q[i + 1]))
        entries.append((q[i].decode(), parse(q[i + 2])))
    return entries


def main(argv):
    if len(argv) < 4 or argv[1] != "xrange":
        sys.stderr.write("usage: notice.py xrange REDIS_URL KEY [COUNT]\n")
        return 2
    for nid, d in xrange(argv[2], argv[3], argv[4] if len(argv) > 4 else None):
        print(json.dumps({"id": nid, "decision": d}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
