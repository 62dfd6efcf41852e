#!/usr/bin/python3
"""test_api_abuse -- the attackers and the probes of test_api_abuse.sh.

  test_api_abuse.py probe PORT TOKEN SECONDS OUT
      from 127.0.0.1, every 0.25 s, GET /livez and an authenticated
      GET /v1/stats on a new connection each; writes one JSON line per
      probe (path, status, seconds) to OUT
  test_api_abuse.py attack PORT TOKEN SECONDS OUT
      runs every attack at once for SECONDS and writes what each saw to
      OUT (JSON):
        slowloris  127.0.0.2, 300 sockets, one header line every 3 s,
                   never a whole request; reconnects what is closed
        streams    127.0.0.3, 300 notice streams (with the token);
                   reopens what is refused after a second
        replay     127.0.0.4, notice streams resumed at Last-Event-ID 0-0-0
        notices    127.0.0.5, GET /v1/notices with a huge and the largest
                   limit, over and over
        body       127.0.0.6, a GET with a 10 GB body sent as fast as the
                   server reads it
  test_api_abuse.py seed N P
      prints, as redis-cli --pipe input, N notices for the notices stream
      of partition P (key from tests/support/store_keys.py)
  test_api_abuse.py check PROBES SUMMARY REPLAY_MAX STREAMS_PER_IP
      exits 1, saying why, when a probe missed its second or an attack
      was not held to its limit
"""
import json
import selectors
import socket
import sys
import threading
import time

SLOW_SOCKETS = 300
STREAM_SOCKETS = 300


def connect_from(src, port, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def request(path, token=None, extra="", version="1.1"):
    auth = "Authorization: Bearer %s\r\n" % token if token else ""
    return ("GET %s HTTP/%s\r\nHost: ladder\r\n%s%s\r\n"
            % (path, version, auth, extra)).encode()


# ---- probes -------------------------------------------------------------------


def probe_once(port, path, token):
    t0 = time.monotonic()
    status = 0
    try:
        s = connect_from("127.0.0.1", port, timeout=1.0)
        s.sendall(request(path, token, "Connection: close\r\n"))
        data = b""
        while True:
            left = 1.0 - (time.monotonic() - t0)
            if left <= 0:
                break
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        if data.startswith(b"HTTP/1.1 ") or data.startswith(b"HTTP/1.0 "):
            status = int(data[9:12])
    except OSError:
        pass
    return status, time.monotonic() - t0


def probe(port, token, seconds, out):
    end = time.monotonic() + seconds
    with open(out, "w") as f:
        while time.monotonic() < end:
            for path, tok in (("/livez", None), ("/v1/stats", token)):
                status, took = probe_once(port, path, tok)
                f.write(json.dumps({"t": round(seconds - (end - time.monotonic()), 2),
                                    "path": path, "status": status,
                                    "seconds": round(took, 4)}) + "\n")
                f.flush()
            time.sleep(0.25)


# ---- attackers ---------------------------------------------------------------


def slowloris(port, seconds, res):
    """Keeps SLOW_SOCKETS connections that never finish their headers."""
    sel = selectors.DefaultSelector()
    socks = [None] * SLOW_SOCKETS
    retry_at = [0.0] * SLOW_SOCKETS
    res.update(connected=0, closed_by_server=0, max_open=0)
    end = time.monotonic() + seconds
    next_line = time.monotonic() + 3
    while time.monotonic() < end:
        now = time.monotonic()
        for i in range(SLOW_SOCKETS):
            if socks[i] is None and now >= retry_at[i]:
                try:
                    s = connect_from("127.0.0.2", port, timeout=0.2)
                    s.sendall(b"GET /v1/stats HTTP/1.1\r\n")
                    s.setblocking(False)
                    socks[i] = s
                    sel.register(s, selectors.EVENT_READ, i)
                    res["connected"] += 1
                except OSError:
                    retry_at[i] = now + 1
        if now >= next_line:
            next_line = now + 3
            for s in socks:
                if s is not None:
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            try:
                gone = not socks[i].recv(4096)
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                sel.unregister(socks[i])
                socks[i].close()
                socks[i] = None
                retry_at[i] = time.monotonic() + 1
                res["closed_by_server"] += 1
        res["max_open"] = max(res["max_open"], sum(s is not None for s in socks))
    for s in socks:
        if s is not None:
            s.close()


def streams(port, token, seconds, res):
    """Opens STREAM_SOCKETS notice streams and holds what it gets."""
    sel = selectors.DefaultSelector()
    socks = [None] * STREAM_SOCKETS
    state = [""] * STREAM_SOCKETS  # "" closed, "wait" asked, "open" streaming
    head = [b""] * STREAM_SOCKETS
    retry_at = [0.0] * STREAM_SOCKETS
    res.update(opened=0, refused_503=0, retry_after=0, other=0, max_open=0)
    end = time.monotonic() + seconds

    def drop(i, pause):
        sel.unregister(socks[i])
        socks[i].close()
        socks[i], state[i], head[i] = None, "", b""
        retry_at[i] = time.monotonic() + pause

    while time.monotonic() < end:
        now = time.monotonic()
        for i in range(STREAM_SOCKETS):
            if socks[i] is None and now >= retry_at[i]:
                try:
                    s = connect_from("127.0.0.3", port, timeout=0.2)
                    s.sendall(request("/v1/notices/stream", token))
                    s.setblocking(False)
                    socks[i], state[i] = s, "wait"
                    sel.register(s, selectors.EVENT_READ, i)
                except OSError:
                    retry_at[i] = now + 1
        for key, _ in sel.select(timeout=0.1):
            i = key.data
            try:
                chunk = socks[i].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                drop(i, 1)
                continue
            if state[i] == "wait":
                head[i] += chunk
                if b"\r\n\r\n" not in head[i]:
                    continue
                status = head[i][9:12]
                if status == b"200":
                    state[i] = "open"
                    res["opened"] += 1
                    continue
                if status == b"503":
                    res["refused_503"] += 1
                    res["retry_after"] += b"\r\nRetry-After:" in head[i]
                else:
                    res["other"] += 1
                drop(i, 1)
        res["max_open"] = max(res["max_open"], state.count("open"))
    for s in socks:
        if s is not None:
            s.close()


def replay(port, token, res):
    """Resumes streams at Last-Event-ID 0-0-0: everything of partition 0."""
    res.update(events=[], left_out_comment=0)
    for _ in range(3):
        s = connect_from("127.0.0.4", port, timeout=3.0)
        # HTTP/1.0: no chunks in the way of counting the events
        s.sendall(request("/v1/notices/stream", token, "Last-Event-ID: 0-0-0\r\n",
                          version="1.0"))
        data = b""
        end = time.monotonic() + 3
        try:
            while time.monotonic() < end and b": keep-alive" not in data:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        s.close()
        res["events"].append(data.count(b"\nid: ") + data.startswith(b"id: "))
        res["left_out_comment"] += b"notices of partition 0 were missed" in data
        time.sleep(0.5)


def notices(port, token, seconds, res):
    """Asks for the largest lists there are, over and over."""
    res.update(asked=0, statuses={}, max_count=0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for limit in ("1000000000", "10000"):
            try:
                s = connect_from("127.0.0.5", port, timeout=10)
                s.sendall(request("/v1/notices?limit=" + limit, token,
                                  "Connection: close\r\n"))
                data = b""
                while True:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    data += chunk
                s.close()
            except OSError:
                continue
            status = data[9:12].decode(errors="replace")
            res["asked"] += 1
            res["statuses"][status] = res["statuses"].get(status, 0) + 1
            if status == "200":
                body = json.loads(data.split(b"\r\n\r\n", 1)[1])
                res["max_count"] = max(res["max_count"], body["count"])


def body(port, res):
    """A GET whose body never ends."""
    res.update(tries=[])
    chunk = b"x" * 65536
    for _ in range(3):
        s = connect_from("127.0.0.6", port)
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: ladder\r\n"
                  b"Content-Length: 10000000000\r\n\r\n")
        sent, closed = 0, False
        end = time.monotonic() + 5
        s.settimeout(0.5)
        while time.monotonic() < end:
            try:
                sent += s.send(chunk)
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        s.close()
        res["tries"].append({"sent": sent, "closed_by_server": closed})


def attack(port, token, seconds, out):
    res = {k: {} for k in ("slowloris", "streams", "replay", "notices", "body")}
    jobs = [
        threading.Thread(target=slowloris, args=(port, seconds, res["slowloris"])),
        threading.Thread(target=streams, args=(port, token, seconds, res["streams"])),
        threading.Thread(target=lambda: (time.sleep(2), replay(port, token, res["replay"]))),
        threading.Thread(target=lambda: (time.sleep(4),
                                         notices(port, token, seconds / 2, res["notices"]))),
        threading.Thread(target=lambda: (time.sleep(6), body(port, res["body"]))),
    ]
    for j in jobs:
        j.start()
    for j in jobs:
        j.join()
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


# ---- the verdict -------------------------------------------------------------


def check(probes_file, summary_file, replay_max, streams_per_ip):
    probes = [json.loads(line) for line in open(probes_file)]
    res = json.load(open(summary_file))
    bad = []
    missed = [p for p in probes if p["status"] != 200 or p["seconds"] > 1.0]
    worst = max((p["seconds"] for p in probes), default=0)
    print("# %d probes, slowest %.3f s" % (len(probes), worst))
    for p in missed[:10]:
        bad.append("probe %s at %.2f s: status %d after %.3f s"
                   % (p["path"], p["t"], p["status"], p["seconds"]))
    if len(missed) > 10:
        bad.append("... and %d more probes missed" % (len(missed) - 10))
    if len(probes) < 20:
        bad.append("only %d probes ran" % len(probes))
    print("# attacks saw: " + json.dumps(res))
    sl, st, rp, nt, bd = (res[k] for k in ("slowloris", "streams", "replay",
                                              "notices", "body"))
    if sl.get("closed_by_server", 0) < SLOW_SOCKETS:
        bad.append("slowloris: the server closed only %d of its connections"
                   % sl.get("closed_by_server", 0))
    if st.get("max_open", 0) > streams_per_ip:
        bad.append("streams: %d streams were open at once from one address "
                   "(the cap is %d)" % (st["max_open"], streams_per_ip))
    if not st.get("refused_503") or st.get("retry_after") != st.get("refused_503"):
        bad.append("streams: refusals %s, with Retry-After %s"
                   % (st.get("refused_503"), st.get("retry_after")))
    if not rp.get("events") or max(rp["events"]) > replay_max:
        bad.append("replay: a resumed stream sent %s events (the cap is %d)"
                   % (rp.get("events"), replay_max))
    if rp.get("left_out_comment", 0) < len(rp.get("events", [])):
        bad.append("replay: no comment said that notices were left out")
    if not nt.get("statuses", {}).get("400") or not nt.get("statuses", {}).get("200"):
        bad.append("notices: answers %s" % nt.get("statuses"))
    if nt.get("max_count", 0) > 10000:
        bad.append("notices: an answer held %d notices" % nt["max_count"])
    for t in bd.get("tries", []):
        if not t["closed_by_server"]:
            bad.append("body: %d bytes of a GET body were read and the "
                       "connection was still open" % t["sent"])
    if not bd.get("tries"):
        bad.append("body: no attempt ran")
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


def resp(*args):
    out = "*%d\r\n" % len(args)
    for a in args:
        a = str(a)
        out += "$%d\r\n%s\r\n" % (len(a.encode()), a)
    return out


def seed(n, p):
    sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/tests/support")
    import store_keys
    key = store_keys.notices(p)
    out = sys.stdout
    for i in range(n):
        # Entry ids follow the log: the decision of offset o sits at o+1.
        o = i + 1
        d = {"decision_id": "%d-%d-0" % (p, o), "uscc": "91110000MA00000000",
             "decision": "REVOKED", "tier": "SPECIALIZED",
             "effective_at": "2024-01-%02dT00:00:00.000Z" % (1 + i % 28),
             "reasons": ["NO_REVIEW_SUBMITTED"], "padding": "x" * 300}
        out.write(resp("XADD", key, "%d-0" % (o + 1), "decision",
                       json.dumps(d, separators=(",", ":"))))


def main():
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "probe":
        probe(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5])
    elif cmd == "attack":
        attack(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5])
    elif cmd == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    else:
        sys.exit("usage: see the top of this file")


if __name__ == "__main__":
    main()
