#!/usr/bin/env bash
# The test fixture itself: it hands out working addresses, propagates the
# command's status, always tears both servers down (on success, failure and
# SIGTERM), and refuses a Redis that holds data.
. "$(dirname "$0")/../support/lib.sh"
lt_init
ws=$src/tests/support/with-stack
lt_tmpdir work ladder-with-stack-it
own_redis=""
cleanup() { [ -z "$own_redis" ] || { kill "$own_redis" 2>/dev/null && wait "$own_redis" 2>/dev/null; }; }

# Addresses work; the command's exit status comes back; everything is gone after.
set +e
"$ws" bash -c 'redis-cli -u "$LADDERTEST_REDIS_URL" ping >/dev/null &&
  kcat -L -b "$LADDERTEST_BOOTSTRAP" | grep -q "3 brokers" &&
  [ "$(redis-cli -u "$LADDERTEST_REDIS_URL" config get appendonly | tail -1)" = yes ] &&
  echo "$LADDERTEST_STACK_DIR $LADDERTEST_REDIS_PID $LADDERTEST_KAFKA_PID" >'"$work"'/info && exit 7'
rc=$?
set -e
[ "$rc" -eq 7 ] || fail "exit status $rc, wanted the command's 7"
read -r dir redis_pid kafka_pid <"$work/info"
[ -n "$redis_pid" ] && [ -n "$kafka_pid" ] || fail "server pids not exported"
[ ! -e "$dir" ] || fail "stack directory $dir left behind"
# A process that is gone, or a zombie nobody reaped, is stopped.
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
! alive "$redis_pid" || fail "redis-server $redis_pid left running"
! alive "$kafka_pid" || fail "ladder-kafka $kafka_pid left running"
echo "ok - addresses work (Redis with AOF, 3 Kafka brokers), status 7 propagated, torn down"

# SIGTERM while the command runs: torn down at once, status 143.
"$ws" bash -c 'echo "$LADDERTEST_STACK_DIR" >'"$work"'/dir; sleep 60' &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/dir" ] && break; sleep 0.1; done
dir=$(cat "$work/dir")
SECONDS=0
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 143 ] || fail "SIGTERM gave status $rc"
[ "$SECONDS" -lt 10 ] || fail "teardown took ${SECONDS}s"
[ ! -e "$dir" ] || fail "stack directory left behind after SIGTERM"
echo "ok - SIGTERM tears the stack down in ${SECONDS}s with status 143"

# A Redis that holds data is refused, and the command never runs.
# A port the kernel hands out, not a random guess that may be taken.
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
own_redis=$!
redis_up() { redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; }
lt_retry 200 0.1 redis_up || fail "the test Redis on port $port did not start: $(tail -3 "$work/redis.log")"
redis-cli -p "$port" set precious 1 >/dev/null
set +e
LADDERTEST_EXTERNAL_REDIS_URL=redis://127.0.0.1:$port/0 "$ws" touch "$work/ran" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "non-empty Redis gave status $rc"
grep -q 'refusing to run' "$work/err" || fail "no refusal message: $(cat "$work/err")"
[ ! -e "$work/ran" ] || fail "the command ran against a non-empty Redis"
[ "$(redis-cli -p "$port" get precious)" = 1 ] || fail "the data was touched"
echo "ok - refused: $(cat "$work/err")"
# The same Redis, emptied, is accepted.
redis-cli -p "$port" del precious >/dev/null
LADDERTEST_EXTERNAL_REDIS_URL=redis://127.0.0.1:$port/0 "$ws" bash -c '[ "$LADDERTEST_REDIS_URL" = "redis://127.0.0.1:'"$port"'/0" ]' \
  || fail "an empty external Redis was not used"
echo "ok - an empty external Redis is used"
