#!/usr/bin/env bash
# test_ladder_kafka.sh -- ladder-kafka announces a working cluster, takes
# fault-injection commands on its FIFO without dying of bad ones, and stops
# cleanly on SIGTERM.
#
# Needs LADDERTEST_SRC, LADDERTEST_BIN (the build's bin directory) and kcat. The cluster runs
# with --die-with-parent and the EXIT trap kills it, so a failing or killed
# test never leaves one behind.
. "$(dirname "$0")/../support/lib.sh"
lt_init
KAFKA="$bin/ladder-kafka"
PY=/usr/bin/python3
TOPICS=(ladder.events.v1 ladder.decisions.v1 ladder.dlq.v1)

lt_tmpdir tmp ladder-kafka-test
pid=

cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

on_fail() {
    if [[ -s $tmp/err ]]; then
        echo "--- ladder-kafka stderr:"
        sed 's/^/  /' "$tmp/err"
    fi
}

# Is the cluster still running? (A child that has exited stays a zombie
# until we wait for it, and kill -0 succeeds on a zombie.)
running() {
    local state
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) ||
        return 1
    [[ -n $state && $state != Z ]]
}

# Waits up to $2 tenths of a second for the exact line $1 on stderr.
wait_stderr_line() {
    local i
    for ((i = 0; i < $2; i++)); do
        grep -qxF -- "$1" "$tmp/err" && return 0
        running || return 1
        sleep 0.1
    done
    return 1
}

# Writes one command line into the control FIFO. Bounded: opening a FIFO
# for writing blocks while nobody reads it.
control() {
    [[ -p $tmp/control ]] || fail "control FIFO $tmp/control is missing"
    timeout 5 bash -c 'printf "%s\n" "$1" > "$2"' _ "$1" "$tmp/control" ||
        fail "could not write '$1' into the control FIFO"
}

command -v kcat >/dev/null || fail "kcat is not installed"
[[ -x $KAFKA ]] || fail "$KAFKA is not built"

# --- options ---------------------------------------------------------------

rc=0
"$KAFKA" --partitions 0 >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
[[ $rc -eq 2 ]] || fail "--partitions 0 exited $rc, expected 2"
grep -q -- '--partitions' "$tmp/bad.err" ||
    fail "--partitions 0: message does not name the option: $(cat "$tmp/bad.err")"
[[ $(wc -l <"$tmp/bad.err") -eq 1 ]] ||
    fail "--partitions 0: expected one line on stderr, got: $(cat "$tmp/bad.err")"
ok "--partitions 0 exits 2 naming --partitions: $(cat "$tmp/bad.err")"

rc=0
"$KAFKA" --help >"$tmp/help.out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "--help exited $rc"
grep -q '^Usage: ladder-kafka' "$tmp/help.out" || fail "--help prints no usage"
grep -q '5 MiB' "$tmp/help.out" || fail "--help does not mention the 5 MiB retention"
ok "--help exits 0 and documents the retention limit"

# --- start-up ----------------------------------------------------------------

# Created here: the background job opens them only after the fork, and the
# wait loop below must not race it.
: >"$tmp/out"
: >"$tmp/err"
"$KAFKA" --partitions 8 --bootstrap-file "$tmp/bootstrap" \
    --control-fifo "$tmp/control" --die-with-parent \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!

for ((i = 0; i < 100; i++)); do
    [[ $(wc -l <"$tmp/out") -ge 1 ]] && break
    running || fail "ladder-kafka exited during start-up"
    sleep 0.1
done
[[ $(wc -l <"$tmp/out") -ge 1 ]] || fail "no bootstrap line on stdout within 10 s"
bootstrap=$(head -n 1 "$tmp/out")
[[ $bootstrap =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]] ||
    fail "first stdout line is not a list of 3 brokers: '$bootstrap'"
ok "first stdout line is the bootstrap list: $bootstrap"

[[ -f $tmp/bootstrap ]] || fail "bootstrap file was not written"
[[ $(cat "$tmp/bootstrap") == "$bootstrap" ]] ||
    fail "bootstrap file '$(cat "$tmp/bootstrap")' differs from stdout '$bootstrap'"
[[ $(tail -c 1 "$tmp/bootstrap" | od -An -c | tr -d ' ') == '\n' ]] ||
    fail "bootstrap file does not end in a newline"
ok "bootstrap file equals the first stdout line"

[[ -p $tmp/control ]] || fail "control FIFO was not created"
ok "control FIFO exists"

# --- metadata ----------------------------------------------------------------

timeout 20 kcat -L -b "$bootstrap" -J >"$tmp/metadata.json" 2>"$tmp/kcat.err" ||
    fail "kcat -L failed: $(cat "$tmp/kcat.err")"
summary=$("$PY" - "$tmp/metadata.json" "${TOPICS[@]}" <<'EOF'
import json, sys

md = json.load(open(sys.argv[1]))
want = sys.argv[2:]
problems = []
if len(md["brokers"]) != 3:
    problems.append("%d brokers, expected 3" % len(md["brokers"]))
topics = {t["topic"]: t for t in md["topics"]}
for name in want:
    t = topics.get(name)
    if t is None:
        problems.append("topic %s missing" % name)
        continue
    if t.get("error"):
        problems.append("topic %s has error %s" % (name, t["error"]))
    parts = t["partitions"]
    if sorted(p["partition"] for p in parts) != list(range(8)):
        problems.append("topic %s has %d partitions, expected 8"
                        % (name, len(parts)))
    for p in parts:
        if len(p.get("replicas", [])) != 3:
            problems.append("%s [%d] has %d replicas, expected 3"
                            % (name, p["partition"], len(p.get("replicas", []))))
extra = sorted(set(topics) - set(want))
if extra:
    problems.append("unexpected topics: %s" % ", ".join(extra))
if problems:
    print("; ".join(problems))
    sys.exit(1)
print("%d brokers; %s" % (len(md["brokers"]),
      ", ".join("%s(%d)" % (n, len(topics[n]["partitions"])) for n in want)))
EOF
) || fail "metadata: $summary"
ok "metadata: $summary, 3 replicas each"

# --- produce and consume -----------------------------------------------------

# Reads partition 0 of ladder.events.v1 from the beginning to its end.
consume() {
    timeout 30 kcat -C -b "$bootstrap" -t ladder.events.v1 -p 0 \
        -o beginning -e -q 2>"$tmp/kcat.err" ||
        fail "kcat -C failed: $(cat "$tmp/kcat.err")"
}

tag="ladder-kafka-test-$$"
printf '%s-1\n%s-2\n%s-3\n' "$tag" "$tag" "$tag" |
    timeout 30 kcat -P -b "$bootstrap" -t ladder.events.v1 -p 0 \
        2>"$tmp/kcat.err" || fail "kcat -P failed: $(cat "$tmp/kcat.err")"
got=$(consume)
want=$(printf '%s-1\n%s-2\n%s-3' "$tag" "$tag" "$tag")
[[ $got == "$want" ]] || fail "consumed '$got', expected '$want'"
ok "3 messages produced to ladder.events.v1 [0] and consumed back in order"

# --- control FIFO ------------------------------------------------------------

control "broker-down 1"
wait_stderr_line "ladder-kafka: control: broker-down 1: ok" 50 ||
    fail "no 'broker-down 1: ok' on stderr"
ok "broker-down 1 reported ok"

control "broker-up 1"
wait_stderr_line "ladder-kafka: control: broker-up 1: ok" 50 ||
    fail "no 'broker-up 1: ok' on stderr"
ok "broker-up 1 reported ok"

got=$(consume)
[[ $got == "$want" ]] || fail "after broker-down/up: consumed '$got', expected '$want'"
ok "cluster still serves the 3 messages after broker-down/up"

control "frobnicate 1 2"
control "broker-down 9"
control "rtt 1 12abc"
control "broker-up 2"
wait_stderr_line "ladder-kafka: control: broker-up 2: ok" 50 ||
    fail "no 'broker-up 2: ok' after the malformed commands"
grep -qF "ladder-kafka: control: frobnicate 1 2: error: unknown command" \
    "$tmp/err" || fail "unknown command not reported"
grep -qF "ladder-kafka: control: broker-down 9: error: BROKER_ID '9'" \
    "$tmp/err" || fail "out-of-range broker id not reported"
grep -qF "ladder-kafka: control: rtt 1 12abc: error: MS '12abc'" \
    "$tmp/err" || fail "malformed number not reported"
running || fail "ladder-kafka died after malformed commands"
ok "malformed commands reported and ignored; process alive and still obeys"

# --- stop --------------------------------------------------------------------

kill -TERM "$pid"
for ((i = 0; i < 50; i++)); do
    running || break
    sleep 0.1
done
if running; then fail "still running 5 s after SIGTERM"; fi
rc=0
wait "$pid" || rc=$?
pid=
[[ $rc -eq 0 ]] || fail "exit status $rc after SIGTERM, expected 0"
grep -qxF "ladder-kafka: stopped" "$tmp/err" || fail "no 'stopped' on stderr"
if [[ -e $tmp/control ]]; then fail "control FIFO not removed at exit"; fi
[[ $(wc -l <"$tmp/out") -eq 1 ]] ||
    fail "stdout holds more than the bootstrap line: $(cat "$tmp/out")"
ok "SIGTERM: exit status 0 within 5 s, control FIFO removed, stdout is one line"
