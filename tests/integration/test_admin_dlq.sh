#!/usr/bin/env bash
# ladder-admin dlq against a private stack. A worker dead-letters one
# poison message of every code (tests/support/poison); then:
#  - list shows one line per letter (code, source coordinates as poison
#    sent them, key), and --json, --code, --partition and --limit agree;
#  - show gives the headers, the value size, a hex dump of the bytes sent,
#    the decoded JSON form (or why it does not decode) and the ledger;
#  - usage errors exit 2, a letter that does not exist exits 1;
#  - replay --dry-run sends and writes nothing;
#  - replay of the KEY_MISMATCH letter lands in the murmur2_random
#    partition of the USCC of its value, keyed by it, with the header
#    ladder.replay.of, and the worker decides it (a REFUSED duplicate
#    application whose ce_id names the replayed message);
#  - a second replay is refused (exit 1) and leaves the input topic alone;
#    --again sends it again;
#  - the WRONG_PARTITION letter, replayed by --code, lands in the right
#    partition; the UNKNOWN_REPORTING_UNIT letter is dead-lettered again
#    (the unit still does not exist), with the replayed message as source;
#  - a pending mark in the ledger (a crash between produce and delivery
#    report) refuses the letter and says so, until --again.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
A=$bin/ladder-admin
tests=$(dirname "$bin")/../tests
[ -x "$tests/poison" ] || tests=$(dirname "$bin")/tests
wpid=""
cleanup() { [ -z "$wpid" ] || demo_stop "$wpid" || true; }
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/out" "$work/err"; }
# jget FILE EXPR: EXPR of the JSON object in FILE (as j), printed.
jget() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
ledger=$(/usr/bin/python3 "$src/tests/support/store_keys.py" replays)
# input messages that carry a replay header: "PARTITION OFFSET KEY HEADERS"
replays() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.events.v1 -e -q -f "%p %o %k %h\n" 2>/dev/null | grep "ladder.replay.of=" || true; }
letters() { "$A" dlq list --json >"$work/all.json" && jget "$work/all.json" "j[\"shown\"]"; }
has_letters() { [ "$(letters)" = "$1" ]; }
# sent CODE: "PARTITION OFFSET" of the poison message of CODE
sent() { awk -v c="$1" "\$1 == \"sent\" && \$2 == c {print \$3, \$4}" "$work/sent.txt"; }
# coord CODE [SOURCE]: the DLQ "P:O" of the letter of CODE (from SOURCE
# "topic/p/o" when given), from $work/all.json
coord() { jget "$work/all.json" "[\"%d:%d\" % (l[\"partition\"], l[\"offset\"]) for l in j[\"letters\"] if l[\"code\"] == \"$1\" and (\"${2:-}\" == \"\" or \"%s/%d/%d\" % (l[\"source_topic\"], l[\"source_partition\"], l[\"source_offset\"]) == \"${2:-}\")][0]"; }

"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
lt_wait_join "$work/worker.log" || fail "the worker did not join"
"$tests/poison" produce "$LADDERTEST_BOOTSTRAP" "$src/schemas" >"$work/sent.txt" || fail "poison produce: $(cat "$work/sent.txt")"
good=$(awk "/^sent VALID/ {print \$3}" "$work/sent.txt")
lt_retry 50 0.2 has_letters 8 || fail "the DLQ did not get the 8 poison messages: $(letters)"
ok "the worker dead-lettered 8 poison messages"

# ---- list ----------------------------------------------------------------
"$A" dlq list >"$work/out" || fail "dlq list failed"
[ "$(grep -c "^[0-9]*:[0-9]* " "$work/out")" -eq 8 ] || fail "dlq list did not print 8 letter lines"
grep -q "^8 dead letters shown (8 read from ladder.dlq.v1)" "$work/out" || fail "dlq list: no summary line"
for code in BAD_FRAMING UNKNOWN_SCHEMA DECODE_FAILED INVALID_USCC INVALID_FIELD UNKNOWN_REPORTING_UNIT KEY_MISMATCH WRONG_PARTITION; do
  set -- $(sent $code)
  grep -q "^[0-9]*:[0-9]* $code ladder.events.v1/$1/$2 key=" "$work/out" || fail "dlq list: no $code line from ladder.events.v1/$1/$2"
done
other=$(grep " KEY_MISMATCH " "$work/out" | sed "s/.* key=\([^ ]*\) .*/\1/")
[ "$other" != "$good" ] && [ ${#other} -eq 18 ] || fail "dlq list: the KEY_MISMATCH key is $other"
grep -q "^[0-9]*:[0-9]* BAD_FRAMING .* key=- first byte" "$work/out" || fail "dlq list: an unkeyed letter does not say key=-"
[ "$(jget "$work/all.json" "sorted(l[\"code\"] for l in j[\"letters\"]) == sorted([\"BAD_FRAMING\", \"UNKNOWN_SCHEMA\", \"DECODE_FAILED\", \"INVALID_USCC\", \"INVALID_FIELD\", \"UNKNOWN_REPORTING_UNIT\", \"KEY_MISMATCH\", \"WRONG_PARTITION\"]) and all(l[\"source_topic\"] == \"ladder.events.v1\" and l[\"message\"] for l in j[\"letters\"])")" = True ] || fail "dlq list --json: wrong letters: $(cat "$work/all.json")"
"$A" dlq list --code KEY_MISMATCH --json >"$work/km.json" || fail "dlq list --code failed"
[ "$(jget "$work/km.json" "[(l[\"code\"], l[\"key\"]) for l in j[\"letters\"]] == [(\"KEY_MISMATCH\", \"$other\")]")" = True ] || fail "dlq list --code KEY_MISMATCH: $(cat "$work/km.json")"
"$A" dlq list --limit 3 --json >"$work/lim.json" || fail "dlq list --limit failed"
[ "$(jget "$work/lim.json" "j[\"shown\"] == 3 and len(j[\"letters\"]) == 3 and j[\"truncated\"]")" = True ] || fail "dlq list --limit 3: $(cat "$work/lim.json")"
p=$(jget "$work/all.json" "j[\"letters\"][-1][\"partition\"]")
n=$(jget "$work/all.json" "len([l for l in j[\"letters\"] if l[\"partition\"] == $p])")
"$A" dlq list --partition $p --json >"$work/p.json" || fail "dlq list --partition failed"
[ "$(jget "$work/p.json" "j[\"shown\"] == $n and all(l[\"partition\"] == $p for l in j[\"letters\"])")" = True ] || fail "dlq list --partition $p: $(cat "$work/p.json")"
ok "list: 8 lines with code, source and key; --json, --code, --limit 3 and --partition $p ($n) agree"

# ---- show ----------------------------------------------------------------
km=$(coord KEY_MISMATCH)
"$A" dlq show "$km" >"$work/out" || fail "dlq show $km failed"
for want in "^dead letter ladder.dlq.v1 $km" "ladder.error.code = KEY_MISMATCH" "ladder.source.offset = $(sent KEY_MISMATCH | cut -d" " -f2)" \
    "key        $other (18 bytes)" "value      [0-9]* bytes" "^    0000  00 00 00 00 01" "decoded    ladder.v1.ApplicationSubmitted" \
    "\"event_id\": \"p-key\"" "\"uscc\": \"$good\"" "replay     never replayed"; do
  grep -q -- "$want" "$work/out" || fail "dlq show $km: no \"$want\""
done
"$A" dlq show "$km" --json >"$work/show.json" || fail "dlq show --json failed"
hex=$(awk "\$2 == \"KEY_MISMATCH\" {print \$6}" "$work/sent.txt")
[ "$(jget "$work/show.json" "j[\"value_size\"] == len(\"$hex\") // 2 and j[\"value_hex\"] == \"$hex\"[:128] and j[\"decoded\"][\"uscc\"] == \"$good\" and j[\"record\"] == \"ladder.v1.ApplicationSubmitted\" and j[\"replay\"] is None and [h[\"name\"] for h in j[\"headers\"]] == [\"ladder.error.code\", \"ladder.error.message\", \"ladder.source.topic\", \"ladder.source.partition\", \"ladder.source.offset\"]")" = True ] \
  || fail "dlq show --json: $(cat "$work/show.json")"
bf=$(coord BAD_FRAMING)
"$A" dlq show "$bf" --json >"$work/bf.json" || fail "dlq show $bf failed"
[ "$(jget "$work/bf.json" "j[\"decoded\"] is None and \"first byte\" in j[\"decode_error\"] and j[\"key\"] is None and j[\"value_hex\"] == \"6e6f74206176726f20617420616c6c\"")" = True ] || fail "dlq show BAD_FRAMING: $(cat "$work/bf.json")"
"$A" dlq show "$bf" >"$work/out" && grep -q "decoded    no: " "$work/out" || fail "dlq show BAD_FRAMING text does not say it does not decode"
ok "show: headers, key, size, hex dump of the bytes sent, decoded JSON (and why BAD_FRAMING does not decode)"

# ---- usage ---------------------------------------------------------------
expect() { # STATUS PATTERN ARGS...: ladder-admin dlq ARGS exits STATUS, stderr matches PATTERN
  local want=$1 pat=$2 s=0; shift 2
  "$A" dlq "$@" >"$work/out" 2>"$work/err" || s=$?
  [ "$s" -eq "$want" ] || fail "dlq $* exited $s, want $want: $(cat "$work/err")"
  grep -q -- "$pat" "$work/err" || fail "dlq $*: stderr does not say \"$pat\": $(cat "$work/err")"
}
expect 2 "give list, show or replay"
expect 2 "unknown action \"frob\"" frob
expect 2 "not a dead-letter code: FOO" list --code FOO
expect 2 "not a partition number: x" list --partition x
expect 2 "--partition: ladder.dlq.v1 has 4 partitions" list --partition 4
expect 2 "--limit: not 1.." list --limit 0
expect 2 "give one PARTITION:OFFSET" show
expect 2 "not PARTITION:OFFSET: \"3\"" show 3
expect 2 "ladder.dlq.v1 has 4 partitions" show 9:0
expect 1 "no dead letter at 0:999" show 0:999
expect 2 "choose letters" replay
expect 2 "are for replay" list --again
expect 2 "not both" replay --all --code KEY_MISMATCH
expect 2 "narrows --code or --all" replay 0:0 --partition 1
"$A" dlq --help >"$work/out" && grep -q "ladder.replay.of" "$work/out" || fail "dlq --help does not name the replay header"
ok "usage errors exit 2 naming what is wrong; a missing letter exits 1"

# ---- replay --------------------------------------------------------------
"$A" dlq replay --dry-run --code KEY_MISMATCH >"$work/out" || fail "replay --dry-run failed: $(cat "$work/out")"
p_good=$(sent UNKNOWN_REPORTING_UNIT | cut -d" " -f1) # keyed by the good USCC, in its partition
grep -q "^would replay $km KEY_MISMATCH to ladder.events.v1 partition $p_good, key $good (the USCC of its value)" "$work/out" || fail "dry run: $(cat "$work/out")"
[ -z "$(replays)" ] && [ "$(demo_redis exists "$ledger")" = 0 ] || fail "the dry run sent or wrote something"
ok "replay --dry-run says where it would go and sends nothing"

"$A" dlq replay "$km" --json >"$work/r.json" || fail "replay $km failed: $(cat "$work/r.json")"
as=$(jget "$work/r.json" "j[\"letters\"][0][\"replayed_as\"]")
[ "$(jget "$work/r.json" "j[\"replayed\"] == 1 and j[\"letters\"][0][\"outcome\"] == \"replayed\" and j[\"letters\"][0][\"key\"] == \"$good\" and j[\"letters\"][0][\"key_from\"] == \"uscc\"")" = True ] || fail "replay --json: $(cat "$work/r.json")"
[ "${as%/*}" = "ladder.events.v1/$p_good" ] || fail "the KEY_MISMATCH replay went to $as, not partition $p_good of its USCC"
set -- $(replays)
[ "$1/$2 $3 $4" = "$p_good/${as##*/} $good ladder.replay.of=ladder.dlq.v1/${km%:*}/${km#*:}" ] || fail "the input topic holds \"$*\""
case "$(demo_redis hget "$ledger" "ladder.dlq.v1/${km%:*}/${km#*:}")" in "done "*" $as") ;; *) fail "the ledger does not say done $as";; esac
ok "KEY_MISMATCH $km replayed as $as: keyed $good, partition $p_good (murmur2_random), header ladder.replay.of, ledger done"
ce="${p_good}-${as##*/}-0"
decided() { kcat -C -b "$LADDERTEST_BOOTSTRAP" -t ladder.decisions.v1 -e -q -f "%k %h\n" 2>/dev/null | grep -q "^$good .*ce_id=$ce,ce_type=ladder.decision.REFUSED"; }
lt_retry 50 0.2 decided || fail "the worker did not decide the replayed message (no decision $ce)"
"$A" enterprise "$good" --json >"$work/ent.json" || fail "enterprise $good"
[ "$(jget "$work/ent.json" "any(h[\"cause_event_id\"] == \"p-key\" and h[\"offset\"] == ${as##*/} for h in j[\"history\"])")" = True ] || fail "the history of $good lacks the replayed p-key"
ok "the worker decided the replayed KEY_MISMATCH letter (decision $ce: REFUSED, a duplicate application)"

s=0; "$A" dlq replay "$km" >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] || fail "a second replay exited $s, want 1"
grep -q "^refused $km KEY_MISMATCH: already replayed at .* as $as; --again" "$work/out" || fail "second replay: $(cat "$work/out")"
[ "$(replays | wc -l)" -eq 1 ] || fail "the refused replay sent something"
"$A" dlq replay "$km" --again >"$work/out" || fail "replay --again failed: $(cat "$work/out")"
grep -q "^replayed $km KEY_MISMATCH as ladder.events.v1/$p_good/" "$work/out" || fail "replay --again: $(cat "$work/out")"
[ "$(replays | wc -l)" -eq 2 ] || fail "replay --again did not send it again"
ok "a second replay is refused (exit 1, nothing sent); --again sends it again"

# ---- by code: WRONG_PARTITION lands right; UNKNOWN_REPORTING_UNIT comes back
"$A" dlq replay --code WRONG_PARTITION >"$work/out" || fail "replay --code WRONG_PARTITION: $(cat "$work/out")"
wrong=$(sent WRONG_PARTITION | cut -d" " -f1)
[ "$wrong" != "$p_good" ] || fail "poison sent WRONG_PARTITION to the right partition"
grep -q "^replayed $(coord WRONG_PARTITION) WRONG_PARTITION as ladder.events.v1/$p_good/[0-9]*, key $good" "$work/out" || fail "WRONG_PARTITION: $(cat "$work/out")"
"$A" dlq replay --code UNKNOWN_REPORTING_UNIT --json >"$work/u.json" || fail "replay --code UNKNOWN_REPORTING_UNIT: $(cat "$work/u.json")"
uas=$(jget "$work/u.json" "j[\"letters\"][0][\"replayed_as\"]")
lt_retry 50 0.2 has_letters 9 || fail "the replayed UNKNOWN_REPORTING_UNIT letter was not dead-lettered again"
[ -n "$(coord UNKNOWN_REPORTING_UNIT "$uas")" ] || fail "no new UNKNOWN_REPORTING_UNIT letter from $uas"
ok "WRONG_PARTITION (sent to $wrong) replayed into partition $p_good; UNKNOWN_REPORTING_UNIT dead-lettered again from $uas"

# ---- a pending mark (crash between produce and delivery report) -------------
inv=$(coord INVALID_FIELD)
demo_redis hset "$ledger" "ladder.dlq.v1/${inv%:*}/${inv#*:}" "pending 1700000000000" >/dev/null
s=0; "$A" dlq replay "$inv" >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] && grep -q "^refused $inv INVALID_FIELD: a replay started at 2023-11-14T22:13:20.000Z was never confirmed .*ladder.replay.of=ladder.dlq.v1/${inv%:*}/${inv#*:}" "$work/out" \
  || fail "a pending letter gave $s: $(cat "$work/out")"
"$A" dlq show "$inv" >"$work/out" && grep -q "replay     pending 1700000000000" "$work/out" || fail "show does not give the pending mark"
"$A" dlq replay "$inv" --again --json >"$work/i.json" || fail "replay --again of a pending letter: $(cat "$work/i.json")"
ias=$(jget "$work/i.json" "j[\"letters\"][0][\"replayed_as\"]")
case "$(demo_redis hget "$ledger" "ladder.dlq.v1/${inv%:*}/${inv#*:}")" in "done "*) ;; *) fail "the ledger did not move from pending to done";; esac
lt_retry 50 0.2 has_letters 10 || fail "the replayed INVALID_FIELD letter was not dead-lettered again"
[ -n "$(coord INVALID_FIELD "$ias")" ] || fail "no new INVALID_FIELD letter from $ias"
ok "a pending mark refuses the letter and says how to check; --again replays it (dead-lettered again from $ias) and the ledger says done"

s=0; "$A" dlq replay --all --dry-run >"$work/out" 2>&1 || s=$?
[ "$s" -eq 1 ] && grep -q "^dry run: 6 would be replayed, 4 refused (10 chosen); nothing was sent" "$work/out" || fail "replay --all --dry-run gave $s: $(tail -1 "$work/out")"
ok "replay --all --dry-run: $(tail -1 "$work/out")"

# ---- brokers that do not answer ----------------------------------------------
# Brokers 2 and 3 hold every answer back for two minutes, and the command
# knows only broker 1 at first (so the topic metadata comes back): the log
# bounds of the partitions that 2 and 3 lead time out with --timeout-ms,
# and the command says so and exits 3. It used to wait for each of them up
# to socket.timeout.ms (a minute).
for b in 2 3; do echo "rtt $b 120000" >"$LADDERTEST_KAFKA_FIFO"; done
t0=$(date +%s%N); s=0
LADDER_KAFKA_BOOTSTRAP_SERVERS=${LADDERTEST_BOOTSTRAP%%,*} "$A" --timeout-ms 2000 dlq list >"$work/out" 2>"$work/err" || s=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for b in 2 3; do echo "rtt $b 0" >"$LADDERTEST_KAFKA_FIFO"; done
[ "$s" -eq 3 ] && grep -q "^ladder-admin dlq: log starts of ladder.dlq.v1 (4 partitions): Local: Timed out" "$work/err" \
  || fail "with brokers 2 and 3 silent, dlq list gave $s: $(cat "$work/err")"
[ "$ms" -lt 15000 ] || fail "with brokers 2 and 3 silent, dlq list took $ms ms (--timeout-ms 2000)"
ok "with brokers 2 and 3 silent, dlq list gives up after $ms ms (--timeout-ms 2000): $(cat "$work/err")"
'
