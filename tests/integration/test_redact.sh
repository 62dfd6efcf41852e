#!/usr/bin/env bash
# Passwords stay out of what a program shows: a ladder-worker given a
# password in LADDER_REDIS_URL (a Redis ACL user on the private server)
# runs at debug level and serves /metrics, /livez and /readyz without the
# password in any of them or on stderr; a wrong password, a password-only
# URL and a config file line that misses its '=' fail the start without
# quoting theirs.
. "$(dirname "$0")/../support/lib.sh"
lt_init
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs 40 "$work"/*.err "$work/metrics.txt"; }

pw=Pw-s3cr3t-4217
hostport=127.0.0.1:$LADDERTEST_REDIS_PORT
redis-cli -u "$LADDERTEST_REDIS_URL" ACL SETUSER ladder on ">$pw" "~*" "&*" "+@all" >/dev/null \
  || fail "cannot create the ACL user"
never() { # PASSWORD FILE...: the files never hold PASSWORD
  local p=$1; shift
  if grep -aF -- "$p" "$@"; then fail "the password shows in $*"; fi
}

export LADDER_LOG_LEVEL=debug
LADDER_REDIS_URL="redis://ladder:$pw@$hostport/0" "$bin/ladder-worker" \
  >"$work/worker.out" 2>"$work/worker.err" &
worker=$!
lt_wait_join "$work/worker.err" || fail "the worker did not join with the ACL user"
url=http://$LADDER_HTTP_LISTEN
lt_wait_ready "$url/readyz" 100 0.1 || fail "the worker is not ready"
for page in metrics livez readyz; do curl -s "$url/$page"; echo; done >"$work/metrics.txt"
grep -q "^ladder_ready 1" "$work/metrics.txt" || fail "no ladder_ready 1 on /metrics"
kill -TERM "$worker"; wait "$worker" || fail "the worker did not stop cleanly"
never "$pw" "$work/worker.out" "$work/worker.err" "$work/metrics.txt"
ok "a worker with the password in its redis.url ran and stopped without showing it"

start_fails() { # NAME: the worker started with the environment set must fail
  set +e
  timeout 30 "$bin/ladder-worker" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "$name: the worker started"
  [ -s "$work/$name.err" ] || fail "$name: nothing said on stderr"
}
name=wrong; LADDER_REDIS_URL="redis://ladder:Wrong-pw-9931@$hostport/0" start_fails
never Wrong-pw-9931 "$work/wrong.out" "$work/wrong.err"
name=bare; LADDER_REDIS_URL="redis://Only-pw-5520@$hostport/0" start_fails
never Only-pw-5520 "$work/bare.out" "$work/bare.err"
printf "redis.password File-pw-7312\n" >"$work/bad.conf"
name=file; start_fails --config "$work/bad.conf"
never File-pw-7312 "$work/file.out" "$work/file.err"
grep -q "redis.password" "$work/file.err" || fail "the file error does not name the key"
ok "failed starts name the problem without the password: $(head -c 200 "$work/wrong.err" | tr "\n" " ")"
' "$src" "$bin"
