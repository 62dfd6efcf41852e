#!/usr/bin/env bash
# test_ladder_gen_kafka.sh -- ladder-gen --kafka against a private embedded
# cluster (tests/support/with-stack): every event is produced keyed by its
# USCC, every tick once to every partition, all acknowledged (exit 0), and
# kcat reads back exactly that many messages; expected.json still lands in
# --out. Without kafka.bootstrap.servers, --kafka is a configuration error
# (exit 2, one line naming the key).
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_tmpdir tmp ladder-gen-kafka

set +e
env -u LADDER_KAFKA_BOOTSTRAP_SERVERS "$bin/ladder-gen" --scale 0.002 --seed 3 --kafka 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -ne 2 ] || ! grep -q "kafka.bootstrap.servers" "$tmp/err"; then
  fail "--kafka without a bootstrap list: exit $rc: $(cat "$tmp/err")" >&2
fi
echo "ok - no bootstrap list: $(cat "$tmp/err")"

export GEN_BIN="$bin/ladder-gen" GEN_TMP="$tmp"
"$src/tests/support/with-stack" --partitions 4 bash -c '
  set -euo pipefail
  LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP "$GEN_BIN" \
    --scale 0.002 --seed 3 --kafka --out "$GEN_TMP/k" 2>"$GEN_TMP/gen.err" ||
    { cat "$GEN_TMP/gen.err"; echo "FAIL: ladder-gen --kafka"; exit 1; }
  cat "$GEN_TMP/gen.err"
  kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -e -q -f "%p %K\n" >"$GEN_TMP/read.txt"
' || exit 1

/usr/bin/python3 - "$tmp/k/expected.json" "$tmp/read.txt" "$tmp/gen.err" <<'EOF'
import json, sys
exp = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")[:-1]
err = open(sys.argv[3]).read()
ev = exp["events"]
events = ev["application"] + ev["review"] + ev["violation"]
keyed = [l for l in lines if l.split(" ", 1)[1] != "-1"]
ticks = [l for l in lines if l.split(" ", 1)[1] == "-1"]
per_part = {}
for l in ticks:
    per_part[l.split()[0]] = per_part.get(l.split()[0], 0) + 1
bad = []
if len(keyed) != events:
    bad.append(f"{len(keyed)} keyed messages read back, {events} events generated")
if sorted(per_part) != ["0", "1", "2", "3"] or set(per_part.values()) != {ev["tick"]}:
    bad.append(f"ticks per partition {per_part}, want {ev['tick']} in each of 4")
want = events + 4 * ev["tick"]
if f"{want} of {want} messages acknowledged" not in err:
    bad.append(f"summary does not acknowledge {want} messages: {err}")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
print(f"read back {len(keyed)} events and {len(ticks)} ticks")
sys.exit(1 if bad else 0)
EOF
echo "ladder-gen --kafka checks passed"
