#!/usr/bin/python3
"""A webhook receiver for ladder-notify's tests and benchmark (standard library only).

  test_notify_receiver.py --port-file FILE | --port N  --log FILE
                          [--bodies] [--route PATH=MODE:SECRET]...

Serves POST /PATH with HTTP/1.1 keep-alive, one thread per connection, and
appends one JSON line per request to --log at its arrival, before answering:
  {"path", "id", "type", "arrival_ms", "latency_ms", "sig_ok", "sig_v1",
   "sig_v2_ok", "timestamp", "status", "body_sha256", "attempt"} (and
   "body", the text, with --bodies)
latency_ms = arrival - the CloudEvent's data.decided_at (the bench sets it to
the message's Kafka create time). "attempt" counts the requests for that id
on that path. sig_v2_ok is what verify() (the receiver example of
docs/NOTIFY.md, copied below verbatim; test_notify.sh checks the copy)
says of X-Ladder-Timestamp and X-Ladder-Signature-V2: signed with SECRET
and within 5 minutes of this clock. "timestamp" is X-Ladder-Timestamp as
a number (null when absent or not one). sig_v1 says whether the old
X-Ladder-Signature header was there, sig_ok whether it is sha256=<hex of
HMAC-SHA256(SECRET, body)> (false when absent). "status" is what the
route answered: a number,
or "closed" / "timeout" for the two failures without an answer.

Modes:
  ok         200
  fail       500, always
  flaky:S    for ids whose number (the digits after the last '-') is 1 mod 4:
             attempt 1 closes the connection in the middle of the answer, attempt 2
             answers only after S seconds (beyond notify.timeout.ms), attempt
             3 answers 500, later attempts 200; other ids 200
  gate:FILE  503 while FILE exists, else 200
"""
import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
attempts = {}
routes = {}
log = None
keep_bodies = False

# ---- the receiver example of docs/NOTIFY.md, verbatim -------------------
import hashlib
import hmac
import time

TOLERANCE_S = 300  # 5 minutes, either way


def verify(secret: bytes, body: bytes, timestamp: str, signature: str) -> bool:
    """Whether a request is fresh and signed with secret. body is the raw
    request body, timestamp the X-Ladder-Timestamp header and signature the
    X-Ladder-Signature-V2 header ("" when one is missing)."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_S:
        return False
    signed = timestamp.encode() + b"." + body
    want = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, signature)
# ---- end of the example ------------------------------------------------


def decided_ms(ev):
    try:
        s = ev["data"]["decided_at"].rstrip("Z")
        t = dt.datetime.fromisoformat(s).replace(tzinfo=dt.timezone.utc)
        return int(t.timestamp() * 1000)
    except Exception:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        now = int(time.time() * 1000)
        path = self.path.lstrip("/")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        mode, secret = routes.get(path, ("missing", ""))
        sig = self.headers.get("X-Ladder-Signature")
        ts = self.headers.get("X-Ladder-Timestamp", "")
        sig_v2_ok = verify(secret.encode(), body, ts,
                           self.headers.get("X-Ladder-Signature-V2", ""))
        want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        try:
            ev = json.loads(body)
        except ValueError:
            ev = {}
        eid = ev.get("id", "")
        with lock:
            n = attempts.get((path, eid), 0) + 1
            attempts[(path, eid)] = n
        status = 200
        if mode == "missing":
            status = 404
        elif mode == "fail":
            status = 500
        elif mode.startswith("gate:"):
            status = 503 if os.path.exists(mode[5:]) else 200
        elif mode.startswith("flaky:"):
            digits = eid.rsplit("-", 1)[-1]
            if digits.isdigit() and int(digits) % 4 == 1:
                status = {1: "closed", 2: "timeout", 3: 500}.get(n, 200)
        d = decided_ms(ev)
        rec = {"path": path, "id": eid, "type": ev.get("type"), "arrival_ms": now,
               "latency_ms": now - d if d is not None else None,
               "sig_ok": sig is not None and hmac.compare_digest(sig, want),
               "sig_v1": sig is not None, "sig_v2_ok": sig_v2_ok,
               "timestamp": int(ts) if ts.isascii() and ts.isdigit() else None,
               "content_type": self.headers.get("Content-Type"),
               "status": status, "attempt": n,
               "body_sha256": hashlib.sha256(body).hexdigest()}
        if keep_bodies:
            rec["body"] = body.decode("utf-8", "replace")
        with lock:
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if status == "closed":
            # The connection closes in the middle of the answer: the
            # client must count a failure. (With no byte at all, libcurl
            # would quietly resend on a fresh connection when it had reused
            # this one.)
            self.close_connection = True
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if status == "timeout":
            time.sleep(float(mode[6:]))
            status = 200
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            self.close_connection = True


def main():
    global log, keep_bodies
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--route", action="append", default=[])
    ap.add_argument("--bodies", action="store_true")
    a = ap.parse_args()
    keep_bodies = a.bodies
    for r in a.route:
        path, rest = r.split("=", 1)
        mode, secret = rest.rsplit(":", 1)
        routes[path] = (mode, secret)
    log = open(a.log, "a")
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
