#!/usr/bin/python3
"""Checks of test_api.sh against a running ladder-api (standard library only).

  test_api_check.py register BASE DIR HISTORY_MAX
        after phase 1: every endpoint's answers and every error case; the
        enterprise history against the decisions on the topic
        (DIR/decisions.jsonl); the stats against the Redis counters
  test_api_check.py stats BASE INNOVATIVE
        the national INNOVATIVE total is INNOVATIVE, and every total is the
        sum of the units'
  test_api_check.py token BASE TOKEN
        the token guards every route but /livez and /readyz
  test_api_check.py sse FILE USCC [NOT_USCC...]
        the event stream in FILE holds a CANCELLED notice of USCC whose id:
        is its decision_id, and none of the NOT_USCCs; prints that id

Prints "ok - ..." per check and "FAIL - ..." per failure; exit status 1 on
any failure.
"""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
import feedrows  # noqa: E402

failures = 0


def ok(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        failures += 1
    return cond


def get(base, path, headers=None, method="GET"):
    req = urllib.request.Request(base + path, headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def get_json(base, path, **kw):
    status, headers, body = get(base, path, **kw)
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, {"unparsed": body}


def error_case(base, path, status, code, text, method="GET"):
    st, hd, j = get_json(base, path, method=method)
    ok(st == status and j.get("error") == code and text in j.get("message", "")
       and hd.get("Content-Type", "").startswith("application/json"),
       f"{method} {path} -> {status} {code} mentioning {text!r} "
       f"(got {st} {j})")
    return hd


def strip(d):
    d = dict(d)
    for k in ("decided_at", "partition", "offset"):
        d.pop(k, None)
    return d


def register(base, work, history_max):
    ents = json.load(open(f"{work}/ents.json"))
    topic = [json.loads(line) for line in open(f"{work}/decisions.jsonl")]

    # -- one enterprise -----------------------------------------------------
    st, hd, a = get_json(base, "/v1/enterprises/" + ents["A"])
    ok(st == 200, f"GET /v1/enterprises/A -> 200 (got {st})")
    des = a.get("designations", {})
    want = {"INNOVATIVE": ("2022-01-17", "2025-01-17", 3),
            "SPECIALIZED": ("2022-02-17", "2025-02-17", 2),
            "LITTLE_GIANT": ("2022-03-17", "2025-03-17", 1)}
    for tier, (vf, vu, batch) in want.items():
        d = des.get(tier, {})
        got = (d.get("status"), d.get("valid_from"), d.get("valid_until"),
               d.get("batch"), d.get("policy_version"),
               d.get("review_deadline"))
        exp = ("DESIGNATED", vf + "T00:00:00.000Z", vu + "T00:00:00.000Z",
               batch, "miit-2022", vu + "T00:00:00.000Z")
        ok(got == exp, f"A {tier}: {exp} (got {got})")
    ok(a.get("reporting_unit") == "11" and a.get("open_cases") == []
       and a.get("ban_until") is None
       and a.get("enterprise_name") == "接口测试企业A有限公司",
       "A: unit 11, its name, no open case, no ban")

    # The history is the topic's decisions, newest first, but decided_at
    # (null: the store keeps no processing time).
    for name in ("A", "D"):
        st, _, e = get_json(base, "/v1/enterprises/" + ents[name])
        mine = [d for d in topic if d["uscc"] == ents[name]]
        mine.sort(key=lambda d: (d["offset"],
                                 int(d["decision_id"].rsplit("-", 1)[1])))
        want = [strip(d) for d in reversed(mine)][:history_max]
        got = [strip(d) for d in e.get("decisions", [])]
        ok(got == want,
           f"{name}: the last {len(want)} of its {len(mine)} decisions, "
           f"newest first, equal the topic's (got {len(got)})")
        ok(all(d.get("decided_at", 1) is None for d in e.get("decisions", [])),
           f"{name}: decided_at is null in the history")
    ok(len(mine) > history_max,
       f"D has more decisions ({len(mine)}) than the history keeps "
       f"({history_max})")

    st, _, c = get_json(base, "/v1/enterprises/" + ents["C"])
    ok(c.get("open_cases") == ["C-1"], f"C: open case C-1 (got {c.get('open_cases')})")
    st, _, y = get_json(base, "/v1/enterprises/" + ents["Y"])
    ok(y.get("ban_until") == "2025-03-12T00:00:00.000Z"
       and y["designations"]["INNOVATIVE"]["status"] == "NONE"
       and y["decisions"][0]["decision"] == "CANCELLED",
       "Y: cancelled, banned until 2025-03-12")

    # -- USCC errors ----------------------------------------------------------
    good = ents["A"]
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    error_case(base, "/v1/enterprises/91110000MA000096", 400, "invalid_uscc",
               "a USCC is 18 characters")
    error_case(base, "/v1/enterprises/" + bad_check, 400, "invalid_uscc",
               "check character is")
    error_case(base, "/v1/enterprises/" + good.lower(), 400, "invalid_uscc",
               "is not one of")
    error_case(base, "/v1/enterprises/91110000MA0000965I", 400,
               "invalid_uscc", "is not one of")
    unknown = feedrows.uscc(good[:10] + "9999999")
    error_case(base, "/v1/enterprises/" + unknown, 404, "not_found", unknown)

    # -- stats ------------------------------------------------------------------
    st, _, s = get_json(base, "/v1/stats")
    nat = s.get("national", {})
    ok(st == 200 and nat.get("active") == {"INNOVATIVE": 5, "SPECIALIZED": 1,
                                           "LITTLE_GIANT": 1},
       f"stats: active 5 / 1 / 1 (got {nat.get('active')})")
    ok(nat.get("targets") == {"INNOVATIVE": 1000000, "SPECIALIZED": 100000,
                              "LITTLE_GIANT": 10000},
       "stats: the 14th Five-Year targets")
    ok(abs(nat.get("progress", {}).get("LITTLE_GIANT", 0) - 1e-4) < 1e-9,
       "stats: progress = active / target")
    units = {u["code"]: u for u in s.get("units", [])}
    ok(len(units) == 37, f"stats: all 37 reporting units (got {len(units)})")
    ok(units.get("11", {}).get("active") == {"INNOVATIVE": 1, "SPECIALIZED": 1,
                                             "LITTLE_GIANT": 1}
       and units["11"]["name_en"] == "Beijing",
       "stats: unit 11 holds A's three designations")
    ok(s.get("little_giant_batches") == [
        {"batch": 1, "designated": 1, "renewed": 0,
         "revoked_review_failed": 0, "revoked_no_submission": 0,
         "cancelled": 0}],
       f"stats: batch 1 has one designation (got {s.get('little_giant_batches')})")
    st, _, s11 = get_json(base, "/v1/stats?unit=11")
    ok(st == 200 and s11.get("unit") == "11"
       and [u["code"] for u in s11.get("units", [])] == ["11"]
       and s11["national"] == s["national"],
       "stats?unit=11: that unit, with the national totals")
    error_case(base, "/v1/stats?unit=99", 400, "unknown_unit", '"99"')
    error_case(base, "/v1/stats?unit=", 400, "unknown_unit", "reporting unit")

    # -- notices -------------------------------------------------------------------
    st, _, n = get_json(base, "/v1/notices")
    ns = n.get("notices", [])
    ok(st == 200 and len(ns) == 1 and ns[0]["uscc"] == ents["Y"]
       and ns[0]["decision"] == "CANCELLED" and ns[0]["decided_at"] is None
       and ns[0]["case_id"] == "Y-1" and n.get("limit") == 100,
       f"notices: Y's cancellation, decided_at null, default limit 100 (got {n})")
    ycancel = [strip(d) for d in topic if d["uscc"] == ents["Y"]
               and d["decision"] == "CANCELLED"]
    ok([strip(d) for d in ns] == ycancel, "notices: equal to the topic's decision")
    st, _, n = get_json(base, "/v1/notices?since=2022-03-12T00:00:00Z&limit=5")
    ok(st == 200 and n.get("count") == 1 and n.get("since") ==
       "2022-03-12T00:00:00.000Z", "notices?since= at its effective_at: included")
    st, _, n = get_json(base, "/v1/notices?since=2022-03-12T00:00:00.001Z")
    ok(st == 200 and n.get("count") == 0, "notices?since= after it: none")
    error_case(base, "/v1/notices?since=yesterday", 400, "invalid_since",
               "RFC 3339")
    error_case(base, "/v1/notices?since=", 400, "invalid_since", "RFC 3339")
    error_case(base, "/v1/notices?since=2022-13-01T00:00:00Z", 400,
               "invalid_since", "RFC 3339")
    for lim in ("0", "abc", "101", "-1", "5x"):
        error_case(base, "/v1/notices?limit=" + lim, 400, "invalid_limit",
                   "1 to 100")

    # -- routes, methods, health --------------------------------------------------
    error_case(base, "/v1/nothing", 404, "not_found", "/v1/nothing")
    error_case(base, "/v1/enterprises/", 404, "not_found", "/v1/enterprises/")
    hd = error_case(base, "/v1/stats", 405, "method_not_allowed", "POST",
                    method="POST")
    ok(hd.get("Allow") == "GET, HEAD", f"405 says Allow: GET, HEAD (got {hd.get('Allow')})")
    st, hd, body = get(base, "/")
    ok(st == 200 and hd.get("Content-Type", "").startswith("text/html")
       and 'id="uscc-search"' in body, "GET / serves the dashboard page")
    st, _, j = get_json(base, "/livez")
    ok(st == 200 and j == {"live": True}, "/livez")
    st, _, j = get_json(base, "/readyz")
    ok(st == 200 and j == {"ready": True}, "/readyz while Redis is up")
    st, hd, m = get(base, "/metrics")
    ok(st == 200 and 'ladder_api_requests_total{route="/v1/enterprises/{uscc}",code="400"} 4' in m
       and 'ladder_api_requests_total{route="unmatched",code="404"} 2' in m
       and 'ladder_api_requests_total{route="unmatched",code="405"} 1' in m
       and 'ladder_api_request_seconds_count{route="/v1/stats"} 4' in m,
       "metrics: requests per route and code, latency per route")
    ok("\nladder_ready 1\n" in m, "metrics: ladder_ready 1 while Redis answers")


def stats(base, innovative):
    st, _, s = get_json(base, "/v1/stats")
    nat = s["national"]["active"]
    ok(nat["INNOVATIVE"] == innovative,
       f"stats: {innovative} active innovative (got {nat['INNOVATIVE']})")
    for t in nat:
        ok(sum(u["active"][t] for u in s["units"]) == nat[t],
           f"stats: the units' {t} sum to the national total")


def token(base, tok):
    for path in ("/", "/v1/stats", "/v1/notices", "/metrics",
                 "/v1/enterprises/91110000MA0000965A"):
        st, hd, j = get_json(base, path)
        ok(st == 401 and j.get("error") == "unauthorized"
           and hd.get("WWW-Authenticate", "").startswith("Bearer"),
           f"{path} without the token -> 401")
        st, _, j = get_json(base, path,
                            headers={"Authorization": "Bearer wrong"})
        ok(st == 401, f"{path} with a wrong token -> 401")
    st, _, _ = get_json(base, "/v1/stats?token=" + tok[:-1])
    ok(st == 401, "a prefix of the token -> 401")
    st, _, j = get_json(base, "/v1/stats",
                        headers={"Authorization": "Bearer " + tok})
    ok(st == 200 and "national" in j, "Authorization: Bearer <token> -> 200")
    st, _, j = get_json(base, "/v1/stats?token=" + tok)
    ok(st == 200 and "national" in j, "?token=<token> -> 200")
    for path in ("/livez", "/readyz"):
        st, _, _ = get_json(base, path)
        ok(st == 200, f"{path} needs no token")


def sse(path, uscc, not_usccs):
    events, cur = [], {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            if "data" in cur:
                events.append(cur)
            cur = {}
        elif line.startswith("id: "):
            cur["id"] = line[4:]
        elif line.startswith("data: "):
            cur["data"] = json.loads(line[6:])
    found = [e for e in events if e["data"]["uscc"] == uscc
             and e["data"]["decision"] == "CANCELLED"]
    bad = [e for e in events if e["data"]["uscc"] in not_usccs]
    if found and not bad and found[0]["id"] == found[0]["data"]["decision_id"]:
        print(found[0]["id"])
        return 0
    if bad:
        print(f"unexpected notices: {[e['id'] for e in bad]}", file=sys.stderr)
    return 1


def main():
    cmd = sys.argv[1]
    if cmd == "register":
        register(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "stats":
        stats(sys.argv[2], int(sys.argv[3]))
    elif cmd == "token":
        token(sys.argv[2], sys.argv[3])
    elif cmd == "sse":
        return sse(sys.argv[2], sys.argv[3], sys.argv[4:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
