# lib.sh -- shared by tools/demo/national.sh and the worker's stream and
# determinism tests: how far the workers are, read from what Redis and
# Kafka hold. Sourced, not run. Needs $bin (the programs), redis-cli, and
# LADDER_KAFKA_BOOTSTRAP_SERVERS and LADDER_REDIS_URL in the environment.
# Also sourced by tests/support/lib.sh, so tests and tools read the topics'
# end offsets and the store's keys the same way.

demo_lib_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# demo_keys NAME P...: the store's key NAME (meta, outbox, ...) of each
# partition P, one a line; demo_keys partitions: the partition count's key.
# The layout is store.c's; tests/support/store_keys.py is its one copy for
# scripts.
demo_keys() {
  /usr/bin/python3 "$demo_lib_src/tests/support/store_keys.py" "$@"
}

# demo_redis ARG...: redis-cli against LADDER_REDIS_URL, whether it names
# one server or a Redis Cluster's seed list (redis://[auth@]h1:p1,h2:p2):
# then the first node, and -c, so that redis-cli follows the cluster's
# redirections to the master of each key (harmless on one server). The
# userinfo ends at the last '@', as in the services' URL rules.
demo_redis() {
  local url=$LADDER_REDIS_URL rest auth="" hosts
  rest=${url#redis://}
  case "$rest" in *@*) auth=${rest%@*}@; rest=${rest##*@} ;; esac
  hosts=${rest%%/*}
  case "$hosts" in
    *,*) redis-cli -c --no-auth-warning -u "redis://$auth${hosts%%,*}" "$@" ;;
    *) redis-cli -c --no-auth-warning -u "$url" "$@" ;;
  esac
}

# demo_sum "P:O,P:O,...": the sum of the offsets.
demo_sum() {
  local s=0 e
  for e in ${1//,/ }; do s=$((s + ${e#*:})); done
  echo "$s"
}

# demo_topic_total TOPIC: messages in TOPIC (the sum of its end offsets).
demo_topic_total() {
  demo_sum "$("$bin/ladder-decisions" --topic "$1" --end-offsets)"
}

# demo_stored: the input messages the workers have stored (the sum of the
# next offsets in Redis) and the outbox entries not yet published, "N M".
demo_stored() {
  local parts k v n=0 o=0
  parts=$(demo_redis get "$(demo_keys partitions)")
  if [ "${parts:-0}" -gt 0 ]; then
    for k in $(demo_keys meta $(seq 0 $((parts - 1)))); do
      v=$(demo_redis hget "$k" next_offset)
      [ -n "$v" ] && [ "$v" -gt 0 ] && n=$((n + v))
    done
    for k in $(demo_keys outbox $(seq 0 $((parts - 1)))); do
      o=$((o + $(demo_redis xlen "$k")))
    done
  fi
  echo "$n $o"
}

# demo_free_port: a loopback TCP port that is free right now (each worker
# of a script needs its own http.listen).
demo_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# demo_wait_caught_up TOTAL STALL_S [PROGRESS_S]: waits until the workers
# have stored TOTAL input messages and published their whole outbox. Fails
# (status 1) when nothing moves for STALL_S seconds, or at once when one of
# the processes in $DEMO_PIDS has exited. With PROGRESS_S, says how far
# they are every PROGRESS_S seconds.
demo_wait_caught_up() {
  local total=$1 stall=$2 every=${3:-0} last=-1 since=$SECONDS said=$SECONDS
  local start=$SECONDS n o pid
  while :; do
    for pid in ${DEMO_PIDS:-}; do
      kill -0 "$pid" 2>/dev/null || { echo "process $pid exited early" >&2; return 1; }
    done
    read -r n o <<<"$(demo_stored)"
    [ "$n" -ge "$total" ] && [ "$o" -eq 0 ] && return 0
    if [ "$n" -ne "$last" ]; then last=$n; since=$SECONDS; fi
    if [ $((SECONDS - since)) -ge "$stall" ]; then
      echo "the workers are stuck at $n of $total input messages ($o outbox entries unpublished) for ${stall}s" >&2
      return 1
    fi
    if [ "$every" -gt 0 ] && [ $((SECONDS - said)) -ge "$every" ]; then
      said=$SECONDS
      echo "    decided $n of $total input messages after $((SECONDS - start)) s"
    fi
    sleep 0.3
  done
}

# demo_stop PID...: SIGTERM, then wait; the worst exit status.
demo_stop() {
  local pid rc=0 r
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    r=0; wait "$pid" || r=$?
    [ "$r" -gt "$rc" ] && rc=$r
  done
  return "$rc"
}
