#!/usr/bin/python3
"""compare.py A.jsonl B.jsonl -- two runs of ladder-decisions, compared.

The decisions of two replays of the same log (test_worker_determinism.sh):
keyed by decision_id (duplicates, which the contract allows, must be
identical), every field but decided_at (and the Kafka partition and offset
the reader adds) must be equal, and each enterprise's decisions must come
in the same order. Lists up to 10 differences of each kind; exit status 0
when the runs agree, 1 otherwise.
"""
import collections
import json
import sys


def load(path):
    by_id, order, dups = {}, collections.defaultdict(list), 0
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows.sort(key=lambda d: (d["partition"], d["offset"]))
    for d in rows:
        i = d["decision_id"]
        for k in ("decided_at", "partition", "offset"):
            d.pop(k)
        if i in by_id:
            dups += 1
            if by_id[i] != d:
                print(f"  {path}: {i} published twice, with different "
                      "contents")
                sys.exit(1)
            continue
        by_id[i] = d
        order[d["uscc"]].append(i)
    return by_id, order, dups


def main():
    if len(sys.argv) != 3:
        print("usage: compare.py A.jsonl B.jsonl", file=sys.stderr)
        return 2
    a, oa, da = load(sys.argv[1])
    b, ob, db = load(sys.argv[2])
    na, nb = sys.argv[1], sys.argv[2]
    for i in sorted(a.keys() - b.keys())[:10]:
        print(f"  only in {na}: {i} {a[i]['decision']} {a[i]['uscc']}")
    for i in sorted(b.keys() - a.keys())[:10]:
        print(f"  only in {nb}: {i} {b[i]['decision']} {b[i]['uscc']}")
    diff = [i for i in sorted(a.keys() & b.keys()) if a[i] != b[i]]
    for i in diff[:10]:
        f = [k for k in a[i] if a[i][k] != b[i].get(k)]
        print(f"  {i}: fields differ: " + ", ".join(
            f"{k} {a[i][k]!r} vs {b[i].get(k)!r}" for k in f))
    order = [u for u in oa if oa[u] != ob.get(u)]
    for u in order[:10]:
        print(f"  {u}: another order: {oa[u]} vs {ob.get(u)}")
    kinds = collections.Counter(d["decision"] for d in a.values())
    print(f"  {len(a):,} decisions in the first run ({da} duplicates by id), "
          f"{len(b):,} in the second ({db} duplicates by id)")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    if a.keys() != b.keys() or diff or order or not a:
        print(f"  {len(a.keys() ^ b.keys())} ids in one run only, "
              f"{len(diff)} decisions differ, {len(order)} enterprises in "
              "another order")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
