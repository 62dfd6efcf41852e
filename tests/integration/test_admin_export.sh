#!/usr/bin/env bash
# ladder-admin export writes the decisions of a time range, once each, to an
# Avro object container file that python3-avro reads: the header keeps the
# .avsc text (logicalType timestamp-millis), effective_at comes back as a
# datetime, and the file holds exactly the distinct decision_ids in
# [from, to) that ladder-decisions reads from the topic, even after copies
# of a decision were published again. An empty range gives a valid empty
# file; bad times and from >= to are usage errors. When the head of a
# decisions partition is gone (evicted by the embedded cluster, as in
# test_admin_evicted.sh), the export is refused with exit status 1 naming
# the partition and leaves no file, and --allow-partial exports what is
# left.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
A=$bin/ladder-admin
T=ladder.decisions.v1
wpid=""
cleanup() { [ -z "$wpid" ] || demo_stop "$wpid" || true; }
on_fail() { lt_show_logs 10 "$work/worker.log" "$work/out" "$work/err"; }
# jget FILE EXPR: EXPR of the JSON object in FILE (as j), printed.
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# jvals FILE KEY...: the values of KEY... in the JSON object in FILE.
jvals() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(*(j[k] for k in sys.argv[2:]))" "$@"; }
# copies P OFFSET N: publishes N copies of message OFFSET of partition P
# again into P (kcat splits its input on a byte the message lacks).
copies() {
  kcat -C -b "$LADDERTEST_BOOTSTRAP" -t $T -p "$1" -o "$2" -c 1 -e -f "%s" >"$work/one.bin" 2>/dev/null
  /usr/bin/python3 "$work/check.py" copies "$work/one.bin" "$3" "$work/many.bin" >"$work/delim"
  kcat -P -b "$LADDERTEST_BOOTSTRAP" -t $T -p "$1" -D "\\x$(cat "$work/delim")" \
    -X linger.ms=50 -X batch.num.messages=10000 -l "$work/many.bin"
}

cat >"$work/check.py" <<"PY"
import datetime, json, sys

def ms(s):
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)

def decisions(path):
    return [json.loads(line) for line in open(path)]

mode = sys.argv[1]
if mode == "copies":
    # copies MSG N OUT: N copies of MSG joined by a byte MSG lacks (printed)
    b = open(sys.argv[2], "rb").read()
    c = [x for x in range(1, 256) if x not in b][0]
    open(sys.argv[4], "wb").write(bytes([c]).join([b] * int(sys.argv[3])))
    print("%02x" % c)
elif mode == "range":
    # range JSONL IDS: a range from the 1st to the 3rd quartile of the
    # effective_at values, both bounds the time of some decision; writes
    # the distinct ids in [from, to) to IDS, prints "FROM TO COUNT"
    ds = decisions(sys.argv[2])
    ts = sorted(set(d["effective_at"] for d in ds))
    lo, hi = ts[len(ts) // 4], ts[3 * len(ts) // 4]
    ids = sorted(set(d["decision_id"] for d in ds if lo <= d["effective_at"] < hi))
    assert any(d["effective_at"] == hi for d in ds)
    open(sys.argv[3], "w").write("\n".join(ids) + "\n")
    print(lo, hi, len(ids))
elif mode == "left":
    # left JSONL START ID IDS: the ids still in the topic once partition 0
    # starts at START and holds copies of ID (all in range)
    ds = decisions(sys.argv[2])
    start = int(sys.argv[3])
    ids = set(d["decision_id"] for d in ds if d["partition"] != 0 or d["offset"] >= start)
    ids.add(sys.argv[4])
    open(sys.argv[5], "w").write("\n".join(sorted(ids)) + "\n")
    print(len(ids))
elif mode == "avro":
    # avro FILE AVSC FROM TO IDS: the container as python3-avro reads it
    import avro.datafile, avro.io
    path, avsc, lo, hi, want = sys.argv[2:7]
    with avro.datafile.DataFileReader(open(path, "rb"), avro.io.DatumReader()) as r:
        text = r.meta["avro.schema"]
        assert r.meta.get("avro.codec", b"null") == b"null", r.meta
        recs = list(r)
    assert text == open(avsc, "rb").read(), "avro.schema is not the .avsc text"
    fields = {f["name"]: f["type"] for f in json.loads(text)["fields"]}
    assert fields["effective_at"] == {"type": "long", "logicalType": "timestamp-millis"}, fields["effective_at"]
    lo_t = datetime.datetime.fromtimestamp(ms(lo) / 1000, datetime.timezone.utc)
    hi_t = datetime.datetime.fromtimestamp(ms(hi) / 1000, datetime.timezone.utc)
    for rec in recs:
        t = rec["effective_at"]
        assert isinstance(t, datetime.datetime), "effective_at is %r" % (t,)
        assert lo_t <= t < hi_t, "%s outside [%s, %s)" % (t, lo, hi)
    got = [rec["decision_id"] for rec in recs]
    assert len(got) == len(set(got)), "%d duplicate ids" % (len(got) - len(set(got)))
    expect = set(l for l in open(want).read().split("\n") if l)
    assert set(got) == expect, "%d ids missing, %d extra" % (len(expect - set(got)), len(set(got) - expect))
    print(len(recs))
PY

# ---- a small history, decided and published ---------------------------
"$bin/ladder-gen" --scale 0.001 --seed 3 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >/dev/null 2>&1 || fail "ladder-feed"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS=$wpid demo_wait_caught_up "$total" 30 || fail "the worker did not store the $total events"
demo_stop "$wpid"; wpid=""
n=$(demo_topic_total $T)
"$bin/ladder-decisions" --count "$n" --idle-ms 300 >"$work/dec.jsonl" 2>"$work/err" || fail "ladder-decisions"
[ "$(wc -l <"$work/dec.jsonl")" -eq "$n" ] || fail "ladder-decisions read $(wc -l <"$work/dec.jsonl") of $n"
read -r from to want <<<"$(/usr/bin/python3 "$work/check.py" range "$work/dec.jsonl" "$work/want")"
[ "$want" -gt 10 ] || fail "the range [$from, $to) holds only $want decisions"
ok "$n decisions published; [$from, $to) holds $want distinct ids"

# copies of a decision in range: the export keeps one
read -r dp doff < <(/usr/bin/python3 -c "import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if sys.argv[2] <= d[\"effective_at\"] < sys.argv[3]:
        print(d[\"partition\"], d[\"offset\"]); break" "$work/dec.jsonl" "$from" "$to")
copies "$dp" "$doff" 3 || fail "kcat could not publish the copies"
[ "$(demo_topic_total $T)" -eq $((n + 3)) ] || fail "the copies were not published"

# ---- the range -------------------------------------------------------
s=0; "$A" export --from "$from" --to "$to" --out "$work/range.avro" --json >"$work/out" 2>"$work/err" || s=$?
[ "$s" -eq 0 ] || fail "export exited $s: $(cat "$work/err")"
[ "$(jvals "$work/out" outcome decisions duplicates partial messages)" = "exported $want 3 False $((n + 3))" ] || fail "--json summary: $(cat "$work/out")"
got=$(/usr/bin/python3 "$work/check.py" avro "$work/range.avro" "$src/schemas/designation_decision.avsc" "$from" "$to" "$work/want" 2>&1) || fail "python3-avro: $got"
ok "export [$from, $to): $got decisions, the ids ladder-decisions reads, 3 copies dropped, timestamp-millis kept"
ls "$work"/*.tmp.* >/dev/null 2>&1 && fail "a temporary file was left behind"

"$A" export --from "$from" --to "$to" --out "$work/range.avro" >"$work/out" 2>"$work/err" || fail "export (text) failed: $(cat "$work/err")"
grep -q "^exported $want decisions with effective_at in \[$from, $to) to $work/range.avro" "$work/out" || fail "text summary: $(cat "$work/out")"
ok "text: $(cut -c1-90 "$work/out")"

# ---- an empty range, bad usage ---------------------------------------
: >"$work/want0"
s=0; "$A" export --from 2001-01-01T00:00:00Z --to 2001-02-01T00:00:00+08:00 --out "$work/empty.avro" >"$work/out" 2>"$work/err" || s=$?
[ "$s" -eq 0 ] || fail "an empty range exited $s: $(cat "$work/err")"
got=$(/usr/bin/python3 "$work/check.py" avro "$work/empty.avro" "$src/schemas/designation_decision.avsc" 2001-01-01T00:00:00.000Z 2001-02-01T00:00:00.000Z "$work/want0" 2>&1) || fail "python3-avro (empty): $got"
[ "$got" = 0 ] || fail "the empty range holds $got decisions"
ok "an empty range: a valid container with 0 decisions"

for bad in "--from $to --to $from" "--from $from --to $from" "--from 2022-13-01T00:00:00Z --to $to" "--from $from --to tomorrow" "--from $from --to $to --out $work/no/such/dir/x.avro" "--from $from"; do
  case "$bad" in *--out*) o="" ;; *) o="--out $work/bad.avro" ;; esac
  s=0; "$A" export $bad $o >"$work/out" 2>"$work/err" || s=$?
  [ "$s" -eq 2 ] || fail "export $bad exited $s, want 2"
  [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "^ladder-admin export: " "$work/err" || fail "export $bad: not one clear line: $(cat "$work/err")"
  [ ! -e "$work/bad.avro" ] || fail "export $bad wrote a file"
done
grep -q "is not before --to" <("$A" export --from "$to" --to "$from" --out "$work/bad.avro" 2>&1) || fail "from >= to is not explained"
ok "from >= to, bad times, an unwritable --out, a missing option: exit 2, one line each"

# ---- the head of partition 0 evicted ---------------------------------
# About 8 MB of copies of its first decision into partition 0: the
# embedded cluster keeps about 5 MiB per partition and evicts the head.
id0=$(/usr/bin/python3 -c "import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d[\"partition\"] == 0 and d[\"offset\"] == 0: print(d[\"decision_id\"])" "$work/dec.jsonl")
copies 0 0 50000 || fail "kcat could not publish the copies"
start=$(kcat -Q -b "$LADDERTEST_BOOTSTRAP" -t $T:0:-2 2>/dev/null | sed -nE "s/.*offset ([0-9]+).*/\1/p")
[ "${start:-0}" -gt 0 ] || fail "precondition: the cluster evicted nothing (log starts at ${start:-?})"
echo old >"$work/all.avro"
s=0; "$A" export --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z --out "$work/all.avro" >"$work/out" 2>"$work/err" || s=$?
[ "$s" -eq 1 ] || fail "export with the head gone exited $s, want 1: $(cat "$work/err")"
grep -q "refused: the decisions topic no longer holds the start of the range.*$T/0 starts at offset $start" "$work/err" || fail "the refusal does not name the partition: $(cat "$work/err")"
[ "$(cat "$work/all.avro")" = old ] || fail "a refused export replaced the file"
ls "$work"/*.tmp.* >/dev/null 2>&1 && fail "a refused export left a temporary file"
ok "refused: $(cut -c1-110 "$work/err")"
left=$(/usr/bin/python3 "$work/check.py" left "$work/dec.jsonl" "$start" "$id0" "$work/want2")
s=0; "$A" export --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z --out "$work/all.avro" --allow-partial --json >"$work/out" 2>"$work/err" || s=$?
[ "$s" -eq 0 ] || fail "export --allow-partial exited $s: $(cat "$work/err")"
grep -q "warning: partial export.*$T/0 starts at offset $start" "$work/err" || fail "no warning on stderr: $(cat "$work/err")"
[ "$(jvals "$work/out" partial decisions) $(jget "$work/out" "[p[\"partition\"] for p in j[\"partial_partitions\"]]")" = "True $left [0]" ] || fail "--json: $(cat "$work/out")"
got=$(/usr/bin/python3 "$work/check.py" avro "$work/all.avro" "$src/schemas/designation_decision.avsc" 2000-01-01T00:00:00.000Z 2100-01-01T00:00:00.000Z "$work/want2" 2>&1) || fail "python3-avro (partial): $got"
ok "--allow-partial: exit 0, $got decisions left, $(jget "$work/out" "j[\"duplicates\"]") duplicates dropped"
' "$src" "$bin"
