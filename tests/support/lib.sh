# lib.sh -- what every tests/integration/*.sh needs, in one place. Sourced,
# not run.
#
# DESIGN: a test script is its assertions; how it finds the build, where it
# keeps its files, how it says it failed and how it reaches the private
# stack are the same for all of them, so they live here and a script only
# says what differs (its logs, its own processes to stop). Temporary
# directories and the script's cleanup() run from one EXIT trap, so a
# failing or interrupted test leaves nothing behind. The Kafka end offsets
# and the store's Redis keys come from tools/demo/lib.sh (sourced here:
# ladder-decisions --end-offsets and tests/support/store_keys.py), which the
# demo uses too, so tests and tools read them one way.
#
# A script that runs on its own:
#   . "$(dirname "$0")/../support/lib.sh"; lt_init
# A script that runs inside tests/support/with-stack (bash -c '...'):
#   . "$LADDERTEST_SRC/tests/support/lib.sh"; lt_stack_init
#
# Functions:
#   lt_init             set -euo pipefail; src and bin from LADDERTEST_SRC and
#                       LADDERTEST_BIN (both required); installs the EXIT
#                       trap that runs the script's cleanup() (when it
#                       defines one) and removes the lt_tmpdir directories
#   lt_stack_init       lt_init inside with-stack: also work=$LADDERTEST_STACK_DIR
#                       and lt_stack_env
#   lt_stack_env [--no-redis]
#                       exports LADDER_KAFKA_BOOTSTRAP_SERVERS and (unless
#                       --no-redis) LADDER_REDIS_URL from the stack, with
#                       the fast test settings LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
#                       and LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
#   lt_scale NORMAL SANITIZER
#                       scale=NORMAL, or SANITIZER (said on stdout) when $bin
#                       is a sanitizer build's (.../asan/bin), which is slower
#   lt_tmpdir VAR NAME  a fresh directory ${TMPDIR:-/tmp}/NAME.XXXXXX in $VAR,
#                       removed on exit
#   fail MSG...         prints "FAIL: MSG", then runs the script's on_fail()
#                       (its logs) when it defines one, and exits 1; after
#                       lt_keep_going it prints to stderr and only counts
#   ok MSG...           prints "ok - MSG"
#   lt_keep_going       fail counts in $failures instead of exiting;
#                       lt_finish ends the script
#   lt_finish [NAME]    exit 1 with "[NAME: ]N failure(s)" on stderr when
#                       fail was called, else return
#   lt_show_logs N FILE...
#                       "--- FILE (last N lines)" and those lines, for each
#                       FILE (a missing one is skipped); N=all: the whole file
#   lt_npm_install PREFIX CACHE PKG
#                       installs an npm package once into PREFIX; tests that
#                       share PREFIX at once take turns
#   lt_retry TRIES SLEEP_S CMD...
#                       runs CMD until it succeeds, at most TRIES times with
#                       SLEEP_S seconds between; CMD's last status
#   lt_wait_http URL [PID] [TRIES] [SLEEP_S]
#                       waits until URL answers at all (200 tries of 0.05 s);
#                       returns 1 at once when PID has exited, 2 at the end
#   lt_wait_ready URL [TRIES] [SLEEP_S]
#                       waits until URL answers 200 (200 tries of 0.05 s)
#   lt_wait_file FILE   waits (5 s) until FILE exists and is not empty
#   lt_wait_log FILE PATTERN [TRIES]
#                       waits until FILE has a line with PATTERN (a basic
#                       regex; TRIES of 0.2 s, default 150)
#   lt_wait_join LOG    lt_wait_log LOG "resuming at offset": a worker has
#                       joined its group and claimed its partitions
#   lt_hash_dump KEY    the hash KEY as sorted "field<TAB>value" lines, each
#                       field and value quoted with binary bytes escaped, so
#                       that a state blob holding a newline stays on its
#                       line (raw HGETALL output split it, and the pairs then
#                       depended on the order Redis returned the fields in)
# and from tools/demo/lib.sh: demo_topic_total TOPIC (messages in TOPIC),
# demo_stored ("N M": input messages stored, outbox entries left),
# demo_keys NAME P... (the store's keys), demo_redis ARG... (redis-cli on
# LADDER_REDIS_URL, one server or a cluster: -c), demo_free_port (a free loopback
# port), demo_wait_caught_up, demo_stop.

lt_tmpdirs=()

lt__exit() {
  local rc=$?
  trap - EXIT
  if declare -F cleanup >/dev/null; then cleanup || true; fi
  [ ${#lt_tmpdirs[@]} -eq 0 ] || rm -rf "${lt_tmpdirs[@]}"
  exit "$rc"
}

lt_init() {
  set -euo pipefail
  src=${LADDERTEST_SRC:?LADDERTEST_SRC is not set}
  bin=${LADDERTEST_BIN:?LADDERTEST_BIN is not set}
  . "$src/tools/demo/lib.sh"
  trap lt__exit EXIT
}

lt_stack_init() {
  lt_init
  work=${LADDERTEST_STACK_DIR:?not inside tests/support/with-stack}
  lt_stack_env "$@"
}

lt_stack_env() {
  export LADDER_KAFKA_BOOTSTRAP_SERVERS=$LADDERTEST_BOOTSTRAP
  [ "${1:-}" = --no-redis ] || export LADDER_REDIS_URL=$LADDERTEST_REDIS_URL
  export LADDER_KAFKA_FETCH_WAIT_MAX_MS=10
  export LADDER_KAFKA_SESSION_TIMEOUT_MS=6000
}

lt_scale() {
  scale=$1
  case "$bin" in
    */asan/bin) scale=$2; echo "# sanitizer build ($bin): scale $scale instead of $1" ;;
  esac
}

lt_tmpdir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
  lt_tmpdirs+=("$d")
  printf -v "$1" '%s' "$d"
}

lt_soft=""
failures=0

fail() {
  if [ -n "$lt_soft" ]; then
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
    return 0
  fi
  echo "FAIL: $*"
  if declare -F on_fail >/dev/null; then on_fail || true; fi
  exit 1
}

ok() { echo "ok - $*"; }

lt_keep_going() { lt_soft=1; }

lt_finish() {
  [ "$failures" -eq 0 ] && return 0
  echo "${1:+$1: }$failures failure(s)" >&2
  exit 1
}

lt_show_logs() {
  local n=$1 f
  shift
  for f in "$@"; do
    [ -e "$f" ] || continue
    if [ "$n" = all ]; then
      echo "--- $f"
      cat "$f"
    else
      echo "--- $f (last $n lines)"
      tail -n "$n" "$f"
    fi
  done
}

lt_hash_dump() {
  demo_redis --no-raw hgetall "$1" | sed 's/^ *[0-9]*) //' | paste - - | LC_ALL=C sort
}

# lt_npm_install PREFIX CACHE PKG: installs the npm package PKG into PREFIX
# (npm's cache in CACHE) unless a finished install is there. Tests that
# share PREFIX and run at once (ctest -j) take turns (flock), and only a
# finished install leaves its mark, so a half-written node_modules of
# another test is never taken for an installed package.
lt_npm_install() {
  local prefix=$1 cache=$2 pkg=$3 mark
  mark="$prefix/.installed-${pkg//\//_}"
  mkdir -p "$prefix"
  (
    flock 9
    [ -e "$mark" ] && exit 0
    npm install --prefix "$prefix" --cache "$cache" --no-audit --no-fund \
      --no-save --loglevel=error --fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 \
      "$pkg" >&2 || exit 1
    touch "$mark"
  ) 9>"$prefix/.lock"
}

lt_retry() {
  local tries=$1 pause=$2 i
  shift 2
  for ((i = 1; ; i++)); do
    "$@" && return 0
    [ "$i" -lt "$tries" ] || return 1
    sleep "$pause"
  done
}

lt__http_up() { # URL [PID]: 0 answered, 1 PID gone, 3 not yet
  curl -s -o /dev/null "$1" && return 0
  [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
  return 3
}

lt_wait_http() {
  local i
  for ((i = 0; i < ${3:-200}; i++)); do
    lt__http_up "$1" "${2:-}" && return 0
    [ $? -eq 3 ] || return 1
    sleep "${4:-0.05}"
  done
  return 2
}

lt__http_200() { [ "$(curl -s -o /dev/null -w "%{http_code}" "$1")" = 200 ]; }

lt_wait_ready() { lt_retry "${2:-200}" "${3:-0.05}" lt__http_200 "$1"; }

lt_wait_file() { lt_retry 100 0.05 test -s "$1"; }

# lt_start_registry LOG [OPTION]...: starts $bin/ladder-registry on a free
# loopback port with the OPTIONs, its output appended to LOG, and waits
# for it to listen; sets reg (its pid) and reg_port, or fails.
lt_start_registry() {
  local log=$1
  shift
  rm -f "$work/reg.port"
  "$bin/ladder-registry" --listen 127.0.0.1:0 --port-file "$work/reg.port" "$@" >>"$log" 2>&1 &
  reg=$!
  lt_wait_file "$work/reg.port" || fail "ladder-registry did not start"
  reg_port=$(cat "$work/reg.port")
}

lt_wait_log() { lt_retry "${3:-150}" 0.2 grep -qs -- "$2" "$1"; }

lt_wait_join() { lt_wait_log "$1" "resuming at offset" "${2:-150}"; }
