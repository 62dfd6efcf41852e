#!/usr/bin/python3
"""Drives headless Chromium over the DevTools protocol against ladder-api's
dashboard (standard library only: a minimal WebSocket client is below).

  dashboard.py check BASE SHOT TOKEN FEED_CMD... -- USCC_CANCELLED USCC_SEARCH
      loads BASE/ (a ladder-api with api.token TOKEN), checks that the page
      asks for the token, refuses a wrong one and signs in with TOKEN; that
      the totals, the units chart and the batches equal /v1/stats, that the
      feed goes live, runs FEED_CMD (which makes a revocation of
      USCC_CANCELLED) and checks that the notice appears in the feed within
      30 s and the totals follow, searches USCC_SEARCH, saves a screenshot
      to SHOT, reloads (still signed in) and signs out. Throughout: the
      Content-Security-Policy blocked nothing (no violation event, no
      console message), every answer carried it, the session cookie is
      HttpOnly and SameSite=Strict and invisible to scripts, and no URL the
      browser loaded or kept in its history holds the token
  dashboard.py shot URL SHOT
      only a screenshot of URL once its statistics are shown

Chromium runs as /usr/bin/chromium --headless --no-sandbox --disable-gpu
--disable-background-networking with a temporary --user-data-dir, and is
always stopped. Prints ok/FAIL lines; exit status 1 on any failure.
"""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
failures = 0


def ok(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what, flush=True)
    if not cond:
        failures += 1
    return cond


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames,
    masked from the client, fragmented or not from the server."""

    def __init__(self, url):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))),
                                             timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\n"
                           f"Host: {m.group(1)}:{m.group(2)}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise OSError("the DevTools socket closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError("DevTools refused the WebSocket: " + head.decode())
        self.next_id = 0
        self.events = []

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise OSError("the DevTools socket closed")
            buf += chunk
        return buf

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self):
        parts = []
        while True:
            b1, b2 = self._exact(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b1 & 0x0F
            if opcode == 0x8:
                raise OSError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):
                continue
            parts.append(payload)
            if b1 & 0x80:
                return b"".join(parts).decode()

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)


class Browser:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ladder-chromium.")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run",
             "--user-data-dir=" + self.dir, "--remote-debugging-port=0",
             "--window-size=1280,1100", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if not port:
            self.close()
            raise OSError("chromium did not start its DevTools server")
        # Keep draining stderr so chromium never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr],
                         daemon=True).start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                    timeout=30) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.ws.call("Page.enable")
        # Watch what the page loads and what the browser reports: requests
        # and answers (Network), console and security messages (Log,
        # Runtime), and every CSP violation the page sees, recorded before
        # any script of the page runs.
        self.ws.call("Network.enable")
        self.ws.call("Log.enable")
        self.ws.call("Runtime.enable")
        self.ws.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation', (e) =>"
            " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI +"
            " ' ' + e.sourceFile + ':' + e.lineNumber));"))
        self.ws.call("Emulation.setDeviceMetricsOverride", width=1280,
                     height=1100, deviceScaleFactor=1, mobile=False)

    def eval(self, expr):
        r = self.ws.call("Runtime.evaluate", expression=expr,
                         returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                v = self.eval(expr)
            except RuntimeError:  # the page is still loading
                v = None
            if v:
                return v
            time.sleep(0.2)
        return None

    def goto(self, url):
        self.ws.call("Page.navigate", url=url)

    def events(self, method):
        self.ws.call("Runtime.evaluate", expression="1")  # drain pending
        return [e["params"] for e in self.ws.events if e["method"] == method]

    def screenshot(self, path):
        height = self.eval("document.documentElement.scrollHeight") or 1100
        self.ws.call("Emulation.setDeviceMetricsOverride", width=1280,
                     height=min(int(height), 2400), deviceScaleFactor=1,
                     mobile=False)
        time.sleep(0.3)
        png = base64.b64decode(self.ws.call("Page.captureScreenshot",
                                            format="png")["data"])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def close(self):
        try:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def stats(base):
    req = urllib.request.Request(base + "/v1/stats",
                                 headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


TOKEN = ""
CSP = "default-src 'self'; frame-ancestors 'none'"


def sign_in(b, token):
    b.eval("document.getElementById('signin-token').value = "
           f"{json.dumps(token)};"
           "document.getElementById('signin-form').requestSubmit(); 1")


def session_cookie(b, base):
    cookies = b.ws.call("Network.getCookies", urls=[base + "/"])["cookies"]
    return next((c for c in cookies if c["name"] == "ladder_session"), None)


def signs_in(b, base, token):
    """The page asks for the token, refuses a wrong one, takes the right
    one and keeps an HttpOnly, SameSite=Strict cookie."""
    if not ok(b.wait("document.body && document.body.dataset.signin === '1'",
                     30), "the page asks for the token (sign-in form shown)"):
        return False
    ok(not b.eval("document.body.dataset.loaded")
       and b.eval("document.getElementById('main').hidden"),
       "nothing of the register is shown before signing in")
    sign_in(b, "wrong-" + token)
    ok(b.wait("document.getElementById('signin-error').textContent"
              ".includes('not signed in')", 15)
       and b.eval("document.body.dataset.signin === '1'"),
       "a wrong token is refused and the form stays")
    ok(session_cookie(b, base) is None, "no cookie after a wrong token")
    sign_in(b, token)
    ok(b.wait("document.body && document.body.dataset.loaded === '1'", 30),
       "signed in with the token: the dashboard shows the statistics")
    c = session_cookie(b, base)
    ok(c is not None and c["httpOnly"] and c.get("sameSite") == "Strict"
       and c["path"] == "/" and token not in c["value"],
       "the session cookie is HttpOnly, SameSite=Strict, Path=/ and not the "
       f"token ({c and {k: c[k] for k in ('httpOnly', 'sameSite', 'path')}})")
    ok("ladder_session" not in b.eval("document.cookie"),
       "scripts cannot read the session cookie")
    ok(b.eval("document.getElementById('signin-token').value") == "",
       "the token is cleared from the form")
    return True


def signs_out(b, base):
    b.eval("document.getElementById('signout').click(); 1")
    ok(b.wait("document.body.dataset.signin === '1'", 15),
       "sign-out shows the sign-in form again")
    ok(session_cookie(b, base) is None, "sign-out removed the session cookie")
    st = b.eval("fetch('/v1/stats').then((r) => r.status)")
    ok(st == 401, f"after sign-out the API answers the page 401 ({st})")


def policy_held(b, base, token):
    """Nothing blocked by the CSP, the CSP on every answer, the token in no
    URL."""
    seen = b.eval("window.__csp") or []
    logged = [e["entry"]["text"] for e in b.events("Log.entryAdded")
              if "Content Security Policy" in e["entry"].get("text", "")]
    logged += [json.dumps(e["args"]) for e in
               b.events("Runtime.consoleAPICalled")
               if "Content Security Policy" in json.dumps(e["args"])]
    ok(not seen and not logged,
       f"the Content-Security-Policy blocked nothing (violations {seen}, "
       f"console {logged})")
    answers = [e["response"] for e in b.events("Network.responseReceived")
               if e["response"]["url"].startswith(base)]
    lacking = [a["url"] for a in answers
               if {k.lower(): v for k, v in a["headers"].items()}
               .get("content-security-policy") != CSP]
    ok(answers and not lacking,
       f"all {len(answers)} answers the page got carry the CSP"
       + (f"; not {lacking}" if lacking else ""))
    urls = [e["request"]["url"] for e in b.events("Network.requestWillBeSent")]
    urls += [e["url"] for e in
             b.ws.call("Page.getNavigationHistory")["entries"]]
    leaks = [u for u in urls if token in u or "token=" in u]
    ok(urls and not leaks, f"none of the {len(urls)} URLs loaded or in the "
       f"history holds the token ({leaks})")
    loaded = {u.split("?")[0] for u in urls}
    ok({base + "/dashboard.js", base + "/dashboard.css",
        base + "/v1/notices/stream"} <= loaded,
       "the page loaded its script, its style and the notice stream")


DOM_STATE = """(() => {
  const active = {};
  for (const t of ["INNOVATIVE", "SPECIALIZED", "LITTLE_GIANT"])
    active[t] = Number(document.getElementById("active-" + t).dataset.value);
  const units = {};
  for (const g of document.querySelectorAll("#units-chart g.unit-bar"))
    units[g.dataset.unit] = Number(g.dataset.active);
  const batches = [];
  for (const tr of document.querySelectorAll("#batches-body tr[data-batch]")) {
    const b = {batch: Number(tr.dataset.batch)};
    for (const td of tr.querySelectorAll("td[data-outcome]"))
      b[td.dataset.outcome] = Number(td.textContent.replace(/,/g, ""));
    batches.push(b);
  }
  return {active, units, batches};
})()"""


def compare(b, base, what):
    s = stats(base)
    dom = b.eval(DOM_STATE)
    ok(dom["active"] == s["national"]["active"],
       f"{what}: the three totals equal /v1/stats ({dom['active']})")
    want_units = {u["code"]: sum(u["active"].values()) for u in s["units"]}
    ok(dom["units"] == want_units,
       f"{what}: the chart has all {len(want_units)} units with /v1/stats' "
       "totals")
    ok(dom["batches"] == s["little_giant_batches"],
       f"{what}: the batch table equals /v1/stats ({dom['batches']})")
    return s


def check(base, shot, token, feed_cmd, cancelled, search):
    b = Browser()
    try:
        b.goto(base + "/")
        if not signs_in(b, base, token):
            policy_held(b, base, token)
            return
        s = compare(b, base, "on load")
        ok(b.wait("document.getElementById('feed-status').textContent === "
                  "'live'", 30), "the notice feed is live (EventSource open "
           "with the session cookie)")
        before = b.eval("document.querySelectorAll('#notice-feed li').length")
        ok(before >= 1, f"the feed shows the recent notices ({before})")
        t0 = time.time()
        subprocess.run(feed_cmd, check=True, stdout=subprocess.DEVNULL)
        sel = (f"#notice-feed li[data-uscc='{cancelled}']"
               "[data-decision='CANCELLED']")
        got = b.wait(f"!!document.querySelector(\"{sel}\")", 30)
        ok(got, f"the revocation produced during the test appears in the "
           f"feed ({time.time() - t0:.1f} s after it was fed)")
        inn = s["national"]["active"]["INNOVATIVE"] - 1
        ok(b.wait("Number(document.getElementById('active-INNOVATIVE')"
                  f".dataset.value) === {inn}", 30),
           f"the innovative total follows the revocation ({inn})")
        compare(b, base, "after the revocation")
        b.eval(f"document.getElementById('uscc-input').value = '{search}';"
               "document.getElementById('uscc-search').requestSubmit(); 1")
        ok(b.wait("document.getElementById('uscc-result').textContent"
                  ".includes('LITTLE_GIANT')", 15),
           "the USCC search shows the enterprise's designations")
        n = b.screenshot(shot)
        ok(n > 10000, f"screenshot saved: {shot} ({n} bytes)")
        before_reload = b.eval("window.__csp") or []
        ok(not before_reload, "no CSP violation before the reload "
           f"({before_reload})")
        b.ws.call("Page.reload")
        time.sleep(0.5)
        ok(b.wait("document.body && document.body.dataset.loaded === '1' && "
                  "!document.body.dataset.signin", 30),
           "after a reload the page is still signed in (the cookie)")
        signs_out(b, base)
        policy_held(b, base, token)
    finally:
        b.close()


def shot_only(url, shot):
    b = Browser()
    try:
        b.goto(url)
        ok(b.wait("document.body && document.body.dataset.loaded === '1'", 60),
           "the dashboard shows the statistics")
        b.wait("document.querySelectorAll('#notice-feed li').length > 0", 10)
        n = b.screenshot(shot)
        ok(n > 10000, f"screenshot saved: {shot} ({n} bytes)")
    finally:
        b.close()


def main():
    global TOKEN
    if sys.argv[1] == "check":
        base, shot, TOKEN = sys.argv[2], sys.argv[3], sys.argv[4]
        rest = sys.argv[5:]
        cut = rest.index("--")
        check(base, shot, TOKEN, rest[:cut], rest[cut + 1], rest[cut + 2])
    elif sys.argv[1] == "shot":
        shot_only(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
