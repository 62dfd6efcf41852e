#!/usr/bin/python3
"""store_keys -- the Redis keys of ladder's store, for scripts.

DESIGN: the key layout belongs to the store module,
services/lib/io/store.c (ldr_store_key()): it is
the only owner, and every script that reads Redis (the fault suite, the
integration tests, tools/demo) asks this file instead of spelling keys
itself, so a change of the layout is made in store.c and here, nowhere
else. integration.test_store_keys runs a worker and checks that every key
named here for partition 0 exists afterwards, and integration.test_store
compares every name of partitions 0..255 with ldr_store_key()'s, so the two
cannot drift apart silently.

Placement (store.h): partition p's hash tag is "p<p>.<s>", with the smallest
s = 0, 1, 2, ... whose Redis Cluster slot (CRC16-XMODEM of the tag, modulo
16384) lies in [t, t + 16), t being the 14-bit bit-reversal of p mod 16384;
so that partitions spread evenly over the masters of an even split. The
search takes about a thousand CRC16s per partition; tag() keeps each result.

Python:  sys.path.insert(0, "<src>/tests/support"); import store_keys
         store_keys.meta(3) -> "ldr:{p3.1534}:meta"
Shell:   /usr/bin/python3 tests/support/store_keys.py meta 3
         /usr/bin/python3 tests/support/store_keys.py outbox 0 1 2  (one a line)
         /usr/bin/python3 tests/support/store_keys.py partitions
         /usr/bin/python3 tests/support/store_keys.py replays
         /usr/bin/python3 tests/support/store_keys.py names
         /usr/bin/python3 tests/support/store_keys.py slot 0 1 2  (one a line)
"""
import re
import sys

# The per-partition keys, in the order store.c's ladder_step takes them.
NAMES = ("meta", "ent", "timers", "outbox", "counters", "notices")

# The number of partitions the workers were started with (a string).
PARTITIONS = "ldr:partitions"

# The replay ledger of ladder-admin dlq replay (a hash: dead letter
# "TOPIC/PARTITION/OFFSET" -> "pending MS" or "done MS TOPIC/PARTITION/OFFSET").
REPLAYS = "ldr:dlq:replays"

# Every key of the store, for KEYS and SCAN.
PATTERN = "ldr:*"

_KEY = re.compile(r"ldr:\{p(\d+)\.(\d+)\}:(\w+)")

SLOTS = 16384
WINDOW = 16  # LDR_STORE_PLACE_WINDOW


def _crc16_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t.append(c & 0xFFFF)
    return t


_CRC16 = _crc16_table()


def crc16(data):
    """CRC16-XMODEM of DATA (bytes), as Redis Cluster computes slots."""
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ _CRC16[(c >> 8) ^ b]
    return c


def slot_of_tag(tag):
    """The cluster slot of a hash tag (str)."""
    return crc16(tag.encode()) & (SLOTS - 1)


def _reverse14(p):
    r = 0
    for _ in range(14):
        r = (r << 1) | (p & 1)
        p >>= 1
    return r


_TAGS = {}


def tag(partition):
    """The hash tag of PARTITION's keys, "p<p>.<s>" (see DESIGN above)."""
    p = int(partition)
    t = _TAGS.get(p)
    if t is None:
        target = _reverse14(p % SLOTS)
        s = 0
        while not target <= slot_of_tag("p%d.%d" % (p, s)) < target + WINDOW:
            s += 1
        t = _TAGS[p] = "p%d.%d" % (p, s)
    return t


def slot(partition):
    """The cluster slot of every key of PARTITION."""
    return slot_of_tag(tag(partition))


def key(partition, name):
    """The key NAME (one of NAMES) of PARTITION."""
    if name not in NAMES:
        raise ValueError("store_keys: no key %r (known: %s)"
                         % (name, ", ".join(NAMES)))
    return "ldr:{%s}:%s" % (tag(partition), name)


def old_key(partition, name):
    """The name KEY had before placement (ldr:{p<p>}:<name>): the store
    moves such keys to key()'s names when it claims the partition."""
    return "ldr:{p%d}:%s" % (int(partition), name)


def meta(partition):
    """Hash: next_offset, clock, epoch."""
    return key(partition, "meta")


def ent(partition):
    """Hash: USCC -> the enterprise's encoded state."""
    return key(partition, "ent")


def timers(partition):
    """Sorted set of an earlier layout (the pending timers by due time):
    the store writes it no more and deletes it at claim; the states hold
    the timers."""
    return key(partition, "timers")


def outbox(partition):
    """Stream: decisions stored but not yet published."""
    return key(partition, "outbox")


def counters(partition):
    """Hash: the state and little-giant outcome counters."""
    return key(partition, "counters")


def notices(partition):
    """Stream: the revocation notices."""
    return key(partition, "notices")


def parse(k):
    """(partition, name) of a per-partition key (str or bytes), or None."""
    if isinstance(k, bytes):
        k = k.decode(errors="replace")
    m = _KEY.fullmatch(k)
    if not m or tag(m.group(1)) != "p%s.%s" % (m.group(1), m.group(2)):
        return None
    return (int(m.group(1)), m.group(3))


def main(argv):
    if len(argv) == 2 and argv[1] == "partitions":
        print(PARTITIONS)
        return 0
    if len(argv) == 2 and argv[1] == "replays":
        print(REPLAYS)
        return 0
    if len(argv) == 2 and argv[1] == "names":
        print(" ".join(NAMES))
        return 0
    if len(argv) >= 3 and argv[1] == "slot" and all(a.isdigit()
                                                    for a in argv[2:]):
        for a in argv[2:]:
            print(slot(int(a)))
        return 0
    if (len(argv) >= 3 and argv[1] in NAMES
            and all(a.isdigit() for a in argv[2:])):
        for a in argv[2:]:
            print(key(int(a), argv[1]))
        return 0
    sys.stderr.write("usage: store_keys.py NAME PARTITION... | partitions"
                     " | replays | names | slot PARTITION... (NAME: %s)\n" % " | ".join(NAMES))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
