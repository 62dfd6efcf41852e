#!/usr/bin/python3
"""store_keys -- the Redis keys of ladder's store, for scripts.

DESIGN: the key layout belongs to the store module,
services/lib/io/store.c (ldr_key() and ldr_store_set_partitions()): it is
the only owner, and every script that reads Redis (the fault suite, the
integration tests, tools/demo) asks this file instead of spelling keys
itself, so a change of the layout is made in store.c and here, nowhere
else. integration.test_store_keys runs a worker and checks that every key
named here for partition 0 exists afterwards, so the two cannot drift apart
silently.

Python:  sys.path.insert(0, "<src>/tests/support"); import store_keys
         store_keys.meta(3) -> "ldr:{p3}:meta"
Shell:   /usr/bin/python3 tests/support/store_keys.py meta 3
         /usr/bin/python3 tests/support/store_keys.py outbox 0 1 2  (one a line)
         /usr/bin/python3 tests/support/store_keys.py partitions
         /usr/bin/python3 tests/support/store_keys.py names
"""
import re
import sys

# The per-partition keys, in the order store.c's ladder_step takes them.
NAMES = ("meta", "ent", "timers", "outbox", "counters", "notices")

# The number of partitions the workers were started with (a string).
PARTITIONS = "ldr:partitions"

# Every key of the store, for KEYS and SCAN.
PATTERN = "ldr:*"

_KEY = re.compile(r"ldr:\{p(\d+)\}:(\w+)")


def key(partition, name):
    """The key NAME (one of NAMES) of PARTITION."""
    if name not in NAMES:
        raise ValueError("store_keys: no key %r (known: %s)"
                         % (name, ", ".join(NAMES)))
    return "ldr:{p%d}:%s" % (int(partition), name)


def meta(partition):
    """Hash: next_offset, clock, epoch."""
    return key(partition, "meta")


def ent(partition):
    """Hash: USCC -> the enterprise's encoded state."""
    return key(partition, "ent")


def timers(partition):
    """Sorted set: the pending timers by due time."""
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
    return (int(m.group(1)), m.group(2)) if m else None


def main(argv):
    if len(argv) == 2 and argv[1] == "partitions":
        print(PARTITIONS)
        return 0
    if len(argv) == 2 and argv[1] == "names":
        print(" ".join(NAMES))
        return 0
    if (len(argv) >= 3 and argv[1] in NAMES
            and all(a.isdigit() for a in argv[2:])):
        for a in argv[2:]:
            print(key(int(a), argv[1]))
        return 0
    sys.stderr.write("usage: store_keys.py NAME PARTITION... | partitions"
                     " | names (NAME: %s)\n" % " | ".join(NAMES))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
