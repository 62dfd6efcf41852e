#!/usr/bin/python3
"""faults.py -- the fault suite: DESIGN.md's guarantees under faults.

Usage: faults.py SCENARIO [--seed N] [--ref DIR]

SCENARIO is `reference` (the one clean run every scenario compares with,
written into DIR) or one of the scenarios below. Each scenario runs in its
own private stack (tests/support/with-stack: redis-server with the
project's AOF config and ladder-kafka), produces the SAME log (ladder-feed
of one ladder-gen file, so the same partitioning and the same offsets),
injects its faults while the workers decide it, and then checks:

  - the decisions, read from the decisions topic while the stream runs
    (ladder-decisions) and deduplicated by decision_id, are those of the
    reference in every field but decided_at, in the same order per
    enterprise; copies of one id are identical;
  - the final Redis state is the reference's: enterprise states (timers included),
    clock, next offsets, counters, notices (entry ids included) and the
    partition count; owner epochs and the (empty) outbox are left out;
  - nothing was lost: no "messages are gone" or offset-out-of-range in any
    worker's log, ladder_worker_lost_messages_total 0 on every worker
    still running, and the reader saw every offset;
  - the scenario's own evidence that its fault happened and was handled;
  - the duplicates are bounded: a worker publishes a batch (at most
    STEP_MAX messages of one partition) before it commits it, and has up
    to IN_FLIGHT on their way per partition, so each fault, and each batch
    the owner epoch refused, can make a partition's messages be decided and
    published again at most IN_FLIGHT batches' worth, and a rewound Redis
    what it rewound. The messages whose decisions were published twice, per
    partition, must stay within (fault events + refused batches) x
    IN_FLIGHT x STEP_MAX + the messages the workers logged as rewound.

Scenarios: kill (SIGKILL the worker at 5 random points), redis-kill
(SIGKILL redis-server, lose the AOF's last second, restart), redis-pause
(Redis frozen and then down), kafka (broker down, latency, produce and
fetch errors), workers (3 workers: SIGTERM one, SIGKILL one, add one),
zombie (a worker frozen between deciding and storing until its partitions
move, then resumed), poison (2% poison messages of every dead-letter code).
On a Redis Cluster (tests/support/with-cluster, 3 masters and 3 replicas,
the same reference): cluster-master-kill (SIGKILL of a master, its replica
promoted), cluster-reshard (live slot moves of 3 partitions), cluster-freeze
(a master frozen 6 s, past the worker's 5 s Redis timeout; the partitions
on the other masters must keep deciding throughout). See
docs/REDIS-CLUSTER.md, "Faults on the cluster".

Random choices come from one seed, printed at the start: give it back with
--seed N or LADDERTEST_SEED=N. LADDERTEST_LONG=1 runs everything at ten
times the size (500,000 events instead of 50,000). Figures of each run go
to DIR/results/SCENARIO.json. Exit status 0 when every check passed.
"""
import bisect
import gzip
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

SRC = os.environ.get("LADDERTEST_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("LADDERTEST_BIN") or os.path.join(SRC, "build", "bin")
TESTS_BIN = os.path.join(os.path.dirname(BIN), "tests")
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
import store_keys  # noqa: E402 (the store's key layout, owned by store.c)
import notice  # noqa: E402 (the notices' compact form, owned by decision.c)
LONG = os.environ.get("LADDERTEST_LONG") == "1"
# ladder-gen --scale 0.041 writes a little over 50,000 events (plus a tick
# per partition for each tick row); --long ten times that.
SCALE = 0.41 if LONG else 0.041
GEN_SEED = 20240601
# The embedded cluster keeps about 5 MiB per partition (PITFALLS.md), and
# the whole log is produced before the workers start: enough partitions
# that input and decisions fit.
PARTITIONS = 64 if LONG else 16
STALL_S = 60  # no progress for this long is a failure
# The most messages of one partition in one batch (WK_STEP_MAX,
# services/worker/worker_int.h): what one fault can make a partition's
# owner decide and publish again.
STEP_MAX = 256
# The batches of one partition on their way at once (WK_INFLIGHT, same
# file): a fault costs a partition what it had in flight.
IN_FLIGHT = 2

SCENARIOS = ("kill", "redis-kill", "redis-pause", "kafka", "workers",
             "zombie", "poison", "cluster-master-kill", "cluster-reshard",
             "cluster-freeze")


class Failure(Exception):
    pass


class ReplyError(Failure):
    """An error reply from Redis (-MOVED, -ASK, -TRYAGAIN, ...)."""


def say(msg):
    print(msg, flush=True)


# ---- Redis (a minimal RESP client: binary-safe, standard library only) --

class Redis:
    def __init__(self, port):
        self.port = port
        self.sock = None

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), 5)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(max(65536, n))
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+",):
            return rest
        if t == b"-":
            raise ReplyError("redis: " + rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise Failure("redis: unexpected reply %r" % line)

    def __call__(self, *args):
        if not self.sock:
            self._connect()
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        try:
            self.sock.sendall(b"".join(out))
            return self._reply()
        except (OSError, ConnectionError):
            self.close()
            raise


# ---- Redis Cluster (the same client, routed by slot) ------------------------

def _crc16(data):
    """CRC16-XMODEM, the cluster spec's key hash."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def key_slot(key):
    k = key if isinstance(key, bytes) else key.encode()
    i = k.find(b"{")
    if i >= 0:
        j = k.find(b"}", i + 1)
        if j > i + 1:
            k = k[i + 1:j]
    return _crc16(k) % 16384


class ClusterRedis:
    """Redis(port) for a Redis Cluster: each command goes to the master of
    its key's slot (the second argument), following MOVED and ASK and
    waiting out TRYAGAIN, CLUSTERDOWN and a lost node (a failover) for up
    to `patience` seconds. KEYS asks every master and joins the answers.
    The slot map is CLUSTER SLOTS from any node that answers."""

    def __init__(self, ports, patience=60):
        self.seeds = list(ports)
        self.conns = {}
        self.slots = None
        self.patience = patience

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns = {}
        self.slots = None

    def conn(self, port):
        if port not in self.conns:
            self.conns[port] = Redis(port)
        return self.conns[port]

    def refresh(self):
        for port in list(self.seeds):
            try:
                reply = self.conn(port)("CLUSTER", "SLOTS")
            except (OSError, ConnectionError, Failure):
                self.conns.pop(port, None)
                continue
            slots = [None] * 16384
            for r in reply:
                for s in range(r[0], r[1] + 1):
                    slots[s] = int(r[2][1])
            self.slots = slots
            return
        raise ConnectionError("no cluster node answers CLUSTER SLOTS")

    def masters(self):
        if not self.slots:
            self.refresh()
        return sorted(set(p for p in self.slots if p is not None))

    def master_of(self, key):
        if not self.slots:
            self.refresh()
        return self.slots[key_slot(key)]

    def __call__(self, *args):
        end = time.monotonic() + self.patience
        while True:
            try:
                if args[0].upper() == "KEYS":
                    out = []
                    for port in self.masters():
                        out += self.conn(port)(*args)
                    return out
                port = self.master_of(args[1])
                if port is None:
                    raise ReplyError("redis: CLUSTERDOWN slot not served")
                return self.conn(port)(*args)
            except ReplyError as e:
                msg = str(e)[len("redis: "):]
                if msg.startswith("ASK "):
                    port = int(msg.split()[2].rsplit(":", 1)[1])
                    c = self.conn(port)
                    c("ASKING")
                    try:
                        return c(*args)
                    except ReplyError as e2:
                        msg = str(e2)[len("redis: "):]
                if not msg.startswith(("MOVED ", "TRYAGAIN", "CLUSTERDOWN",
                                       "ASK ", "LOADING", "MASTERDOWN")):
                    raise
                self.slots = None
            except (OSError, ConnectionError):
                self.slots = None
                for c in self.conns.values():
                    c.close()
                self.conns = {}
            if time.monotonic() > end:
                raise Failure("the cluster did not answer %s %s for %d s" % (
                    args[0], args[1] if len(args) > 1 else "",
                    self.patience))
            time.sleep(0.05)
            try:
                self.refresh()
            except ConnectionError:
                pass


def stored(r, parts):
    """(the sum of the stored next offsets, outbox entries left)."""
    n = o = 0
    for p in range(parts):
        v = r("HGET", store_keys.meta(p), "next_offset")
        n += int(v) if v else 0
        o += r("XLEN", store_keys.outbox(p))
    return n, o


def _digest(data):
    return hashlib.md5(data if isinstance(data, bytes) else
                       data.encode()).hexdigest()[:16]


def dump_state(r, parts, ent_fix=None, notice_fix=None):
    """Everything the store keeps but owner epochs and the outbox, as a
    JSON-able dict. Large values are kept as digests, so that the 500,000
    event runs stay small: each enterprise state (its timers with it) and
    each notice. A timers sorted set is unexpected: the states hold the
    timers, and the store writes none. ent_fix(p, {uscc: hex}) and
    notice_fix(p, id, decision) may rewrite them first."""
    state = {store_keys.PARTITIONS:
             (r("GET", store_keys.PARTITIONS) or b"").decode()}
    for key in r("KEYS", store_keys.PATTERN):
        if key == store_keys.PARTITIONS.encode():
            continue
        m = store_keys.parse(key)
        if not m or m[1] not in store_keys.NAMES or m[1] == "timers":
            state["unexpected key " + key.decode(errors="replace")] = True
    for p in range(parts):
        meta = r("HGETALL", store_keys.meta(p)) or []
        meta = {meta[i].decode(): meta[i + 1].decode()
                for i in range(0, len(meta), 2)
                if meta[i] not in (b"epoch", b"heartbeat")}
        ent = r("HGETALL", store_keys.ent(p)) or []
        ent = {ent[i].decode(): ent[i + 1].hex() for i in range(0, len(ent), 2)}
        if ent_fix and ent:
            ent = ent_fix(p, ent)
        ent = {u: _digest(v) for u, v in ent.items()}
        counters = r("HGETALL", store_keys.counters(p)) or []
        counters = {counters[i].decode(): counters[i + 1].decode()
                    for i in range(0, len(counters), 2)}
        notices = []
        for e in r("XRANGE", store_keys.notices(p), "-", "+") or []:
            nid = e[0].decode()
            f = e[1]
            d = notice.parse(f[1]) if len(f) == 2 and f[0] == b"decision" \
                else {"unexpected fields": [x.decode(errors="replace")
                                            for x in f]}
            if notice_fix:
                nid, d = notice_fix(p, nid, d)
            notices.append([nid, d.get("decision_id"), _digest(json.dumps(
                d, sort_keys=True, ensure_ascii=False))])
        state["p%d" % p] = {"meta": meta, "ent": ent,
                            "counters": counters, "notices": notices}
    return state


def state_differences(a, b, limit=10):
    """Readable differences between two dump_state() results."""
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if not isinstance(a.get(key), dict) or not isinstance(b.get(key), dict):
            out.append("%s: %r vs %r" % (key, a.get(key), b.get(key)))
            continue
        for part in sorted(set(a[key]) | set(b[key])):
            x, y = a[key].get(part), b[key].get(part)
            if x == y:
                continue
            if isinstance(x, dict) and isinstance(y, dict):
                fs = [f for f in sorted(set(x) | set(y)) if x.get(f) != y.get(f)]
                for f in fs[:3]:
                    out.append("%s %s %s: %.80s vs %.80s" % (
                        key, part, f, x.get(f), y.get(f)))
                if len(fs) > 3:
                    out.append("%s %s: %d more differences" % (
                        key, part, len(fs) - 3))
            elif isinstance(x, list) and isinstance(y, list):
                n = min(len(x), len(y))
                i = next((i for i in range(n) if x[i] != y[i]), n)
                out.append("%s %s: %d vs %d entries, first difference at %d: "
                           "%.120s vs %.120s" % (
                               key, part, len(x), len(y), i,
                               x[i] if i < len(x) else None,
                               y[i] if i < len(y) else None))
            else:
                out.append("%s %s: %s vs %s" % (key, part, x, y))
    return out[:limit] + (["... %d more" % (len(out) - limit)]
                          if len(out) > limit else [])


# ---- decisions -------------------------------------------------------------

IGNORED = ("decided_at", "partition", "offset")


def _decisions(path, fix=None):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            for k in IGNORED:
                d.pop(k, None)
            yield fix(d) if fix else d


def load_decisions(path, fix=None, replayed=None):
    """Reads ladder-decisions' output without keeping it: decision_id ->
    a digest of the decision (every field but decided_at and the reader's
    partition and offset), a digest of each enterprise's ids in order, and
    the duplicates by id. Copies of one id must be identical. The reader
    writes each partition in offset order, and an enterprise's decisions
    share a partition, so the first copy of an id is the oldest. With
    `replayed` (a dict), adds to it input partition -> the set of input
    offsets whose decisions were published more than once (a decision id
    is <partition>-<offset>-<n>)."""
    by_id, order, dups = {}, {}, 0
    for d in _decisions(path, fix):
        i = d["decision_id"]
        h = _digest(json.dumps(d, sort_keys=True, ensure_ascii=False))
        if i in by_id:
            dups += 1
            if replayed is not None:
                part, off = i.split("-")[:2]
                replayed.setdefault(int(part), set()).add(int(off))
            if by_id[i] != h:
                raise Failure("decision %s was published twice with different "
                              "contents" % i)
            continue
        by_id[i] = h
        o = order.get(d["uscc"])
        if o is None:
            o = order[d["uscc"]] = hashlib.md5()
        o.update(i.encode() + b"\n")
    return by_id, {u: o.hexdigest()[:16] for u, o in order.items()}, dups


def describe(path, ids, fix=None):
    """The decisions of `ids` in a file, for a failure message."""
    out = {}
    for d in _decisions(path, fix):
        if d["decision_id"] in ids and d["decision_id"] not in out:
            out[d["decision_id"]] = d
    return out


def decision_differences(ref, got, ref_path, got_path, fix=None, limit=10):
    a, oa = ref
    b, ob = got
    out = []
    missing = sorted(a.keys() - b.keys())
    extra = sorted(b.keys() - a.keys())
    diff = [i for i in sorted(a.keys() & b.keys()) if a[i] != b[i]]
    da = describe(ref_path, set(missing[:limit] + diff[:limit]))
    db = describe(got_path, set(extra[:limit] + diff[:limit]), fix)
    for i in missing[:limit]:
        out.append("missing: %s %s %s" % (i, da[i]["decision"], da[i]["uscc"]))
    for i in extra[:limit]:
        out.append("not in the reference: %s %s %s" % (
            i, db[i]["decision"], db[i]["uscc"]))
    for i in diff[:limit]:
        f = [k for k in da[i] if da[i][k] != db[i].get(k)]
        out.append("%s: fields differ: %s" % (i, ", ".join(
            "%s %r vs %r" % (k, da[i][k], db[i].get(k)) for k in f)))
    if len(missing) + len(extra) + len(diff) > limit:
        out.append("%d missing, %d not in the reference, %d differ" % (
            len(missing), len(extra), len(diff)))
    if not out:
        order = [u for u in oa if oa[u] != ob.get(u)]
        for u in order[:limit]:
            out.append("%s: its decisions come in another order" % u)
    return out


# ---- the stack and its processes --------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    """One scenario's processes in one stack; everything it started is
    stopped on exit."""

    def __init__(self, name, ref_dir):
        self.name = name
        self.ref_dir = ref_dir
        self.work = os.environ["LADDERTEST_STACK_DIR"]
        self.redis_port = int(os.environ["LADDERTEST_REDIS_PORT"])
        self.bootstrap = os.environ["LADDERTEST_BOOTSTRAP"]
        self.fifo = os.environ["LADDERTEST_KAFKA_FIFO"]
        ports = os.environ.get("LADDERTEST_CLUSTER_PORTS")
        if ports:  # tests/support/with-cluster: 3 masters, 3 replicas
            self.cluster_ports = [int(x) for x in ports.split()]
            self.cluster_pids = dict(zip(self.cluster_ports, (
                int(x) for x in os.environ["LADDERTEST_REDIS_PIDS"].split())))
            self.r = ClusterRedis(self.cluster_ports)
        else:
            self.redis_pid = int(os.environ["LADDERTEST_REDIS_PID"])
            self.r = Redis(self.redis_port)
        self.procs = []
        self.workers = []
        self.nworkers = 0
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("LADDER_"):
                del self.env[k]
        self.env.update({
            "LADDER_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "LADDER_REDIS_URL": os.environ["LADDERTEST_REDIS_URL"],
            "LADDER_KAFKA_FETCH_WAIT_MAX_MS": "10",
            "LADDER_KAFKA_SESSION_TIMEOUT_MS": "6000",
        })
        self.reader = None
        self.started = time.monotonic()

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.terminate()
                except OSError:
                    pass
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def spawn(self, argv, log, env=None):
        f = open(os.path.join(self.work, log), "wb")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                             env=env or self.env, stdin=subprocess.DEVNULL)
        f.close()
        self.procs.append(p)
        return p

    def produce_log(self, events_csv):
        out = subprocess.run([os.path.join(BIN, "ladder-feed"), events_csv],
                             env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise Failure("ladder-feed: " + (out.stderr or out.stdout)[-500:])
        return self.topic_total("ladder.events.v1")

    def feed_paced(self, events_csv, seconds, chunks):
        """Produces the log as a live stream: the file in `chunks` pieces,
        one ladder-feed after the other (so the same order and offsets as
        one run), spread over `seconds`. Runs in a thread; join() it and
        read .error."""
        with open(events_csv, encoding="utf-8") as f:
            header, rows = f.readline(), f.readlines()
        paths = []
        per = (len(rows) + chunks - 1) // chunks
        for i in range(chunks):
            path = os.path.join(self.work, "chunk%03d.csv" % i)
            with open(path, "w", encoding="utf-8") as f:
                f.write(header)
                f.writelines(rows[i * per:(i + 1) * per])
            paths.append(path)

        def feed():
            t0 = time.monotonic()
            try:
                for i, path in enumerate(paths):
                    delay = t0 + seconds * i / chunks - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    out = subprocess.run([os.path.join(BIN, "ladder-feed"),
                                          path], env=self.env,
                                         capture_output=True, text=True)
                    if out.returncode != 0:
                        raise Failure("ladder-feed %s: %s" % (
                            path, (out.stderr or out.stdout)[-300:]))
            except Exception as e:  # reported by the caller
                thread.error = e

        thread = threading.Thread(target=feed, daemon=True)
        thread.error = None
        thread.start()
        return thread

    def topic_total(self, topic):
        out = subprocess.run([os.path.join(BIN, "ladder-decisions"), "--topic",
                              topic, "--end-offsets"], env=self.env,
                             capture_output=True, text=True, check=True)
        return sum(int(e.split(":")[1]) for e in out.stdout.strip().split(","))

    def start_reader(self):
        self.reader_out = os.path.join(self.work, "decisions.jsonl")
        self.reader = self.spawn([os.path.join(BIN, "ladder-decisions"),
                                  "--out", self.reader_out], "reader.log")

    def stop_reader(self):
        self.reader.send_signal(signal.SIGTERM)
        rc = self.reader.wait(120)
        text = open(os.path.join(self.work, "reader.log")).read().strip()
        if rc != 0:
            raise Failure("the decisions reader lost messages or failed "
                          "(status %d): %s" % (rc, text[-400:]))
        return text

    def start_worker(self, extra_env=None):
        self.nworkers += 1
        name = "worker%d" % self.nworkers
        env = dict(self.env)
        env["LADDER_HTTP_LISTEN"] = "127.0.0.1:%d" % free_port()
        env.update(extra_env or {})
        p = self.spawn([os.path.join(BIN, "ladder-worker")], name + ".log",
                       env)
        w = {"name": name, "proc": p, "listen": env["LADDER_HTTP_LISTEN"],
             "log": os.path.join(self.work, name + ".log")}
        self.workers.append(w)
        return w

    def log(self, w):
        with open(w["log"], errors="replace") as f:
            return f.read()

    def metrics(self, w):
        text = urllib.request.urlopen("http://%s/metrics" % w["listen"],
                                      timeout=5).read().decode()
        m = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                m[k] = float(v)
        return m

    def wait_for(self, what, cond, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.check_alive()
            if cond():
                return
            time.sleep(0.05)
        raise Failure("timed out after %ds waiting for %s" % (timeout, what))

    def wait_log(self, w, text, timeout=90, after=0):
        self.wait_for("%s to log '%s'" % (w["name"], text),
                      lambda: text in self.log(w)[after:], timeout)

    def check_alive(self):
        for w in self.workers:
            if w.get("gone"):
                continue
            if w["proc"].poll() is not None:
                raise Failure("%s exited unexpectedly (status %s): %s" % (
                    w["name"], w["proc"].returncode, self.log(w)[-800:]))

    def progress(self):
        while True:
            try:
                return stored(self.r, PARTITIONS)
            except (OSError, ConnectionError):
                time.sleep(0.1)

    def wait_stored(self, n):
        """Until the workers have stored at least n input messages."""
        last, since = -1, time.monotonic()
        while True:
            self.check_alive()
            s, _ = self.progress()
            if s >= n:
                return s
            if s != last:
                last, since = s, time.monotonic()
            if time.monotonic() - since > STALL_S:
                raise Failure("the workers are stuck at %d stored messages "
                              "(waiting for %d)" % (s, n))
            time.sleep(0.02)

    def wait_caught_up(self, total):
        last, since = -1, time.monotonic()
        while True:
            self.check_alive()
            s, o = self.progress()
            if s >= total and o == 0:
                return
            if s != last:
                last, since = s, time.monotonic()
            if time.monotonic() - since > STALL_S:
                raise Failure("the workers are stuck at %d of %d messages "
                              "(%d outbox entries unpublished)" % (s, total, o))
            time.sleep(0.2)

    def kill_worker(self, w, sig):
        w["proc"].send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            rc = w["proc"].wait(60)
            w["gone"] = True
            return rc
        return None

    def finish(self, total):
        """Waits until every message is stored and published, stops the
        workers and the reader, and checks that nothing was lost. Returns
        the figures."""
        self.wait_caught_up(total)
        live = [w for w in self.workers if not w.get("gone")]
        lost = 0.0
        for w in live:
            m = self.metrics(w)
            lost += m.get("ladder_worker_lost_messages_total", 0)
        for w in live:
            rc = self.kill_worker(w, signal.SIGTERM)
            if rc != 0:
                raise Failure("%s did not stop cleanly (status %d): %s" % (
                    w["name"], rc, self.log(w)[-500:]))
        reader = self.stop_reader()
        fenced = rewound = rewound_messages = 0
        for w in self.workers:
            text = self.log(w)
            if re.search(r"messages are gone|out of range|OUT_OF_RANGE", text):
                line = next(l for l in text.splitlines() if re.search(
                    r"messages are gone|out of range|OUT_OF_RANGE", l))
                raise Failure("%s lost input: %s" % (w["name"], line))
            if "panic" in text or "AddressSanitizer" in text:
                raise Failure("%s: %s" % (w["name"], text[-500:]))
            # One warning per batch refused, one per partition rewound.
            fenced += len(re.findall(r": reloading and seeking to the stored "
                                     r"offset", text))
            rewound += len(re.findall(r"the store rewound", text))
            rewound_messages += sum(int(k) for k in re.findall(
                r"the store rewound from offset \d+ to \d+: replaying "
                r"(\d+) messages", text))
        if lost:
            raise Failure("ladder_worker_lost_messages_total is %d" % lost)
        fig = {"lost": int(lost), "reader": reader, "fenced_batches": fenced,
               "rewound_partitions": rewound,
               "rewound_messages_logged": rewound_messages}
        return fig

    def compare(self, ref_decisions, ref_state, replayed=None):
        by_id, order, dups = load_decisions(self.reader_out,
                                            replayed=replayed)
        diff = decision_differences(ref_decisions, (by_id, order),
                                    ref_paths(self.ref_dir)["decisions"],
                                    self.reader_out)
        if diff:
            raise Failure("the decisions differ from the reference:\n  " +
                          "\n  ".join(diff))
        state = dump_state(self.r, PARTITIONS)
        diff = state_differences(ref_state, state)
        if diff:
            raise Failure("the Redis state differs from the reference:\n  " +
                          "\n  ".join(diff))
        return len(by_id), dups


# ---- the reference ------------------------------------------------------

def ref_paths(ref_dir):
    return {k: os.path.join(ref_dir, v) for k, v in (
        ("gen", "gen"), ("events", "gen/events.csv"),
        ("decisions", "decisions.jsonl.gz"), ("state", "state.json"),
        ("info", "info.json"))}


def load_reference(ref_dir):
    paths = ref_paths(ref_dir)
    try:
        with open(paths["info"]) as f:
            info = json.load(f)
        with open(paths["state"]) as f:
            state = json.load(f)
    except OSError as e:
        raise Failure("no reference in %s (run faults.reference first): %s"
                      % (ref_dir, e))
    if info["scale"] != SCALE or info["partitions"] != PARTITIONS:
        raise Failure("the reference in %s is of scale %s, %d partitions; "
                      "this run needs %s, %d (run faults.reference again)" % (
                          ref_dir, info["scale"], info["partitions"], SCALE,
                          PARTITIONS))
    by_id, order, _ = load_decisions(paths["decisions"])
    return info, (by_id, order), state


def scenario_reference(run, rng):
    paths = ref_paths(run.ref_dir)
    os.makedirs(run.ref_dir, exist_ok=True)
    subprocess.run(["rm", "-rf", paths["gen"]], check=True)
    out = subprocess.run([os.path.join(BIN, "ladder-gen"), "--scale",
                          str(SCALE), "--seed", str(GEN_SEED), "--single",
                          "--out", paths["gen"]],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure("ladder-gen: " + out.stderr[-500:])
    events = int(re.search(r"(\d+) events", out.stdout + out.stderr).group(1))
    total = run.produce_log(paths["events"])
    say("ok - log: %d events (ladder-gen --scale %s --seed %d), %d input "
        "messages in %d partitions" % (events, SCALE, GEN_SEED, total,
                                      PARTITIONS))
    run.start_reader()
    run.start_worker()
    t0 = time.monotonic()
    run.finish(total)
    t = time.monotonic() - t0
    by_id, order, dups = load_decisions(run.reader_out)
    if not by_id:
        raise Failure("the reference made no decisions")
    state = dump_state(run.r, PARTITIONS)
    with open(run.reader_out, "rb") as f, gzip.open(paths["decisions"],
                                                    "wb", 1) as g:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            g.write(chunk)
    with open(paths["state"], "w") as f:
        json.dump(state, f)
    info = {"scale": SCALE, "partitions": PARTITIONS, "events": events,
            "messages": total, "decisions": len(by_id), "seconds": round(t, 1)}
    with open(paths["info"], "w") as f:
        json.dump(info, f)
    say("ok - reference: one worker decided %d messages in %.1fs: %d "
        "decisions (%d duplicates by id), %d enterprises in Redis" % (
            total, t, len(by_id), dups,
            sum(len(v["ent"]) for k, v in state.items()
                if isinstance(v, dict))))
    return {"events": events, "messages": total, "decisions": len(by_id),
            "duplicates": dups, "faults": "none"}


# ---- scenarios ------------------------------------------------------------

def points(rng, total, n, lo=0.08, hi=0.92, gap=0.06):
    """n sorted random points of the input (message counts), at least gap
    apart."""
    while True:
        f = sorted(rng.uniform(lo, hi) for _ in range(n))
        if all(b - a >= gap for a, b in zip(f, f[1:])):
            return [int(x * total) for x in f]


def scenario_kill(run, rng, total):
    run.start_reader()
    w = run.start_worker()
    kills = []
    for at in points(rng, total, 5):
        s = run.wait_stored(at)
        run.kill_worker(w, signal.SIGKILL)
        kills.append(s)
        say("    SIGKILL %s at %d of %d stored messages" % (w["name"], s, total))
        w = run.start_worker()
    fig = run.finish(total)
    fig["faults"] = "5 SIGKILLs of the worker (at %s stored messages)" % (
        ", ".join(str(k) for k in kills))
    return fig


def aof_incr(work):
    d = os.path.join(work, "appendonlydir")
    names = [n for n in os.listdir(d) if ".incr.aof" in n]
    names.sort(key=lambda n: int(re.search(r"\.(\d+)\.incr\.aof$", n).group(1)))
    return os.path.join(d, names[-1])


def start_redis(run, log):
    p = subprocess.Popen(
        ["redis-server", os.path.join(SRC, "deploy/redis/redis.conf"),
         "--port", str(run.redis_port), "--dir", run.work, "--logfile",
         os.path.join(run.work, log), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run.procs.append(p)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            if Redis(run.redis_port)("PING") == b"PONG":
                run.redis_pid = p.pid
                return p
        except (OSError, ConnectionError, Failure):
            pass
        time.sleep(0.05)
    raise Failure("redis-server did not come back: " + open(
        os.path.join(run.work, log)).read()[-500:])


def scenario_redis_kill(run, rng, total):
    run.start_reader()
    w = run.start_worker()
    at = points(rng, total, 1, 0.3, 0.7)[0]
    # appendfsync everysec: what the OS had not yet written to disk when
    # the machine died is lost. A SIGKILL alone loses nothing the kernel
    # already has, so the test cuts the AOF back to where it stood a
    # second before the kill, as a power cut would.
    run.wait_stored(at)
    incr = aof_incr(run.work)
    size_before = os.path.getsize(incr)
    time.sleep(1.0)
    before, _ = run.progress()
    os.kill(run.redis_pid, signal.SIGKILL)
    while True:
        try:
            os.kill(run.redis_pid, 0)
            time.sleep(0.02)
        except OSError:
            break
    if aof_incr(run.work) == incr:
        cut = os.path.getsize(incr) - size_before
        os.truncate(incr, size_before)
    else:  # rewritten meanwhile: lose the newest file's tail
        incr = aof_incr(run.work)
        cut = os.path.getsize(incr)
        os.truncate(incr, 0)
    start_redis(run, "redis2.log")
    run.r.close()
    after, _ = run.progress()
    say("    SIGKILL redis-server at %d of %d stored messages, AOF cut by "
        "%d bytes: restarted with %d stored" % (before, total, cut, after))
    if after >= before:
        raise Failure("Redis did not rewind (%d stored before, %d after)" %
                      (before, after))
    fig = {}
    run.wait_caught_up(total)
    m = run.metrics(w)
    if w["proc"].poll() is not None:
        raise Failure("the worker did not survive the Redis restart")
    if m.get("ladder_worker_rewound_messages_total", 0) <= 0:
        raise Failure("the worker did not notice the rewind "
                      "(ladder_worker_rewound_messages_total is 0)")
    if "redis is back" not in run.log(w):
        raise Failure("the worker never logged 'redis is back'")
    fig.update(run.finish(total))
    fig["rewound_messages"] = int(m["ladder_worker_rewound_messages_total"])
    fig["redis_errors"] = int(m.get("ladder_worker_redis_errors_total", 0))
    fig["faults"] = ("SIGKILL redis-server at %d of %d stored messages; AOF "
                     "cut back %d bytes (its last second); restarted: %d "
                     "messages rewound and replayed" % (
                         before, total, cut, before - after))
    return fig


def scenario_redis_pause(run, rng, total):
    run.start_reader()
    w = run.start_worker()
    at1, at2 = points(rng, total, 2, 0.2, 0.8, 0.2)
    pid = w["proc"].pid
    # 1. Frozen: longer than the worker's 5 s Redis command timeout, so a
    #    command is in flight when Redis stops answering.
    run.wait_stored(at1)
    m0 = run.metrics(w)
    os.kill(run.redis_pid, signal.SIGSTOP)
    time.sleep(7)
    os.kill(run.redis_pid, signal.SIGCONT)
    run.wait_log(w, "redis is back")
    m1 = run.metrics(w)
    e1 = m1["ladder_worker_redis_errors_total"] - m0[
        "ladder_worker_redis_errors_total"]
    if e1 <= 0:
        raise Failure("no Redis error counted while Redis was frozen for 7 s")
    say("    redis-server frozen (SIGSTOP) for 7 s at %d stored messages: "
        "%d redis errors, %d retries" % (
            at1, e1, m1["ladder_worker_redis_retries_total"]))
    # 2. Down: stopped, and started again on the same port 5 s later.
    run.wait_stored(at2)
    n_back = run.log(w).count("redis is back")
    os.kill(run.redis_pid, signal.SIGTERM)
    while True:
        try:
            os.kill(run.redis_pid, 0)
            time.sleep(0.02)
        except OSError:
            break
    time.sleep(5)
    start_redis(run, "redis2.log")
    run.r.close()
    run.wait_for("the worker to reconnect",
                 lambda: run.log(w).count("redis is back") > n_back)
    m2 = run.metrics(w)
    e2 = m2["ladder_worker_redis_errors_total"] - m1[
        "ladder_worker_redis_errors_total"]
    r2 = m2["ladder_worker_redis_retries_total"] - m1[
        "ladder_worker_redis_retries_total"]
    if e2 <= 0 or r2 < 2:
        raise Failure("Redis down for 5 s: %d errors, %d retries counted" %
                      (e2, r2))
    say("    redis-server down for 5 s at %d stored messages: %d redis "
        "errors, %d retries" % (at2, e2, r2))
    if w["proc"].pid != pid or w["proc"].poll() is not None:
        raise Failure("the worker is not the same process any more")
    fig = run.finish(total)
    fig["redis_errors"] = int(m2["ladder_worker_redis_errors_total"])
    fig["redis_retries"] = int(m2["ladder_worker_redis_retries_total"])
    fig["faults"] = ("Redis frozen 7 s (SIGSTOP), then down 5 s (stopped, "
                     "restarted on its port); one worker process throughout: "
                     "%d redis errors, %d reconnect attempts" % (
                         fig["redis_errors"], fig["redis_retries"]))
    return fig


def kafka_control(run, line):
    with open(run.fifo, "w") as f:
        f.write(line + "\n")


def scenario_kafka(run, rng, total):
    # The log arrives as a live stream over 24 s, so that every fault
    # lands while the workers consume and the feed produces.
    run.start_reader()
    w = run.start_worker()
    run.wait_log(w, "resuming at offset")
    feeder = run.feed_paced(ref_paths(run.ref_dir)["events"], 24, 48)
    # (what, command on, command off, seconds) in a random order.
    faults = [
        ("broker 2 down", ["broker-down 2"], ["broker-up 2"], 3),
        ("300 ms latency on every broker",
         ["rtt %d 300" % b for b in (1, 2, 3)],
         ["rtt %d 0" % b for b in (1, 2, 3)], 3),
        ("50 produce errors (NOT_ENOUGH_REPLICAS)",
         ["errors Produce 50 NOT_ENOUGH_REPLICAS"], [], 2),
        ("50 fetch errors (NOT_LEADER_FOR_PARTITION)",
         ["errors Fetch 50 NOT_LEADER_FOR_PARTITION"], [], 2),
    ]
    rng.shuffle(faults)
    done = []
    t0 = time.monotonic()
    starts = sorted(rng.uniform(0, 4) + 5 * i for i in range(len(faults)))
    for start, (what, on, off, secs) in zip(starts, faults):
        time.sleep(max(0, t0 + start - time.monotonic()))
        s, _ = run.progress()
        for c in on:
            kafka_control(run, c)
        time.sleep(secs)
        for c in off:
            kafka_control(run, c)
        say("    %s for %d s at %d stored messages" % (what, secs, s))
        done.append(what)
    feeder.join()
    if feeder.error:
        raise Failure(str(feeder.error))
    if run.topic_total("ladder.events.v1") != total:
        raise Failure("the live feed produced %d messages, not %d" % (
            run.topic_total("ladder.events.v1"), total))
    fig = run.finish(total)
    log = open(os.path.join(run.work, "kafka.log"), errors="replace").read()
    oks = len(re.findall(r"control: .*: ok", log))
    want = sum(len(f[1]) + len(f[2]) for f in faults)
    if oks != want:
        raise Failure("ladder-kafka applied %d of %d fault commands: %s" % (
            oks, want, "\n".join(l for l in log.splitlines()
                                 if "control:" in l)))
    fig["faults"] = "; ".join(done) + " (%d control commands)" % oks
    return fig


def scenario_workers(run, rng, total):
    # A live stream over 30 s, so that a worker added late still finds
    # work: each change of membership costs a rebalance of several seconds.
    run.start_reader()
    ws = [run.start_worker() for _ in range(3)]
    for w in ws:
        run.wait_log(w, "resuming at offset")
    feeder = run.feed_paced(ref_paths(run.ref_dir)["events"], 30, 60)
    order = ["term", "kill", "add"]
    rng.shuffle(order)
    done = []
    t0 = time.monotonic()
    for i, what in enumerate(order):
        time.sleep(max(0, t0 + 3 + 8 * i + rng.uniform(0, 3) -
                       time.monotonic()))
        s, _ = run.progress()
        if what == "term":
            w = ws.pop(rng.randrange(len(ws)))
            rc = run.kill_worker(w, signal.SIGTERM)
            if rc != 0:
                raise Failure("%s did not stop cleanly on SIGTERM (status %d)"
                              % (w["name"], rc))
            done.append("SIGTERM %s at %d" % (w["name"], s))
        elif what == "kill":
            w = ws.pop(rng.randrange(len(ws)))
            run.kill_worker(w, signal.SIGKILL)
            done.append("SIGKILL %s at %d" % (w["name"], s))
        else:
            w = run.start_worker()
            ws.append(w)
            done.append("added %s at %d" % (w["name"], s))
            # Until it owns a partition: a kill that picked it before its
            # first rebalance ended (5 to 11 s on the embedded cluster)
            # would leave a worker that never took part.
            run.wait_log(w, "resuming at offset", timeout=60)
        say("    " + done[-1])
    feeder.join()
    if feeder.error:
        raise Failure(str(feeder.error))
    fig = run.finish(total)
    for w in run.workers:
        if "resuming at offset" not in run.log(w):
            raise Failure("%s never owned a partition" % w["name"])
    fig["faults"] = "3 workers; " + "; ".join(done) + " stored messages"
    return fig


def scenario_zombie(run, rng, total):
    hold = os.path.join(run.work, "hold")
    run.start_reader()
    a = run.start_worker({"LADDERTEST_HOLD_BEFORE_STORE": hold})
    at = points(rng, total, 1, 0.15, 0.5)[0]
    run.wait_stored(at)
    # Freeze A between deciding a batch and storing it, then stop it
    # altogether until its partitions have moved to B.
    open(hold, "w").close()
    run.wait_log(a, "test hold:")
    s, _ = run.progress()
    os.kill(a["proc"].pid, signal.SIGSTOP)
    say("    %s held before its store and frozen (SIGSTOP) at %d stored "
        "messages" % (a["name"], s))
    b = run.start_worker()
    run.wait_for("%s to own every partition" % b["name"],
                 lambda: len(set(re.findall(r"partition (\d+): owner epoch",
                                            run.log(b)))) == PARTITIONS, 90)
    run.wait_stored(s + 1)
    len_a = len(run.log(a))
    os.remove(hold)
    os.kill(a["proc"].pid, signal.SIGCONT)
    say("    %s owns every partition; %s resumed (SIGCONT)" % (
        b["name"], a["name"]))
    run.wait_log(a, "FENCED owner epoch", 30, len_a)
    m = run.metrics(a)
    fenced = int(m.get("ladder_worker_fenced_batches_total", 0))
    if fenced <= 0:
        raise Failure("ladder_worker_fenced_batches_total of the zombie is 0")

    # Rejoined cleanly: the group gave the zombie partitions again, and the
    # two workers share all of them.
    def shared():
        n = [run.metrics(w).get("ladder_worker_partitions_assigned", 0)
             for w in (a, b)]
        return n[0] > 0 and n[1] > 0 and sum(n) == PARTITIONS
    run.wait_for("the zombie to rejoin and share the partitions", shared, 60)
    say("    %s refused by the owner epoch (%d fenced batches), rejoined the "
        "group and shares the partitions with %s" % (a["name"], fenced,
                                                      b["name"]))
    fig = run.finish(total)
    fig["zombie_fenced"] = fenced
    fig["faults"] = ("worker held before its store and frozen until its %d "
                     "partitions moved, then resumed: its held batch refused "
                     "by the owner epoch (ladder_worker_fenced_batches_total "
                     "%d), rejoined and owned partitions again" % (
                         PARTITIONS, fenced))
    return fig


def scenario_poison(run, rng, info, ref_decisions, ref_state):
    """2% poison messages among the reference's rows. Their offsets shift
    every valid message after them, and decision ids, causes, history
    entries and notice ids name offsets: so the comparison maps every
    offset of the poisoned log back to the clean log's (offset minus the
    poison messages before it in its partition) and then asks for exact
    equality with the shared reference, which is the run of exactly the
    valid events."""
    sent = os.path.join(run.work, "sent.txt")
    poison = os.path.join(TESTS_BIN, "poison")
    mix_seed = rng.randrange(1, 2**31)
    out = subprocess.run([poison, "mix", run.bootstrap,
                          os.path.join(SRC, "schemas"),
                          ref_paths(run.ref_dir)["events"], "21",
                          str(mix_seed), sent], capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure("poison mix: " + (out.stderr or out.stdout)[-500:])
    total = run.topic_total("ladder.events.v1")
    bad = {}
    codes = {}
    with open(sent) as f:
        for line in f:
            w = line.split()
            bad.setdefault(int(w[2]), []).append(int(w[3]))
            codes[w[1]] = codes.get(w[1], 0) + 1
    npoison = sum(len(v) for v in bad.values())
    if total != info["messages"] + npoison:
        raise Failure("the poisoned log has %d messages: %d valid + %d poison "
                      "expected" % (total, info["messages"], npoison))
    say("ok - poisoned log: the reference's %d messages and %d poison "
        "messages (%.1f%%; %s)" % (info["messages"], npoison,
                                   100.0 * npoison / total, ", ".join(
                                       "%s %d" % kv for kv in
                                       sorted(codes.items()))))
    run.start_reader()
    run.start_worker()
    fig = run.finish(total)
    out = subprocess.run([poison, "check", run.bootstrap, sent],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure("dead letters:\n" + out.stdout[-2000:])
    say("ok - " + out.stdout.strip().splitlines()[-1] + ": every one with "
        "its code, message, source topic/partition/offset and bytes")

    for offs in bad.values():
        offs.sort()

    def clean(p, o):
        return o - bisect.bisect_left(bad.get(p, ()), o)

    def fix_id(i):
        p, o, n = i.split("-")
        return "%s-%d-%s" % (p, clean(int(p), int(o)), n)

    def fix_cause(c):
        t, p, o = c.rsplit("/", 2)
        return "%s/%s/%d" % (t, p, clean(int(p), int(o)))

    def fix_decision(d):
        d = dict(d)
        d["decision_id"] = fix_id(d["decision_id"])
        d["cause"] = fix_cause(d["cause"])
        return d

    replayed = {}
    got, order, dups = load_decisions(run.reader_out, fix_decision, replayed)
    diff = decision_differences(ref_decisions, (got, order),
                                ref_paths(run.ref_dir)["decisions"],
                                run.reader_out, fix_decision)
    if diff:
        raise Failure("the decisions of the valid events differ from the "
                      "reference:\n  " + "\n  ".join(diff))
    pfile = os.path.join(run.work, "poison-offsets.txt")
    with open(pfile, "w") as f:
        for p, offs in bad.items():
            for o in offs:
                f.write("%d %d\n" % (p, o))

    def ent_fix(p, ent):
        names = sorted(ent)
        out = subprocess.run(
            [os.path.join(TESTS_BIN, "faults_ent"), pfile],
            input="".join("%d %s %s\n" % (p, u, ent[u]) for u in names),
            capture_output=True, text=True)
        if out.returncode != 0:
            raise Failure("faults_ent: " + out.stderr)
        return dict(zip(names, out.stdout.split()))

    def notice_fix(p, nid, d):
        # Notice entry ids are the causing message's offset + 1, then n.
        x, n = nid.split("-")
        return "%d-%s" % (clean(p, int(x) - 1) + 1, n), fix_decision(d)

    state = dump_state(run.r, PARTITIONS, ent_fix, notice_fix)
    for key, part in state.items():
        if isinstance(part, dict) and "next_offset" in part["meta"]:
            part["meta"]["next_offset"] = str(clean(
                int(key[1:]), int(part["meta"]["next_offset"])))
    diff = state_differences(ref_state, state)
    if diff:
        raise Failure("the Redis state (offsets mapped to the clean log) "
                      "differs from the reference:\n  " + "\n  ".join(diff))
    say("ok - %d decisions and the Redis state identical to the reference "
        "once offsets are mapped to the clean log (%d duplicates by id)"
        % (len(got), dups))
    fig.update(events=info["events"], messages=total, decisions=len(got),
               duplicates=dups, poison=npoison)
    check_replayed(fig, replayed, 0)
    fig["faults"] = "%d poison messages (%.1f%%), every dead-letter code: %s" % (
        npoison, 100.0 * npoison / total,
        ", ".join("%s %d" % kv for kv in sorted(codes.items())))
    return fig


# ---- scenarios on a Redis Cluster (tests/support/with-cluster) -------------

CLUSTER_SCENARIOS = ("cluster-master-kill", "cluster-reshard",
                     "cluster-freeze")
# with-cluster's cluster-node-timeout for each scenario: short where a
# replica must take over quickly, long where a frozen master must stay
# master (a freeze longer than the timeout would be a failover).
CLUSTER_NODE_TIMEOUT_MS = {"cluster-master-kill": 2000,
                           "cluster-reshard": 2000,
                           "cluster-freeze": 30000}


def ask(port, *args):
    """One command on one node, on a connection of its own."""
    r = Redis(port)
    try:
        return r(*args)
    finally:
        r.close()


def cluster_nodes(run, avoid=()):
    """{port: {"id", "role", "master", "flags"}} as CLUSTER NODES of the
    first node (not in `avoid`) that answers sees them."""
    for port in run.cluster_ports:
        if port in avoid:
            continue
        try:
            text = ask(port, "CLUSTER", "NODES").decode()
        except (OSError, ConnectionError, Failure):
            continue
        nodes = {}
        for line in text.splitlines():
            w = line.split()
            flags = w[2].split(",")
            nodes[int(w[1].split("@")[0].rsplit(":", 1)[1])] = {
                "id": w[0], "flags": flags, "master":
                None if w[3] == "-" else w[3],
                "role": "master" if "master" in flags else "replica"}
        return nodes
    raise Failure("no cluster node answers CLUSTER NODES")


def partitions_by_master(run):
    """{master port: [partitions whose keys live there]} by the slot map."""
    run.r.refresh()
    out = {}
    for p in range(PARTITIONS):
        out.setdefault(run.r.master_of(store_keys.meta(p)), []).append(p)
    return out


def next_offsets(run, parts):
    """{partition: stored next offset}, read from each partition's master
    only (a frozen master of other partitions is never asked)."""
    out = {}
    for p in parts:
        v = run.r("HGET", store_keys.meta(p), "next_offset")
        out[p] = int(v) if v else 0
    return out


def end_offsets(run, topic="ladder.events.v1"):
    out = subprocess.run([os.path.join(BIN, "ladder-decisions"), "--topic",
                          topic, "--end-offsets"], env=run.env,
                         capture_output=True, text=True, check=True)
    return {int(e.split(":")[0]): int(e.split(":")[1])
            for e in out.stdout.strip().split(",")}


def is_master_ok(port):
    try:
        return (ask(port, "ROLE")[0] == b"master" and b"cluster_state:ok" in
                ask(port, "CLUSTER", "INFO"))
    except (OSError, ConnectionError, Failure):
        return False


def scenario_cluster_master_kill(run, rng, total):
    """SIGKILL of a master that holds partitions, mid-stream; its replica
    is promoted (cluster-node-timeout 2 s) and the worker carries on
    there. --long: twice, two different masters."""
    run.start_reader()
    w = run.start_worker()
    run.wait_log(w, "resuming at offset")
    kills = []
    dead = set()
    for at in points(rng, total, 2 if LONG else 1, 0.25, 0.75, 0.2):
        run.wait_stored(at)
        owners = partitions_by_master(run)
        # A random partition's master (ports differ from run to run, the
        # partitions' slots do not), never one already killed.
        victim = run.r.master_of(store_keys.meta(rng.choice(sorted(
            p for q in owners if q not in dead for p in owners[q]))))
        nodes = cluster_nodes(run, dead | {victim})
        replica = next(p for p, n in nodes.items()
                       if n["master"] == nodes[victim]["id"])
        n_back = run.log(w).count("redis is back")
        s, _ = run.progress()
        t0 = time.monotonic()
        os.kill(run.cluster_pids[victim], signal.SIGKILL)
        dead.add(victim)
        run.r.seeds = [p for p in run.cluster_ports if p not in dead]
        run.r.close()
        run.wait_for("replica %d of the killed master %d to be promoted" % (
            replica, victim), lambda: is_master_ok(replica), 60)
        took = time.monotonic() - t0
        # The other nodes learn the new owner of the slots by gossip.
        run.wait_for("the cluster to give the killed master's partitions "
                     "%s to %d" % (owners[victim], replica),
                     lambda: sorted(partitions_by_master(run).get(
                         replica, [])) == sorted(owners[victim]), 30)
        after, _ = run.progress()
        run.wait_for("the worker to log 'redis is back'",
                     lambda: run.log(w).count("redis is back") > n_back, 90)
        kills.append("master %d (partitions %s) at %d stored messages, "
                     "replica %d promoted in %.1f s, %d stored after the "
                     "promotion" % (victim, ",".join(map(str, owners[victim])),
                                    s, replica, took, after))
        say("    SIGKILL " + kills[-1])
    m = run.metrics(w)
    if w["proc"].poll() is not None:
        raise Failure("the worker did not survive the failover")
    fig = run.finish(total)
    fig["redis_errors"] = int(m.get("ladder_worker_redis_errors_total", 0))
    fig["faults"] = "SIGKILL of " + "; ".join(kills)
    return fig


def move_slot(run, slot, src, dst, pace):
    """Moves one slot from master src to master dst while it is in use,
    the way redis-cli --cluster reshard does (IMPORTING, MIGRATING, MIGRATE
    key by key, SETSLOT NODE on every master), one key every `pace`
    seconds so that the workers meet the half-moved slot (ASK, TRYAGAIN).
    Returns the number of keys moved."""
    sid = ask(src, "CLUSTER", "MYID").decode()
    did = ask(dst, "CLUSTER", "MYID").decode()
    ask(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
    ask(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", did)
    moved = 0
    while True:
        keys = ask(src, "CLUSTER", "GETKEYSINSLOT", slot, 10)
        if not keys:
            break
        for k in keys:
            ask(src, "MIGRATE", "127.0.0.1", dst, k, 0, 15000)
            moved += 1
            time.sleep(pace)
    masters = [p for p, n in cluster_nodes(run).items()
               if n["role"] == "master" and "fail" not in n["flags"]]
    for port in [dst, src] + [p for p in masters if p not in (src, dst)]:
        ask(port, "CLUSTER", "SETSLOT", slot, "NODE", did)
    return moved


def scenario_cluster_reshard(run, rng, total):
    """Live moves of the slots of 3 partitions (--long: 8), each to
    another master, while the worker decides the log."""
    run.start_reader()
    w = run.start_worker()
    run.wait_log(w, "resuming at offset")
    k = 8 if LONG else 3
    chosen = rng.sample(range(PARTITIONS), k)
    done = []
    for p, at in zip(chosen, points(rng, total, k, 0.1, 0.8, 0.5 / k)):
        run.wait_stored(at)
        owners = partitions_by_master(run)
        src = run.r.master_of(store_keys.meta(p))
        dst = rng.choice(sorted(q for q in owners if q != src) or
                         sorted(q for q, n in cluster_nodes(run).items()
                                if n["role"] == "master" and q != src))
        slot = key_slot(store_keys.meta(p))
        s, _ = run.progress()
        t0 = time.monotonic()
        n = move_slot(run, slot, src, dst, 0.2)
        run.r.close()
        if run.r.master_of(store_keys.meta(p)) != dst or \
                ask(dst, "CLUSTER", "COUNTKEYSINSLOT", slot) < 1 or \
                ask(src, "CLUSTER", "COUNTKEYSINSLOT", slot) != 0:
            raise Failure("partition %d's slot %d did not end up on %d" % (
                p, slot, dst))
        done.append("partition %d (slot %d, %d keys) from %d to %d at %d "
                    "stored messages in %.1f s" % (p, slot, n, src, dst, s,
                                                   time.monotonic() - t0))
        say("    moved " + done[-1])
    m = run.metrics(w)
    fig = run.finish(total)
    fig["redis_errors"] = int(m.get("ladder_worker_redis_errors_total", 0))
    fig["recoveries"] = run.log(w).count("redis is back")
    fig["faults"] = "live slot moves: " + "; ".join(done)
    return fig


def scenario_cluster_freeze(run, rng, total):
    """A master frozen (SIGSTOP) for 6 s (LADDERTEST_CLUSTER_FREEZE_S),
    past the worker's 5 s Redis timeout but shorter than the
    cluster-node-timeout (30 s here), so it stays master: the worker first
    waits for its answers (a slow master), then gives its partitions up
    and takes them again once it answers. --long: twice, 3 s (slow only)
    and then 6 s. Fails unless the partitions on the other masters keep
    deciding from the first second of the freeze to its end (the first
    second lets the batches in flight finish): nothing may serialize
    across masters."""
    run.start_reader()
    w = run.start_worker()
    run.wait_log(w, "resuming at offset")
    long_secs = float(os.environ.get("LADDERTEST_CLUSTER_FREEZE_S", "6"))
    plan = [3.0, long_secs] if LONG else [long_secs]
    ends = end_offsets(run)
    done = []
    progress = []
    for secs, at in zip(plan, points(rng, total, len(plan), 0.15, 0.45,
                                     0.2)):
        run.wait_stored(at)
        owners = partitions_by_master(run)
        victim = run.r.master_of(store_keys.meta(rng.randrange(PARTITIONS)))
        others = [p for q in owners if q != victim for p in owners[q]]
        before = next_offsets(run, others)
        m0 = run.metrics(w)
        n_back = run.log(w).count("redis is back")
        os.kill(run.cluster_pids[victim], signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            time.sleep(1)
            b1 = next_offsets(run, others)
            left = sum(ends[p] - b1[p] for p in others)
            time.sleep(max(0, t0 + secs - time.monotonic()))
            during = next_offsets(run, others)
        finally:
            os.kill(run.cluster_pids[victim], signal.SIGCONT)
        moved = sum(during[p] - b1[p] for p in others)
        progress.append((moved, left))
        run.wait_for("the frozen master %d to answer as master" % victim,
                     lambda: is_master_ok(victim), 60)
        if secs > 5:
            # Past the timeout the worker gave the frozen master's
            # partitions up; it must take them back by itself.
            run.wait_for("the worker to log 'redis is back'",
                         lambda: run.log(w).count("redis is back") > n_back,
                         60)
        run.wait_stored(sum(before.values()) + 1)
        m1 = run.metrics(w)
        done.append("master %d (partitions %s) frozen %g s at %d stored "
                    "messages: from its first second to its end, the "
                    "partitions on the other masters stored %d of their %d "
                    "waiting messages; %d redis errors"
                    % (victim, ",".join(map(str, owners[victim])), secs,
                       sum(before.values()), moved, left,
                       m1.get("ladder_worker_redis_errors_total", 0) -
                       m0.get("ladder_worker_redis_errors_total", 0)))
        say("    " + done[-1])
        if left > 0 and moved == 0:
            raise Failure("the partitions on the other masters stored 0 of "
                          "their %d waiting messages while master %d was "
                          "frozen: one frozen master stalls them all"
                          % (left, victim))
    fig = run.finish(total)
    fig["faults"] = "; ".join(done)
    fig["other_masters_progress"] = [m for m, _ in progress]
    return fig


SCENARIO_FNS = {
    "kill": scenario_kill, "redis-kill": scenario_redis_kill,
    "redis-pause": scenario_redis_pause, "kafka": scenario_kafka,
    "workers": scenario_workers, "zombie": scenario_zombie,
    "cluster-master-kill": scenario_cluster_master_kill,
    "cluster-reshard": scenario_cluster_reshard,
    "cluster-freeze": scenario_cluster_freeze,
}


# The faults of each scenario that may each cost a partition the batches
# it had in flight
# (see check_replayed): SIGKILLs, outages, Kafka faults, worker changes,
# the zombie's hold, a master's kill or freeze, slot moves.
FAULT_EVENTS = {"kill": 5, "redis-kill": 1, "redis-pause": 2, "kafka": 4,
                "workers": 3, "zombie": 1, "poison": 0,
                "cluster-master-kill": 1, "cluster-reshard": 3,
                "cluster-freeze": 1}


def check_replayed(fig, replayed, events):
    """Checks the bound on the duplicates and adds the figures: the input
    messages decided and published again (their decisions came twice),
    over all partitions and in the partition with most. Each fault event
    and each batch the epoch refused may cost a partition the batches it
    had in flight (IN_FLIGHT x STEP_MAX messages); a rewound Redis costs
    what it rewound."""
    most = max((len(v) for v in replayed.values()), default=0)
    worst = max(replayed, key=lambda p: len(replayed[p]), default=None)
    batches = events + fig.get("fenced_batches", 0)
    bound = (batches * IN_FLIGHT * STEP_MAX +
             fig.get("rewound_messages_logged", 0))
    fig["replayed_messages"] = sum(len(v) for v in replayed.values())
    fig["replayed_most_in_a_partition"] = most
    fig["replayed_bound_per_partition"] = bound
    if most > bound:
        raise Failure(
            "partition %d: the decisions of %d input messages were published "
            "more than once, more than the bound of %d (%d fault events and "
            "refused batches x %d batches in flight x %d messages a batch + "
            "%d messages rewound)" % (
                worst, most, bound, batches, IN_FLIGHT, STEP_MAX,
                fig.get("rewound_messages_logged", 0)))
    say("ok - %d input messages decided and published again, at most %d in "
        "one partition (bound %d: %d fault events and refused batches x %d "
        "x %d + %d rewound)" % (fig["replayed_messages"], most, bound,
                                batches, IN_FLIGHT, STEP_MAX,
                                fig.get("rewound_messages_logged", 0)))


def run_scenario(name, seed, ref_dir):
    rng = random.Random(seed)
    run = Run(name, ref_dir)
    t0 = time.monotonic()
    try:
        if name == "reference":
            fig = scenario_reference(run, rng)
        else:
            info, ref_decisions, ref_state = load_reference(ref_dir)
            if name == "poison":
                fig = scenario_poison(run, rng, info, ref_decisions,
                                      ref_state)
            else:
                if name in ("kafka", "workers"):
                    total = info["messages"]  # produced live by the scenario
                    say("ok - the reference's log (%d events, %d messages) "
                        "is produced again as a live stream" % (
                            info["events"], total))
                else:
                    total = run.produce_log(ref_paths(ref_dir)["events"])
                    say("ok - the reference's log produced again: %d "
                        "events, %d messages" % (info["events"], total))
                if total != info["messages"]:
                    raise Failure("the log has %d messages, the reference %d"
                                  % (total, info["messages"]))
                fig = SCENARIO_FNS[name](run, rng, total)
                replayed = {}
                n, dups = run.compare(ref_decisions, ref_state, replayed)
                fig.update(events=info["events"], messages=total,
                           decisions=n, duplicates=dups)
                say("ok - %d decisions identical to the reference (%d "
                    "duplicates by id); Redis state identical" % (n, dups))
                check_replayed(fig, replayed, FAULT_EVENTS[name])
    finally:
        run.stop_all()
    fig["seconds"] = round(time.monotonic() - t0, 1)
    fig["seed"] = seed
    fig["long"] = LONG
    os.makedirs(os.path.join(ref_dir, "results"), exist_ok=True)
    with open(os.path.join(ref_dir, "results", name + ".json"), "w") as f:
        json.dump(fig, f, indent=1)
    return fig


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    name = args[0]
    seed = os.environ.get("LADDERTEST_SEED")
    ref_dir = os.path.join(os.path.dirname(BIN), "faults")
    i = 1
    while i < len(args):
        if args[i] == "--seed" and i + 1 < len(args):
            seed = args[i + 1]
            i += 2
        elif args[i] == "--ref" and i + 1 < len(args):
            ref_dir = args[i + 1]
            i += 2
        else:
            print("faults.py: unknown argument %s (see --help)" % args[i],
                  file=sys.stderr)
            return 2
    if name != "reference" and name not in SCENARIOS:
        print("faults.py: unknown scenario %s (one of reference, %s)" % (
            name, ", ".join(SCENARIOS)), file=sys.stderr)
        return 2
    if seed is None:
        seed = random.SystemRandom().randrange(1, 2**31)
    try:
        seed = int(seed)
    except ValueError:
        print("faults.py: --seed wants an integer, not %s" % seed,
              file=sys.stderr)
        return 2
    if os.environ.get("LADDERTEST_FAULTS_IN_STACK") != "1":
        # Each run in a private stack of its own, sized for the log.
        env = dict(os.environ, LADDERTEST_FAULTS_IN_STACK="1")
        stack = [os.path.join(SRC, "tests/support/with-stack")]
        if name.startswith("cluster-"):
            stack = [os.path.join(SRC, "tests/support/with-cluster"),
                     "--node-timeout", str(CLUSTER_NODE_TIMEOUT_MS[name])]
        return subprocess.call(
            stack + ["--partitions", str(PARTITIONS), "/usr/bin/python3",
                     os.path.abspath(__file__), name, "--seed", str(seed),
                     "--ref", ref_dir], env=env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    say("# faults.%s: seed %d (rerun: LADDERTEST_SEED=%d, or faults.py %s "
        "--seed %d)%s" % (name, seed, seed, name, seed,
                          ", long run" if LONG else ""))
    try:
        fig = run_scenario(name, seed, ref_dir)
    except Failure as e:
        say("FAIL: faults.%s (seed %d): %s" % (name, seed, e))
        work = os.environ.get("LADDERTEST_STACK_DIR", "")
        for f in sorted(os.listdir(work)) if work else []:
            if f.endswith(".log"):
                with open(os.path.join(work, f), errors="replace") as fh:
                    tail = fh.read().splitlines()[-12:]
                say("--- %s\n%s" % (f, "\n".join(tail)))
        return 1
    say("ok - faults.%s in %.1fs: %s" % (name, fig["seconds"], json.dumps(
        {k: v for k, v in fig.items() if k not in ("reader",)})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
