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
        the token guards every route that reads the register, as a bearer
        token; ?token= is refused
  test_api_check.py session BASE TOKEN LIFETIME COOKIE_FILE
        the dashboard's sign-in: the page and its assets need no token and
        hold no inline script or style; POST /v1/session refuses a wrong
        token, other methods and other content types, and sets an HttpOnly,
        SameSite=Strict cookie (not the token) that opens the API; forged
        cookies are refused; sign-out clears it; every answer carries the
        Content-Security-Policy. Writes the cookie ("name=value") to
        COOKIE_FILE
  test_api_check.py cookie BASE COOKIE STATUS
        GET /v1/stats with COOKIE is answered STATUS
  test_api_check.py expiry BASE TOKEN LIFETIME
        a session of LIFETIME seconds opens the API at once and is refused
        once it has expired
  test_api_check.py sse FILE USCC [NOT_USCC...]
        the event stream in FILE holds a CANCELLED notice of USCC whose id:
        is its decision_id, and none of the NOT_USCCs; prints that id

Prints "ok - ..." per check and "FAIL - ..." per failure; exit status 1 on
any failure.
"""
import json
import os
import re
import sys
import time
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
            # An open event stream never ends: its status is the answer.
            if r.headers.get("Content-Type", "").startswith(
                    "text/event-stream"):
                return r.status, dict(r.headers), ""
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
    for path in ("/v1/stats", "/v1/notices", "/metrics",
                 "/v1/enterprises/91110000MA0000965A", "/v1/notices/stream"):
        st, hd, j = get_json(base, path)
        ok(st == 401 and j.get("error") == "unauthorized"
           and hd.get("WWW-Authenticate", "").startswith("Bearer")
           and "sign in" in j.get("message", "")
           and "token=" not in j.get("message", ""),
           f"{path} without the token -> 401 that says how to sign in and "
           f"does not offer ?token= ({j.get('message')})")
        st, _, j = get_json(base, path,
                            headers={"Authorization": "Bearer wrong"})
        ok(st == 401, f"{path} with a wrong token -> 401")
    st, _, _ = get_json(base, "/v1/stats",
                        headers={"Authorization": "Bearer " + tok[:-1]})
    ok(st == 401, "a prefix of the token -> 401")
    st, _, j = get_json(base, "/v1/stats",
                        headers={"Authorization": "Bearer " + tok})
    ok(st == 200 and "national" in j, "Authorization: Bearer <token> -> 200")
    for path in ("/v1/stats?token=" + tok, "/?token=" + tok,
                 "/v1/notices/stream?token=" + tok):
        st, _, j = get_json(base, path)
        ok(st == 401 and j.get("error") == "token_in_url"
           and "sign in" in j.get("message", ""),
           f"{path.split('?')[0]}?token=<the right token> -> 401 "
           f"token_in_url that says how to sign in ({j.get('message')})")
    st, _, j = get_json(base, "/v1/stats?token=" + tok,
                        headers={"Authorization": "Bearer " + tok})
    ok(st == 401 and j.get("error") == "token_in_url",
       "?token= is refused even beside a right bearer token")
    for path in ("/livez", "/readyz"):
        st, _, _ = get_json(base, path)
        ok(st == 200, f"{path} needs no token")


CSP = "default-src 'self'; frame-ancestors 'none'"


def post(base, path, body, ctype="application/json", headers=None,
         method="POST"):
    h = dict(headers or {})
    if ctype:
        h["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=body.encode(), headers=h,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def sign_in(base, tok, headers=None):
    """POST /v1/session; (status, the Set-Cookie header or "", JSON)."""
    st, hd, body = post(base, "/v1/session", json.dumps({"token": tok}),
                        headers=headers)
    try:
        j = json.loads(body)
    except ValueError:
        j = {"unparsed": body}
    return st, hd.get("Set-Cookie", ""), j


def with_cookie(base, path, cookie):
    return get_json(base, path, headers={"Cookie": cookie})


def dashboard_files(base):
    """The page and its assets: open, and nothing inline."""
    st, hd, page = get(base, "/")
    ok(st == 200 and hd.get("Content-Type", "").startswith("text/html")
       and 'id="signin-form"' in page, "GET / serves the page without a token")
    ok('<script src="/dashboard.js"' in page
       and '<link rel="stylesheet" href="/dashboard.css">' in page,
       "the page loads /dashboard.js and /dashboard.css")
    code = re.sub(r"<!--.*?-->", "", page, flags=re.S)
    inline = ("<style" in code or "style=" in code
              or any(not m.startswith(" src=")
                     for m in code.split("<script")[1:]))
    ok(not inline, "the page has no inline script, <style> or style=")
    for path, ctype, text in (("/dashboard.js", "text/javascript",
                               "/v1/session"),
                              ("/dashboard.css", "text/css", "--in")):
        st, hd, body = get(base, path)
        ok(st == 200 and hd.get("Content-Type", "").startswith(ctype)
           and text in body, f"GET {path} without a token -> 200 {ctype}")


def session_routes(base, tok, lifetime):
    """Sign-in's refusals, then a sign-in; returns the cookie."""
    st, _, j = get_json(base, "/v1/session")
    ok(st == 200 and j == {"required": True, "signed_in": False},
       f"GET /v1/session without a cookie: required, not signed in ({j})")
    st, cookie, j = sign_in(base, "wrong-" + tok)
    ok(st == 401 and not cookie and j.get("error") == "unauthorized",
       f"a wrong token -> 401 and no cookie ({st} {j})")
    st, cookie, _ = sign_in(base, tok[:-1])
    ok(st == 401 and not cookie, "a prefix of the token -> 401, no cookie")
    for ctype in ("application/x-www-form-urlencoded", "text/plain", None):
        st, hd, _ = post(base, "/v1/session", json.dumps({"token": tok}),
                         ctype=ctype)
        ok(st == 415 and not hd.get("Set-Cookie"),
           f"POST /v1/session as {ctype} -> 415, no cookie (a form of "
           f"another site cannot sign in)")
    st, hd, _ = post(base, "/v1/session", json.dumps({"token": tok}),
                     method="PUT")
    ok(st == 405 and hd.get("Allow") == "POST", "PUT /v1/session -> 405 Allow: POST")
    st, hd, _ = post(base, "/v1/session", "{\"tok\": 1}")
    ok(st == 400 and not hd.get("Set-Cookie"), "a body without token -> 400")
    st, cookie, j = sign_in(base, tok)
    attrs = [a.strip() for a in cookie.split(";")]
    name, _, value = attrs[0].partition("=")
    ok(st == 200 and j.get("signed_in") is True and "expires_at" in j
       and name == "ladder_session" and len(value) > 64,
       f"the right token -> 200 and a session cookie ({cookie})")
    ok("HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs
       and f"Max-Age={lifetime}" in attrs and "Secure" not in attrs,
       "the cookie is HttpOnly, SameSite=Strict, Path=/, "
       f"Max-Age={lifetime}, not Secure over plain HTTP")
    ok(tok not in cookie, "the cookie does not hold the token")
    _, secure, _ = sign_in(base, tok, headers={"X-Forwarded-Proto": "https"})
    ok("Secure" in [a.strip() for a in secure.split(";")],
       "behind a TLS proxy (X-Forwarded-Proto: https) the cookie is Secure")
    return attrs[0]


def forged(cookie):
    """Variants of a good cookie that must all be refused."""
    name, _, value = cookie.partition("=")
    expiry, nonce, mac = value.split(".")
    flip = "0" if mac[-1] != "0" else "1"
    return {
        "a changed MAC": f"{name}={expiry}.{nonce}.{mac[:-1]}{flip}",
        "a later expiry": f"{name}={int(expiry) + 1}.{nonce}.{mac}",
        "an earlier expiry": f"{name}={int(expiry) - 60}.{nonce}.{mac}",
        "another nonce": f"{name}={expiry}.{nonce[::-1]}.{mac}",
        "no MAC": f"{name}={expiry}.{nonce}.",
        "an expiry long past": f"{name}=1.{nonce}.{mac}",
        "garbage": f"{name}=x",
        "empty": f"{name}=",
        "another name": f"session={value}",
    }


def session(base, tok, lifetime, cookie_file):
    dashboard_files(base)
    cookie = session_routes(base, tok, lifetime)
    with open(cookie_file, "w") as f:
        f.write(cookie + "\n")
    if not ok(cookie.count(".") == 2, "the cookie is <expiry>.<nonce>.<mac>"):
        csp(base, tok, cookie)
        return
    for path in ("/v1/stats", "/v1/notices?limit=1", "/metrics",
                 "/v1/enterprises/91110000MA0000965A"):
        st, _, _ = with_cookie(base, path, cookie)
        ok(st in (200, 404), f"{path} with the session cookie -> {st}")
    st, _, j = with_cookie(base, "/v1/stats", "a=1; " + cookie + "; b=2")
    ok(st == 200 and "national" in j,
       "the session cookie among others -> /v1/stats 200")
    st, _, j = with_cookie(base, "/v1/session", cookie)
    ok(j == {"required": True, "signed_in": True},
       "GET /v1/session with the cookie: signed in")
    for what, bad in forged(cookie).items():
        st, _, j = with_cookie(base, "/v1/stats", bad)
        ok(st == 401 and j.get("error") == "unauthorized",
           f"a forged cookie ({what}) -> 401")
    st, _, j = with_cookie(base, "/v1/stats", "ladder_session=" + tok)
    ok(st == 401, "the token itself as the cookie -> 401")
    st, hd, _ = post(base, "/v1/session/end", "{}", ctype="text/plain")
    ok(st == 415, "sign-out as text/plain -> 415")
    st, hd, body = post(base, "/v1/session/end", "{}",
                        headers={"Cookie": cookie})
    out = [a.strip() for a in hd.get("Set-Cookie", "").split(";")]
    ok(st == 200 and out[0] == "ladder_session=" and "Max-Age=0" in out,
       f"POST /v1/session/end clears the cookie ({hd.get('Set-Cookie')})")
    csp(base, tok, cookie)


def csp(base, tok, cookie):
    """Every answer, whatever its route and status, carries the policy."""
    auth = {"Authorization": "Bearer " + tok}
    seen = []
    for path, headers in (("/", None), ("/dashboard.js", None),
                          ("/dashboard.css", None), ("/v1/stats", None),
                          ("/v1/stats", auth), ("/v1/session", None),
                          ("/v1/stats?token=x", None), ("/metrics", auth),
                          ("/livez", None), ("/readyz", None),
                          ("/v1/nothing", auth),
                          ("/v1/enterprises/bad", {"Cookie": cookie})):
        st, hd, _ = get(base, path, headers=headers)
        seen.append((path, st, hd.get("Content-Security-Policy")))
    for method, path, ctype in (("POST", "/v1/session", "application/json"),
                                ("POST", "/v1/session", "text/plain"),
                                ("POST", "/v1/stats", "application/json")):
        st, hd, _ = post(base, path, "{}", ctype=ctype, method=method)
        seen.append((f"{method} {path}", st, hd.get("Content-Security-Policy")))
    bad = [s for s in seen if s[2] != CSP]
    ok(not bad, f"all {len(seen)} answers (statuses "
       f"{sorted({s[1] for s in seen})}) carry Content-Security-Policy: "
       f"{CSP}" + (f"; missing on {bad}" if bad else ""))


def cookie_status(base, cookie, want):
    st, _, _ = with_cookie(base, "/v1/stats", cookie)
    ok(st == want, f"/v1/stats with the earlier session cookie -> {st} "
       f"(want {want})")


def expiry(base, tok, lifetime):
    st, cookie, _ = sign_in(base, tok)
    cookie = cookie.split(";")[0]
    st, _, _ = with_cookie(base, "/v1/stats", cookie)
    ok(st == 200, f"a {lifetime} s session opens /v1/stats at once")
    time.sleep(lifetime + 1.5)
    st, _, j = with_cookie(base, "/v1/stats", cookie)
    ok(st == 401 and j.get("error") == "unauthorized",
       f"{lifetime + 1.5} s later the session has expired -> 401")


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
    elif cmd == "session":
        session(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "cookie":
        cookie_status(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "expiry":
        expiry(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "sse":
        return sse(sys.argv[2], sys.argv[3], sys.argv[4:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
