#!/usr/bin/python3
"""Checks of ladder-notify's deliveries, from test_notify_receiver.py logs.

  test_notify_check.py wait LOG PRODUCED SPEC...
      exit 0 once, for every SPEC "path=TYPE,TYPE" (TYPE may be "*"), every
      produced id of those types has a 2xx request on that path in LOG
      (PRODUCED: lines "ID TYPE USCC SEQ" from ladder-notify-bench)
  test_notify_check.py check LOG PRODUCED DEADLETTER MARKS SPEC...
      prints ok/FAIL lines, exits 1 on any failure; MARKS is a comma list of
      line numbers of LOG where a new ladder-notify run started
"""
import json
import sys

DEFAULT = ["REVOKED", "CANCELLED", "EXPIRED"]


def load(path):
    """The complete lines of a JSON Lines file (a receiver may be writing
    its last line while this reads it)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


def produced(path):
    out = []
    with open(path) as f:
        for line in f:
            i, t, u, s = line.split()
            out.append({"id": i, "type": t, "uscc": u, "seq": int(s)})
    return out


def spec(arg):
    path, types = arg.split("=", 1)
    return path, types.split(",")


def want(prod, types):
    return [p for p in prod if "*" in types or p["type"] in types]


def ok2xx(r):
    return isinstance(r["status"], int) and 200 <= r["status"] < 300


def cmd_wait(argv):
    log, prod = load(argv[0]), []
    for f in argv[1].split(","):
        prod += produced(f)
    for a in argv[2:]:
        path, types = spec(a)
        got = {r["id"] for r in log if r["path"] == path and ok2xx(r)}
        if any(p["id"] not in got for p in want(prod, types)):
            return 1
    return 0


def cmd_check(argv):
    log = load(argv[0])
    prod = []
    for f in argv[1].split(","):
        prod += produced(f)
    dead = load(argv[2])
    marks = [int(x) for x in argv[3].split(",") if x]
    specs = [spec(a) for a in argv[4:]]
    by_id = {p["id"]: p for p in prod}
    fails = 0

    def check(cond, msg):
        nonlocal fails
        print(("ok - " if cond else "FAIL - ") + msg)
        if not cond:
            fails += 1

    dead_ids = {(d["subscriber"], d["event"]["id"]) for d in dead}
    run_of = []
    for n in range(len(log)):
        run_of.append(sum(1 for m in marks if n >= m))
    for path, types in specs:
        reqs = [(n, r) for n, r in enumerate(log) if r["path"] == path]
        exp = want(prod, types)
        got = {r["id"] for _, r in reqs if ok2xx(r)}
        missing = [p["id"] for p in exp
                   if p["id"] not in got and (path, p["id"]) not in dead_ids]
        check(not missing, "%s: every one of %d notices acknowledged at least once or dead-lettered%s"
              % (path, len(exp), "; missing %s" % missing[:5] if missing else ""))
        stray = sorted({r["id"] for _, r in reqs} - {p["id"] for p in exp})
        check(not stray, "%s: only the selected types (%s) were sent%s"
              % (path, ",".join(types), "; also got %s" % stray[:5] if stray else ""))
        bad = [r["id"] for _, r in reqs if not r["sig_ok"]]
        check(not bad, "%s: all %d X-Ladder-Signature (body only) verify" % (path, len(reqs)))
        bad = [r["id"] for _, r in reqs if not r["sig_v2_ok"]]
        check(not bad, "%s: all %d X-Ladder-Signature-V2 verify, X-Ladder-Timestamp within 5 minutes%s"
              % (path, len(reqs), "; not %s" % bad[:5] if bad else ""))
        # Each attempt is stamped when it is sent: at most a second or two
        # before it arrives here, never after.
        bad = [(r["id"], r["attempt"], r["timestamp"], r["arrival_ms"]) for _, r in reqs
               if r["timestamp"] is None or not 0 <= r["arrival_ms"] // 1000 - r["timestamp"] <= 2]
        check(not bad, "%s: every X-Ladder-Timestamp is the time of its own attempt%s"
              % (path, "; not %s" % bad[:3] if bad else ""))
        tries = {}
        for _, r in reqs:
            tries.setdefault(r["id"], []).append(r)
        spread = [t for t in tries.values() if t[-1]["arrival_ms"] - t[0]["arrival_ms"] > 1500]
        stale = [t[0]["id"] for t in spread if len({r["timestamp"] for r in t}) == 1]
        check(not stale, "%s: %d notices retried over more than 1.5 s, each retry signed afresh%s"
              % (path, len(spread), "; not %s" % stale[:5] if stale else ""))
        ct = {r["content_type"] for _, r in reqs}
        check(ct <= {"application/cloudevents+json; charset=utf-8"},
              "%s: Content-Type application/cloudevents+json (%s)" % (path, ct))
        bodies = {}
        for _, r in reqs:
            bodies.setdefault(r["id"], set()).add(r["body_sha256"])
        dup = sum(1 for _, r in reqs) - len(bodies)
        check(all(len(b) == 1 for b in bodies.values()),
              "%s: %d repeated requests carry the same id and identical bodies" % (path, dup))
        # Order within each run: per enterprise, the ids never go back, and
        # the next notice is only sent once the previous one was
        # acknowledged or dead-lettered.
        order_ok, seq_ok = True, True
        for run in range(len(marks) + 1):
            last = {}
            prev, prev_acked = None, True
            for n, r in reqs:
                if run_of[n] != run or r["id"] not in by_id:
                    continue
                p = by_id[r["id"]]
                if last.get(p["uscc"], -1) > p["seq"]:
                    order_ok = False
                last[p["uscc"]] = p["seq"]
                if prev is not None and r["id"] != prev and not prev_acked \
                        and (path, prev) not in dead_ids:
                    seq_ok = False
                    print("# %s: %s sent before %s was acknowledged" % (path, r["id"], prev))
                if r["id"] != prev:
                    prev, prev_acked = r["id"], False
                prev_acked = prev_acked or ok2xx(r)
        check(order_ok, "%s: each enterprise's notices arrive in order in every run" % path)
        check(seq_ok, "%s: no notice sent before the previous one was acknowledged or dead-lettered" % path)
    return 1 if fails else 0


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    return cmd_wait(argv) if cmd == "wait" else cmd_check(argv)


if __name__ == "__main__":
    sys.exit(main())
