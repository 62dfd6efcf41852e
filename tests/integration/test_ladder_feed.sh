#!/usr/bin/env bash
# ladder-feed: the bad fixtures give exactly the documented rejects (stderr
# and --rejects), the example files of every kind go through the embedded
# Kafka in both formats, and what comes back is checked: every message
# decodes with ladder's codec and with python3-avro, the counts per kind are
# the files', keyed messages sit in their murmur2_random partition, a tick is
# in every partition once, and each partition holds its messages in the
# merge order (time, file position, line). Exit statuses 0, 1 and 2.
. "$(dirname "$0")/../support/lib.sh"
lt_init
feed=$bin/ladder-feed
readback=$bin/../tests/feed_readback
fx=$src/tests/fixtures/feed
lt_tmpdir work ladder-feed-it

# Runs ladder-feed; stderr into $work/err, the exit status into $rc.
run_feed() {
  set +e
  "$feed" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  set -e
}
# The per-row lines of $work/err, the directory of the inputs removed and
# the moving time bound replaced as in the .expected files.
row_lines() {
  grep -v '^ladder-feed: ' "$work/err" | sed -e "s#^$1/##" \
    -e 's/is after [0-9T:.Z-]*, max/is after NOW+400d, max/'
}

echo "== bad fixtures: exit 1, exactly the expected rejects"
for f in bad.csv bad.jsonl; do
  run_feed --dry-run --rejects "$work/rejects" "$fx/$f"
  [ "$rc" -eq 1 ] || { cat "$work/err"; fail "$f gave exit status $rc, not 1"; }
  diff -u "$fx/$f.expected" <(row_lines "$fx") || fail "$f: rejects differ from $f.expected"
  cmp "$fx/$f.rejects" "$work/rejects" || fail "$f: --rejects differs from $f.rejects"
  echo "ok - $f: $(grep -c '' "$fx/$f.expected") lines as expected; --rejects holds exactly the bad rows"
done
[ "$(cut -d: -f3 "$fx/bad.csv.expected" | sort -u | wc -l)" -ge 20 ] || fail "bad.csv covers fewer than 20 fields"
set +e
"$feed" --dry-run --format jsonl - <"$fx/bad.jsonl" >/dev/null 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad.jsonl on stdin gave $rc"
diff -u <(sed 's/^bad.jsonl:/stdin:/' "$fx/bad.jsonl.expected") <(row_lines .) || fail "stdin rejects"
echo "ok - standard input (-) with --format"

echo "== --encode: one row's message value into a file or stdout, its key on stderr"
head -n 1 "$fx/application.jsonl" >"$work/one.jsonl"
uscc=$(sed 's/.*"uscc":"\([^"]*\)".*/\1/' "$work/one.jsonl")
run_feed --encode "$work/one.avro" "$work/one.jsonl"
[ "$rc" -eq 0 ] || { cat "$work/err"; fail "--encode gave $rc"; }
grep -qx "ladder-feed: --encode: $(stat -c %s "$work/one.avro") bytes, key $uscc" "$work/err" \
  || fail "--encode: no line with the size and key: $(cat "$work/err")"
[ "$(head -c 5 "$work/one.avro" | od -An -tx1 | tr -d " ")" = 0000000001 ] \
  || fail "--encode: not Confluent framing with schema id 1"
run_feed --encode - "$work/one.jsonl"
cmp "$work/out" "$work/one.avro" || fail "--encode - differs from --encode FILE"
head -n 2 "$fx/application.jsonl" >"$work/two.jsonl"
run_feed --encode "$work/two.avro" "$work/two.jsonl"
[ "$rc" -eq 2 ] && grep -q "two.jsonl:2: --encode writes one row" "$work/err" \
  || fail "--encode of two rows: exit $rc: $(cat "$work/err")"
sed 's/"reporting_unit":"[0-9]*"/"reporting_unit":"99"/' "$work/one.jsonl" >"$work/none.jsonl"
run_feed --encode "$work/none.avro" "$work/none.jsonl"
[ "$rc" -eq 2 ] && grep -q "the feed has no valid row" "$work/err" \
  || fail "--encode of a rejected row: exit $rc: $(cat "$work/err")"
echo "ok - --encode writes the one row's value (file or -), refuses a second row and an empty feed"

echo "== an over-long line is one reject, and reading goes on at the next line"
{
  head -n 2 "$fx/application.csv"
  /usr/bin/python3 -c 'import sys; sys.stdout.write("application,x" + "L" * (1024 * 1024) + "\n")'
  sed -n 3p "$fx/application.csv" | sed 's/,31,/,99,/'
  sed -n 4p "$fx/application.csv"
} >"$work/long.csv"
run_feed --dry-run --rejects "$work/rejects" "$work/long.csv"
[ "$rc" -eq 1 ] || fail "long.csv gave $rc"
printf '%s\n' 'long.csv:3: row: longer than 1048576 bytes (a line or a row of several lines)' \
  'long.csv:4: reporting_unit: "99" is not a code of the reporting-unit table' |
  diff -u - <(row_lines "$work") || fail "long.csv rejects"
grep -q ' 2 valid ' "$work/err" || fail "long.csv: the rows around the long one were not both valid"
cmp <(sed -n '1p;3p;4p' "$work/long.csv") "$work/rejects" || fail "long.csv: --rejects"
echo "ok - over-long line"

echo "== the example files are valid: exit 0, nothing rejected"
for f in "$fx"/{application,review,violation,tick}.{csv,jsonl}; do
  run_feed --dry-run "$f"
  [ "$rc" -eq 0 ] && [ "$(grep -vc '^ladder-feed: ' "$work/err")" -eq 0 ] ||
    { cat "$work/err"; fail "$f: exit $rc"; }
done
echo "ok - 8 example files"

echo "== usage and configuration errors: one line, exit 2"
expect2() { # text args...
  local want=$1; shift
  set +e; "$@" >"$work/out" 2>"$work/err"; rc=$?; set -e
  [ "$rc" -eq 2 ] && grep -qF -- "$want" "$work/err" || { cat "$work/err"; fail "wanted exit 2 and '$want', got $rc"; }
  [ "$(grep -c '' "$work/err")" -eq 1 ] || { cat "$work/err"; fail "more than one line for '$want'"; }
  echo "ok - exit 2: $(cat "$work/err")"
}
expect2 "kafka.bootstrap.servers is not set" "$feed" "$fx/tick.csv"
expect2 "environment: LADDER_NOPE: unknown variable" env LADDER_NOPE=1 "$feed" "$fx/tick.csv"
expect2 "cannot tell the format" "$feed" "$fx/bad.csv.expected"
expect2 "unknown column \"colour\"" "$feed" --dry-run --format csv <(printf 'kind,colour\n')
printf 'kind,tick_at,source,kind\n' >"$work/dup.csv"
expect2 "column \"kind\" appears twice" "$feed" --dry-run "$work/dup.csv"
expect2 "kafka.partitioner (from environment" env LADDER_KAFKA_PARTITIONER=random \
  LADDER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 "$feed" "$fx/tick.csv"
printf 'bogus.key = 1\n' >"$work/bad.conf"
expect2 "bad.conf:1: bogus.key: unknown key" "$feed" --config "$work/bad.conf" "$fx/tick.csv"
expect2 "127.0.0.1:1" env LADDER_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 "$feed" "$fx/tick.csv"
run_feed --help
[ "$rc" -eq 0 ] && grep -q '^Usage: ladder-feed' "$work/out" || fail "--help"

echo "== through the embedded Kafka"
# A second tick file with the same times as tick.csv checks the tie-break
# by file position.
sed 's/ladder-gen/second-file/' "$fx/tick.csv" >"$work/tick2.csv"
sed 's/ladder-gen/second-file/' "$fx/tick.jsonl" >"$work/tick2.jsonl"
cat >"$work/check.py" <<'EOF'
import csv, datetime, io, json, os, struct, sys
import avro.io, avro.schema

schemas, readback, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
files = sys.argv[4:]

def ms(text):
    d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(d.timestamp() * 1000)

# Every row of the inputs: its identity, its merge position, its kind.
rows = {}
kinds = {}
for fi, path in enumerate(files):
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            r = csv.DictReader(f)
            prev = 1
            for row in r:
                line, prev = prev + 1, r.line_num
                row = {k: v for k, v in row.items() if v != ""}
                rows_line = (row, line)
                t = ms(row.get("occurred_at") or row["tick_at"])
                ident = row.get("event_id") or (row["tick_at"], row["source"])
                ident = ident if isinstance(ident, str) else (ms(ident[0]), ident[1])
                assert ident not in rows, ident
                rows[ident] = (t, fi, line, row["kind"])
    else:
        with open(path, encoding="utf-8") as f:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                row = json.loads(text)
                t = ms(row.get("occurred_at") or row["tick_at"])
                ident = row.get("event_id") or (t, row["source"])
                assert ident not in rows, ident
                rows[ident] = (t, fi, line, row["kind"])
for v in rows.values():
    kinds[v[3]] = kinds.get(v[3], 0) + 1

with open(os.path.join(schemas, "index.json")) as f:
    index = json.load(f)
readers = {}
def py_decode(data):
    assert data[0] == 0, "not Confluent framing"
    sid = struct.unpack(">i", data[1:5])[0]
    if sid not in readers:
        with open(os.path.join(schemas, index["ids"][str(sid)])) as f:
            readers[sid] = avro.io.DatumReader(avro.schema.parse(f.read()))
    return readers[sid].read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))

msgs = [json.loads(l) for l in open(readback)]
partitions = 1 + max(m["partition"] for m in msgs)
seen = {}
ticks = {}
per_part = {}
for m in msgs:
    assert "error" not in m, m
    d = py_decode(bytes.fromhex(m["value"]))
    t = d.get("occurred_at", d.get("tick_at"))
    if isinstance(t, datetime.datetime):
        t = int(t.timestamp() * 1000)
    assert t == m["time"], ("python3-avro and ladder disagree", m, d)
    if m["kind"] == "tick":
        assert m["key"] is None, m
        assert d["source"] == m["source"]
        ident = (m["time"], m["source"])
        ticks.setdefault(ident, []).append(m["partition"])
    else:
        assert d["event_id"] == m["event_id"] and d["uscc"] == m["uscc"], (m, d)
        assert m["key"] == m["uscc"], ("key is not the USCC", m)
        assert m["partition"] == m["key_partition"], ("not in its murmur2_random partition", m)
        ident = m["event_id"]
        assert ident not in seen, ("duplicate", ident)
        seen[ident] = m
    assert ident in rows, ("a message that is in no input file", ident)
    per_part.setdefault(m["partition"], []).append((m["offset"], rows[ident][:3], ident))

count = {}
for ident, (t, fi, line, kind) in rows.items():
    if kind == "tick":
        got = sorted(ticks.get(ident, []))
        assert got == list(range(partitions)), ("tick not once in every partition", ident, got)
    else:
        assert ident in seen, ("row never produced", ident)
    count[kind] = count.get(kind, 0) + 1
got_kinds = {}
for m in msgs:
    got_kinds[m["kind"]] = got_kinds.get(m["kind"], 0) + 1
got_kinds["tick"] = got_kinds.get("tick", 0) // partitions
assert got_kinds == kinds, (got_kinds, kinds)
for p, lst in per_part.items():
    lst.sort()
    keys = [k for _, k, _ in lst]
    for a, b in zip(keys, keys[1:]):
        assert a < b, ("partition %d out of merge order" % p, a, b)
print("ok - %s: %d messages in %d partitions, per kind %s, decoded by ladder and python3-avro, "
      "murmur2_random partitions, ticks in every partition, merge order in every partition"
      % (fmt, len(msgs), partitions, json.dumps(kinds, sort_keys=True)))
EOF

cat >"$work/in-stack.sh" <<'EOF'
set -euo pipefail
feed=$1 readback=$2 fx=$3 work=$4 src=$5
export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
# CSV into the input topic (8 partitions); JSON Lines into a topic of its
# own, which the embedded cluster creates with 4 partitions on first use.
for fmt in csv jsonl; do
  topic=ladder.events.v1
  [ "$fmt" = jsonl ] && topic=feed.jsonl.test
  files=("$fx/application.$fmt" "$fx/review.$fmt" "$fx/violation.$fmt" "$fx/tick.$fmt" "$work/tick2.$fmt")
  LADDER_INPUT_TOPIC=$topic "$feed" "${files[@]}" 2>"$work/err.$fmt" ||
    { cat "$work/err.$fmt"; echo "FAIL: ladder-feed $fmt exited $?"; exit 1; }
  cat "$work/err.$fmt"
  grep -q ', 0 rejected, 0 out of order; \([0-9]*\) of \1 messages acknowledged' "$work/err.$fmt" ||
    { echo "FAIL: $fmt: not every message acknowledged"; exit 1; }
  "$readback" "$LADDERTEST_BOOTSTRAP" "$topic" "$src/schemas" >"$work/back.$fmt"
  /usr/bin/python3 "$work/check.py" "$src/schemas" "$work/back.$fmt" "$fmt" "${files[@]}"
done
# A bad feed: exit 1, and its valid rows are delivered all the same.
set +e
LADDER_INPUT_TOPIC=feed.bad.test "$feed" "$fx/bad.csv" 2>"$work/err.bad"
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$work/err.bad"; echo "FAIL: bad.csv into Kafka gave $rc"; exit 1; }
grep -q '37 rows read, 4 produced (3 events, 1 ticks), 33 rejected, 1 out of order; 7 of 7 messages acknowledged' "$work/err.bad" ||
  { cat "$work/err.bad"; echo "FAIL: bad.csv summary"; exit 1; }
echo "ok - bad.csv into Kafka: exit 1, its 4 valid rows acknowledged"
# Every broker goes down after ladder-feed connected and before its rows
# arrive (on a pipe): the messages time out, and the exit status is 2.
set +e
{ head -n 1 "$fx/application.csv"; sleep 3; tail -n +2 "$fx/application.csv"; } |
  LADDER_KAFKA_MESSAGE_TIMEOUT_MS=2000 "$feed" --format csv - 2>"$work/err.down" &
pid=$!
sleep 1.5
for b in 1 2 3; do echo "broker-down $b" >"$LADDERTEST_KAFKA_FIFO"; done
wait "$pid"
rc=$?
set -e
for b in 1 2 3; do echo "broker-up $b" >"$LADDERTEST_KAFKA_FIFO"; done
[ "$rc" -eq 2 ] && grep -q 'not acknowledged' "$work/err.down" ||
  { cat "$work/err.down"; echo "FAIL: brokers down gave exit $rc"; exit 1; }
cat "$work/err.down"
echo "ok - brokers down: exit 2, the unacknowledged messages reported"
# The idempotent producer's fatal "sequence desynchronization"
# (PITFALLS.md), provoked by the broker: a delivery failure, exit 2.
echo "errors Produce 20 OUT_OF_ORDER_SEQUENCE_NUMBER" >"$LADDERTEST_KAFKA_FIFO"
sleep 0.3
set +e
LADDER_INPUT_TOPIC=feed.fatal.test "$feed" "$fx/application.csv" 2>"$work/err.fatal"
rc=$?
set -e
echo "clear-errors Produce" >"$LADDERTEST_KAFKA_FIFO"
[ "$rc" -eq 2 ] && grep -q 'not acknowledged.*fatal error' "$work/err.fatal" ||
  { cat "$work/err.fatal"; echo "FAIL: a fatal producer error gave exit $rc"; exit 1; }
echo "ok - fatal idempotence error: exit 2, reported"
EOF
"$src/tests/support/with-stack" bash "$work/in-stack.sh" "$feed" "$readback" "$fx" "$work" "$src"
echo "ok - ladder-feed"
