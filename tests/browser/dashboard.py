#!/usr/bin/python3
"""Drives headless Chromium over the DevTools protocol against ladder-api's
dashboard (standard library only: a minimal WebSocket client is below).

  dashboard.py check BASE SHOT FEED_CMD... -- USCC_CANCELLED USCC_SEARCH
      loads BASE/, checks that the totals, the units chart and the batches
      equal /v1/stats, that the feed goes live, runs FEED_CMD (which makes a
      revocation of USCC_CANCELLED) and checks that the notice appears in
      the feed within 30 s and the totals follow, searches USCC_SEARCH, and
      saves a screenshot to SHOT
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
    with urllib.request.urlopen(base + "/v1/stats", timeout=10) as r:
        return json.load(r)


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


def check(base, shot, feed_cmd, cancelled, search):
    b = Browser()
    try:
        b.goto(base + "/")
        ok(b.wait("document.body && document.body.dataset.loaded === '1'", 30),
           "the dashboard loads and shows the statistics")
        s = compare(b, base, "on load")
        ok(b.wait("document.getElementById('feed-status').textContent === "
                  "'live'", 30), "the notice feed is live (EventSource open)")
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
    if sys.argv[1] == "check":
        base, shot = sys.argv[2], sys.argv[3]
        rest = sys.argv[4:]
        cut = rest.index("--")
        check(base, shot, rest[:cut], rest[cut + 1], rest[cut + 2])
    elif sys.argv[1] == "shot":
        shot_only(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
