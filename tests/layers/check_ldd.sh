#!/usr/bin/env bash
# check_ldd.sh MODEL_TEST... -- CONTROL_TEST
# Fails when a unit test of the model layer loads librdkafka, hiredis, Avro
# or libmicrohttpd (the model is pure: it must not even link them), and
# also when the control (a test of the io layer) does not load librdkafka,
# which would mean this check could not see a library at all.
set -euo pipefail
bad='librdkafka|libhiredis|libavro|libmicrohttpd'
model=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do model+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
control=${1:?usage: check_ldd.sh MODEL_TEST... -- CONTROL_TEST}
rc=0
for t in "${model[@]}"; do
  libs=$(ldd "$t" | grep -oE "$bad" | sort -u | tr '\n' ' ' || true)
  if [ -n "$libs" ]; then
    echo "FAIL: $(basename "$t") (model layer) loads: $libs" >&2
    rc=1
  else
    echo "ok: $(basename "$t") loads none of librdkafka, hiredis, avro, libmicrohttpd"
  fi
done
# ldd's output first: with pipefail, grep -q closing the pipe early could
# fail ldd with SIGPIPE and this check with it.
control_libs=$(ldd "$control")
if ! grep -q librdkafka <<<"$control_libs"; then
  echo "FAIL: the control $(basename "$control") does not load librdkafka: ldd shows nothing this check could catch" >&2
  rc=1
fi
exit "$rc"
