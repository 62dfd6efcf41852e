#!/usr/bin/env bash
# No secret in any output. Distinct secrets are planted -- the password of
# a Redis ACL user on the private redis-server (one with an '@' in it too),
# the API token, two webhook secrets, a webhook URL's secret path, a Kafka
# SASL password and the schema registry's basic-auth password -- and every
# program of build/bin runs with them, at debug level, in text and JSON log
# formats: the services (ladder-worker, ladder-api, ladder-notify, with
# /metrics, /livez and /readyz asked without a token), the tools
# (ladder-gen --kafka, ladder-feed, ladder-decisions, ladder-roundtrip,
# ladder-notify-bench, ladder-loadgen, ladder-policy, ladder-whatif, every ladder-admin
# command, ladder-registry, ladder-kafka, ladder-bench's refusal) and their
# --help; then each start-up error a secret-bearing key can cause: a bad
# value, a config line without '=', an unreachable Redis, registry or
# webhook with the secret in its URL, a Kafka that does not speak SASL.
# Every stdout, stderr, log and HTTP answer is kept as
# out/<program>.<case>.<stream> and searched for every secret; a hit fails
# the test naming program, case, output and secret. /readyz of ladder-api
# without the token also may not tell the Redis address or the error.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" --partitions 2 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
out=$work/out conf=$work/conf
mkdir -p "$out" "$conf"
tests=$(dirname "$bin")/../tests
[ -x "$tests/poison" ] || tests=$(dirname "$bin")/tests
pids=""
cleanup() { for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done; }
on_fail() { lt_show_logs 5 "$out"/ladder-{worker,api,notify}.run.err; }

# ---- the secrets ------------------------------------------------------------
RPW=Rpw-7c1e-redis-acl-pass
RPW_AT1=Rat-31f0-before RPW_AT2=after-at-9b2e # one password: RPW_AT1@RPW_AT2
RPW_BAD=Rbad-64d2-wrong-pass
TOK=Tok-5a9d-api-token-4f0b2c7e91
WHS=Whs-4b2f-webhook-secret-8d3c1a7e5f609b2d
WHS_SHORT=Wsh-0e7a-short
WHP=whp-8e3a-secret-path
SASL=Sasl-2d6c-kafka-pass
REG=Reg-9f41-registry-pass
secrets="RPW RPW_AT1 RPW_AT2 RPW_BAD TOK WHS WHS_SHORT WHP SASL REG"

hostport=127.0.0.1:$LADDERTEST_REDIS_PORT
redis-cli -u "$LADDERTEST_REDIS_URL" ACL SETUSER ladder on ">$RPW" "~*" "&*" "+@all" >/dev/null ||
  fail "cannot create the ACL user ladder"
redis-cli -u "$LADDERTEST_REDIS_URL" ACL SETUSER atuser on ">$RPW_AT1@$RPW_AT2" "~*" "&*" "+@all" >/dev/null ||
  fail "cannot create the ACL user atuser"
dead=$(demo_free_port) # nothing listens there

# run NAME CASE ARG...: $bin/NAME ARG... (at most 30 s), its stdout and
# stderr kept as out/NAME.CASE.out and .err; rc = its exit status.
run() {
  local name=$1 case=$2
  shift 2
  rc=0
  timeout 30 "$bin/$name" "$@" >"$out/$name.$case.out" 2>"$out/$name.$case.err" </dev/null || rc=$?
}
# refused NAME CASE ARG...: run, which must fail with a message on stderr.
refused() {
  run "$@"
  [ "$rc" -ne 0 ] || fail "$1 $2: started or succeeded, but should have failed"
  [ "$rc" -ne 124 ] || fail "$1 $2: still running after 30 s"
  [ -s "$out/$1.$2.err" ] || [ -s "$out/$1.$2.out" ] || fail "$1 $2: failed without a word"
}
# page NAME CASE URL: GET URL without a token into out/NAME.CASE.
page() { curl -s -m 5 "$3" >"$out/$1.$2" || true; }
# start NAME CASE ARG...: NAME in the background; pid in $started.
start() {
  local name=$1 case=$2
  shift 2
  "$bin/$name" "$@" >"$out/$name.$case.out" 2>"$out/$name.$case.err" </dev/null &
  started=$!
  pids="$pids $started"
}
stop() { # PID: SIGTERM, then wait
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ---- the secrets, where every program finds them ----------------------------
"$bin/ladder-registry" --listen 127.0.0.1:0 --port-file "$work/reg.port" \
  --basic-auth "reg:$REG" >"$out/ladder-registry.run.out" 2>"$out/ladder-registry.run.err" &
pids="$pids $!"
lt_wait_file "$work/reg.port" || fail "ladder-registry did not start"
regurl=http://127.0.0.1:$(cat "$work/reg.port")
/usr/bin/python3 "$src/tests/integration/test_notify_receiver.py" --port-file "$work/recv.port" \
  --log "$work/recv.jsonl" --route "hooks/$WHP=ok:$WHS" 2>"$work/recv.err" &
pids="$pids $!"
lt_wait_file "$work/recv.port" || fail "the webhook receiver did not start"
hook=http://127.0.0.1:$(cat "$work/recv.port")/hooks/$WHP

export LADDER_LOG_LEVEL=debug
export LADDER_REDIS_URL=redis://ladder:$RPW@$hostport/0
export LADDER_API_TOKEN=$TOK
export LADDER_KAFKA_SASL_USERNAME=ladder LADDER_KAFKA_SASL_PASSWORD=$SASL
export LADDER_SCHEMA_REGISTRY_URL=$regurl LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=reg:$REG
export LADDER_NOTIFY_SUBSCRIBER_HOOK_URL=$hook LADDER_NOTIFY_SUBSCRIBER_HOOK_SECRET=$WHS
export LADDER_NOTIFY_SUBSCRIBER_GONE_URL=http://127.0.0.1:$dead/gone/$WHP
export LADDER_NOTIFY_SUBSCRIBER_GONE_SECRET=$WHS
export LADDER_NOTIFY_MAX_ATTEMPTS=2 LADDER_NOTIFY_BACKOFF_INITIAL_MS=50 LADDER_NOTIFY_BACKOFF_MAX_MS=100
export LADDER_NOTIFY_DEADLETTER_FILE=$out/ladder-notify.run.deadletter

# ---- --help of every program, with every secret set --------------------------
progs=$(cd "$bin" && ls)
for p in $progs; do
  run "$p" help --help
  [ "$rc" -eq 0 ] || fail "$p --help exited $rc"
done
ok "--help of $(echo $progs | wc -w) programs: $(echo $progs)"

# ---- normal runs -------------------------------------------------------------
wl=$(demo_free_port) al=$(demo_free_port) nl=$(demo_free_port)
LADDER_LOG_FORMAT=json LADDER_HTTP_LISTEN=127.0.0.1:$wl start ladder-worker run
worker=$started
LADDER_HTTP_LISTEN=127.0.0.1:$al start ladder-api run
api=$started
# a third subscriber, plain http to a host that is not this machine: warned
LADDER_NOTIFY_SUBSCRIBER_FAR_URL=http://192.0.2.1:9/far/$WHP LADDER_NOTIFY_SUBSCRIBER_FAR_SECRET=$WHS \
  LADDER_NOTIFY_SUBSCRIBER_FAR_DECISIONS=RENEWED LADDER_HTTP_LISTEN=127.0.0.1:$nl start ladder-notify run
notify=$started
LADDER_LOG_FORMAT=json LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) start ladder-notify json
notify_json=$started
lt_wait_log "$out/ladder-worker.run.err" "resuming at offset" || fail "the worker did not join"

run ladder-gen kafka --scale 0.0002 --seed 5 --kafka --out "$work/gen" -q
[ "$rc" -eq 0 ] || fail "ladder-gen --kafka exited $rc: $(tail -3 "$out/ladder-gen.kafka.err")"
run ladder-gen files --scale 0.0001 --seed 6 --single --out "$work/feed"
LADDER_LOG_FORMAT=json run ladder-feed run "$work/feed/events.csv"
[ "$rc" -eq 0 ] || fail "ladder-feed exited $rc: $(tail -3 "$out/ladder-feed.run.err")"
uscc=$(awk -F, "NR > 1 && \$3 != \"\" {print \$3; exit}" "$work/feed/events.csv")
"$tests/poison" produce "$LADDERTEST_BOOTSTRAP" "$src/schemas" >"$work/poison.txt" 2>&1 ||
  fail "poison produce: $(cat "$work/poison.txt")"
run ladder-notify-bench run --count 4 --prefix s --out "$work/nb.txt"
[ "$rc" -eq 0 ] || fail "ladder-notify-bench exited $rc: $(tail -3 "$out/ladder-notify-bench.run.err")"
run ladder-roundtrip run --count 2 --timeout-ms 10000
[ "$rc" -eq 0 ] || fail "ladder-roundtrip exited $rc: $(tail -3 "$out/ladder-roundtrip.run.err")"
LADDER_LOG_FORMAT=json run ladder-roundtrip json --count 1 --timeout-ms 10000
run ladder-decisions run --count 1 --idle-ms 500
[ "$rc" -eq 0 ] || fail "ladder-decisions exited $rc: $(tail -3 "$out/ladder-decisions.run.err")"
LADDER_LOG_FORMAT=json run ladder-decisions end --end-offsets
run ladder-policy check check
run ladder-whatif run --history "$work/feed/events.csv" --baseline "$src/deploy/policy" \
  --variant "$src/deploy/policy" --partitions 8 --out "$work/whatif"
[ "$rc" -eq 0 ] || fail "ladder-whatif exited $rc: $(tail -3 "$out/ladder-whatif.run.err")"
LADDER_LOG_FORMAT=json run ladder-whatif kafka --from-kafka --baseline "$src/deploy/policy" \
  --variant "$src/deploy/policy" --json

lt_wait_ready "http://127.0.0.1:$al/readyz" || fail "the API is not ready"
lt_wait_ready "http://127.0.0.1:$wl/readyz" 200 0.1 || fail "the worker is not ready"
for svc in ladder-worker:$wl ladder-api:$al ladder-notify:$nl; do
  for p in metrics livez readyz; do page "${svc%%:*}" "run.$p" "http://127.0.0.1:${svc##*:}/$p"; done
done
grep -q "^ladder_ready 1" "$out/ladder-worker.run.metrics" || fail "no ladder_ready 1 on the worker /metrics"
echo "/v1/stats" >"$work/paths"
LADDER_HTTP_LISTEN=127.0.0.1:$al run ladder-loadgen run --paths "$work/paths" --rate 20 --duration 1 --warmup 0 --connections 1
[ "$rc" -eq 0 ] || fail "ladder-loadgen against the API exited $rc: $(tail -3 "$out/ladder-loadgen.run.err")"

# ladder-admin, every command that reads (and one refused rebuild)
run ladder-admin check check
[ "$rc" -eq 0 ] || fail "ladder-admin check exited $rc: $(cat "$out/ladder-admin.check.out")"
LADDER_LOG_FORMAT=json run ladder-admin check-json --json check
run ladder-admin partition partition 0
run ladder-admin dlq-list dlq list
letter=$(awk "/^[0-9]+:[0-9]+ / {print \$1; exit}" "$out/ladder-admin.dlq-list.out")
[ -n "$letter" ] || fail "ladder-admin dlq list shows no letter: $(cat "$out/ladder-admin.dlq-list.out")"
run ladder-admin dlq-show dlq show "$letter"
run ladder-admin dlq-replay dlq replay --dry-run "$letter"
run ladder-admin export export --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z --out "$work/export.avro"
[ "$rc" -eq 0 ] || fail "ladder-admin export exited $rc: $(tail -3 "$out/ladder-admin.export.err")"
run ladder-admin enterprise enterprise "$uscc"
[ "$rc" -eq 0 ] || fail "ladder-admin enterprise $uscc exited $rc: $(tail -3 "$out/ladder-admin.enterprise.err")"
run ladder-admin rebuild rebuild --partition 0
[ "$rc" -eq 1 ] || fail "ladder-admin rebuild of a live partition exited $rc, want 1 (refused)"
ok "normal runs: worker, api, notify, gen, feed, roundtrip, decisions, loadgen, policy, admin"

lt_retry 100 0.1 grep -qs "hooks/$WHP" "$work/recv.jsonl" || fail "no webhook reached the receiver"
lt_retry 100 0.1 test -s "$LADDER_NOTIFY_DEADLETTER_FILE" || fail "no dead letter for the unreachable webhook"
ok "notify delivered to one secret path and dead-lettered another"

# /readyz of ladder-api while Redis refuses its user
redis-cli -u "$LADDERTEST_REDIS_URL" ACL SETUSER ladder off >/dev/null
redis-cli -u "$LADDERTEST_REDIS_URL" CLIENT KILL USER ladder >/dev/null || true
code=$(curl -s -m 5 -o "$out/ladder-api.down.readyz" -w "%{http_code}" "http://127.0.0.1:$al/readyz" || true)
[ "$code" = 503 ] || fail "the API /readyz answered $code with its Redis user refused, want 503"
for word in "$LADDERTEST_REDIS_PORT" 127.0.0.1 WRONGPASS AUTH disabled redis closed connection refused; do
  if grep -qiF -- "$word" "$out/ladder-api.down.readyz"; then
    fail "ladder-api /readyz without the token tells \"$word\": $(cat "$out/ladder-api.down.readyz")"
  fi
done
curl -s -m 5 -H "Authorization: Bearer $TOK" "http://127.0.0.1:$al/readyz" >"$out/ladder-api.down-token.readyz" || true
grep -q "WRONGPASS" "$out/ladder-api.down-token.readyz" ||
  fail "ladder-api /readyz with the token does not say why: $(cat "$out/ladder-api.down-token.readyz")"
page ladder-api down.metrics "http://127.0.0.1:$al/metrics"
page ladder-worker down.readyz "http://127.0.0.1:$wl/readyz"
page ladder-worker down.metrics "http://127.0.0.1:$wl/metrics"
redis-cli -u "$LADDERTEST_REDIS_URL" ACL SETUSER ladder on >/dev/null
ok "ladder-api /readyz without the token: $(cat "$out/ladder-api.down.readyz"); with it: $(head -c 160 "$out/ladder-api.down-token.readyz")"
for p in $worker $api $notify $notify_json; do stop "$p"; done

# ---- start-up errors ---------------------------------------------------------
# Each case runs in one log format, text and JSON in turn (next_format), so
# that every program meets both without running each case twice.
fmt=json
next_format() { if [ "$fmt" = text ]; then fmt=json; else fmt=text; fi; }
# fails NAME CASE ARG...: refused, in the format of the moment
fails() {
  local name=$1 case=$2
  shift 2
  LADDER_LOG_FORMAT=$fmt refused "$name" "$case-$fmt" "$@"
}
# together CMD...: the commands at once; fails unless each succeeds
together() {
  local cmd pids_now=() p
  for cmd in "$@"; do
    eval "$cmd" &
    pids_now+=($!)
  done
  for p in "${pids_now[@]}"; do wait "$p" || fail "$*: see above"; done
}
redis_users() { # CASE: the programs that need Redis, in the environment given
  next_format
  together "fails ladder-worker $1" "LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) fails ladder-api $1" \
    "fails ladder-admin $1 check" \
    "fails ladder-roundtrip $1 --count 1 --timeout-ms 3000"
}
LADDER_REDIS_URL=redis://ladder:$RPW_BAD@$hostport/0 redis_users redis-wrong-pw
LADDER_REDIS_URL=redis://ladder:$RPW@127.0.0.1:$dead/0 redis_users redis-down
LADDER_REDIS_URL=redis://ladder:$RPW@127.0.0.1:99999/0 redis_users redis-bad-port
LADDER_REDIS_URL=redis://ladder:$RPW@$hostport/zero redis_users redis-bad-db
LADDER_REDIS_URL=rediss://ladder:$RPW@$hostport/0 redis_users redis-tls
LADDER_REDIS_URL=redis://$RPW@127.0.0.1:$dead/0 redis_users redis-bare-pw
LADDER_REDIS_URL="redis://atuser:$RPW_AT1@${RPW_AT2}x@$hostport/0" redis_users redis-at-wrong
LADDER_REDIS_URL="redis://atuser:$RPW_AT1@$RPW_AT2@127.0.0.1:$dead/0" redis_users redis-at-down
LADDER_REDIS_URL=redis://$hostport/0 LADDER_REDIS_PASSWORD=$RPW_BAD redis_users redis-password
LADDER_REDIS_URL=redis://$hostport/0 LADDER_REDIS_PASWORD=$RPW redis_users redis-typo

# the schema registry
registry_users() { # CASE: the programs that use it, in the environment given
  next_format
  together "fails ladder-worker $1" "fails ladder-admin $1 check" \
    "fails ladder-roundtrip $1 --count 1 --timeout-ms 3000" \
    "fails ladder-gen $1 --scale 0.0001 --seed 1 --kafka --out $work/g-$1 -q" \
    "fails ladder-notify-bench $1 --count 1"
}
LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=reg$REG registry_users reg-no-colon
LADDER_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=reg:$RPW_BAD registry_users reg-wrong-pw
LADDER_SCHEMA_REGISTRY_URL=http://127.0.0.1:$dead/ registry_users reg-down
LADDER_SCHEMA_REGISTRY_URL=http://reg:$REG@127.0.0.1:$dead/ registry_users reg-url-creds
LADDER_SCHEMA_REGISTRY_URL=ftp://reg:$REG@127.0.0.1:$dead/ registry_users reg-scheme
together "refused ladder-registry bad-auth --listen 127.0.0.1:0 --basic-auth $REG" \
  "refused ladder-bench refused --events 10"

# webhooks
hooks() { next_format; fails ladder-notify "$1"; }
LADDER_NOTIFY_SUBSCRIBER_HOOK_URL=ftp://u:$WHS@127.0.0.1/$WHP hooks hook-scheme
LADDER_NOTIFY_SUBSCRIBER_HOOK_URL="http://[::1/$WHP" hooks hook-not-url
LADDER_NOTIFY_SUBSCRIBER_HOOK_SECRET=$WHS_SHORT hooks hook-short-secret
LADDER_NOTIFY_SUBSCRIBER_HOOK_DECISIONS=REVOKD hooks hook-types

# Kafka: a mechanism librdkafka does not know, and SASL against a cluster
# that does not speak it (with librdkafka debug logs)
next_format
LADDER_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT LADDER_KAFKA_SASL_MECHANISM=NOPE \
  fails ladder-decisions sasl-mechanism --end-offsets
export LADDER_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT LADDER_KAFKA_SASL_MECHANISM=PLAIN
next_format
together "LADDER_KAFKA_DEBUG=security,broker,conf fails ladder-admin sasl check --timeout-ms 2000" \
  "fails ladder-roundtrip sasl --count 1 --timeout-ms 2000" \
  "LADDER_LOG_FORMAT=$fmt run ladder-admin sasl-partition-$fmt partition 0 --timeout-ms 2000"
unset LADDER_KAFKA_SECURITY_PROTOCOL LADDER_KAFKA_SASL_MECHANISM

# configuration files: a line without "=" for every secret-bearing key;
# misspelt secret keys
i=0
for line in "api.token: $TOK" "redis.password $RPW" "kafka.sasl.password $SASL" \
  "schema.registry.basic.auth.user.info reg:$REG" "notify.subscriber.hook.secret $WHS" \
  "notify.subscriber.hook.url $hook" "redis.url redis://ladder:$RPW@$hostport/0" \
  "redis.pasword = $RPW" "api.token:$TOK" "api.tokn $TOK"; do
  i=$((i + 1))
  printf "log.level = debug\n%s\n" "$line" >"$conf/line$i.conf"
  next_format
  fails ladder-worker "line$i" --config "$conf/line$i.conf"
done
for fmt in text json; do # every program that reads a configuration file
  c=$conf/line$([ $fmt = text ] && echo 1 || echo 6).conf
  together "fails ladder-api line --config $c" "fails ladder-notify line --config $c" \
    "fails ladder-feed line --config $c" "fails ladder-roundtrip line --config $c" \
    "fails ladder-loadgen line --config $c" \
    "fails ladder-bench line --config $c" "fails ladder-admin line --config $c check" \
    "fails ladder-gen line --config $c --scale 0.0001 --seed 1 --out $work/g-line"
done
ok "start-up errors: $(ls "$out" | grep -c -- "-text.err") runs in text, $(ls "$out" | grep -c -- "-json.err") in JSON"

# ---- ladder-kafka itself, with every secret in its environment --------------
"$bin/ladder-kafka" --partitions 1 --brokers 1 >"$out/ladder-kafka.run.out" 2>"$out/ladder-kafka.run.err" &
kpid=$!
lt_wait_file "$out/ladder-kafka.run.out" || fail "ladder-kafka did not start"
stop "$kpid"
cp "$work/kafka.log" "$out/ladder-kafka.stack.err"

# ---- the search --------------------------------------------------------------
for p in $progs; do
  n=$(ls "$out" | grep "^$p\." | grep -vc "^$p\.help\." || true)
  [ "$n" -gt 0 ] || fail "$p never ran but for --help"
done
# a start that failed through a sanitizer report is not a refusal
if grep -l "AddressSanitizer\|runtime error:\|LeakSanitizer" "$out"/*; then
  fail "a sanitizer reported in the outputs above"
fi
leaks=0
for f in "$out"/*; do
  for s in $secrets; do
    if grep -qaF -- "${!s}" "$f"; then
      echo "LEAK: $(basename "$f") shows $s: $(grep -aF -m1 -- "${!s}" "$f" | cut -c1-300)"
      leaks=$((leaks + 1))
    fi
  done
done
[ "$leaks" -eq 0 ] || fail "$leaks output(s) show a secret (the LEAK lines: program.case.output)"
ok "no secret in $(ls "$out" | wc -l) outputs of $(ls "$out" | cut -d. -f1 | sort -u | wc -l) programs"
' "$src" "$bin"
