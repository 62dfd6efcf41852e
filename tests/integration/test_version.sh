#!/usr/bin/env bash
# --version on every program in build/bin: exit 0, nothing on stderr, and
# the same five lines (the program's name and the project version of the
# top-level CMakeLists.txt, the commit it was built from, and the
# librdkafka, hiredis and Avro-C versions, as pkg-config knows them); then
# ladder_build_info{version,commit,program} 1 on a worker's /metrics. The
# build script records "unknown" as the commit outside a git checkout.
. "$(dirname "$0")/../support/lib.sh"
lt_init

version=$(sed -n "s/^project(ladder VERSION \([0-9.]*\).*/\1/p" "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no project version in CMakeLists.txt"
rdkafka=$(pkg-config --modversion rdkafka)
hiredis=$(pkg-config --modversion hiredis)
avro=$(pkg-config --modversion avro-c)
lt_tmpdir tmp version

required="ladder-worker ladder-api ladder-notify ladder-kafka ladder-feed ladder-gen
ladder-policy ladder-bench ladder-roundtrip ladder-decisions ladder-admin ladder-registry"
for p in $required; do [ -x "$bin/$p" ] || fail "$p is not built"; done

n=0
for exe in "$bin"/ladder-*; do
  [ -x "$exe" ] || continue
  p=$(basename "$exe")
  "$exe" --version >"$tmp/out" 2>"$tmp/err" || fail "$p --version: exit $?"
  [ ! -s "$tmp/err" ] || fail "$p --version wrote on stderr: $(cat "$tmp/err")"
  mapfile -t l <"$tmp/out"
  [ "${#l[@]}" -eq 5 ] || fail "$p --version: ${#l[@]} lines: $(cat "$tmp/out")"
  [ "${l[0]}" = "$p $version" ] || fail "$p: first line [${l[0]}], want [$p $version]"
  commit=${l[1]#commit }
  [[ "${l[1]}" =~ ^commit\ ([0-9a-f]{12}|unknown)$ ]] || fail "$p: [${l[1]}]"
  if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null \
      || fail "$p: commit $commit is not a commit of this checkout"
  fi
  [ "${l[2]}" = "librdkafka $rdkafka" ] || fail "$p: [${l[2]}], want librdkafka $rdkafka"
  [ "${l[3]}" = "hiredis $hiredis" ] || fail "$p: [${l[3]}], want hiredis $hiredis"
  [ "${l[4]}" = "avro-c $avro" ] || fail "$p: [${l[4]}], want avro-c $avro"
  n=$((n + 1))
done
ok "$n programs print the version lines (ladder $version, commit $commit)"

# Outside a git checkout the build records the commit as "unknown".
mkdir "$tmp/nogit"
cmake -DSRC="$tmp/nogit" -DOUT="$tmp/nogit/info.h" -DVERSION="$version" \
  -P "$src/cmake/build_info.cmake"
grep -qx "#define LADDER_BUILD_COMMIT \"unknown\"" "$tmp/nogit/info.h" \
  || fail "outside git: $(cat "$tmp/nogit/info.h")"
ok "outside a git checkout the commit is unknown"

export version commit
exec "$src/tests/support/with-stack" bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init
on_fail() { lt_show_logs 30 "$work/worker.log"; }
"$bin/ladder-worker" >"$work/worker.log" 2>&1 &
worker=$!
url=http://$LADDER_HTTP_LISTEN
lt_wait_http "$url/metrics" "$worker" || fail "the worker does not serve /metrics"
want="ladder_build_info{version=\"$version\",commit=\"$commit\",program=\"ladder-worker\"} 1"
# the page first, then grep: grep -q stopping early must not fail curl
page=$(curl -s "$url/metrics")
grep -qxF "$want" <<<"$page" \
  || fail "no [$want] on /metrics: $(curl -s "$url/metrics" | grep build_info)"
ok "/metrics: $want"
# The process figures, against what /proc and ps say of the same worker:
# RSS within a factor of two, the start within 3 s, the open descriptors
# within 3, the CPU counter present.
fig() { awk -v n="$1" "\$1 == n {print \$2}" <<<"$page"; }
page=$(curl -s "$url/metrics")
rss=$(fig process_resident_memory_bytes)
vmrss=$(awk "/^VmRSS:/ {print \$2 * 1024}" "/proc/$worker/status")
[ -n "$rss" ] && awk -v a="$rss" -v b="$vmrss" "BEGIN {exit !(a > b / 2 && a < b * 2)}" \
  || fail "process_resident_memory_bytes [$rss] against VmRSS $vmrss"
start=$(fig process_start_time_seconds)
began=$(( $(date +%s) - $(ps -o etimes= -p "$worker") ))
[ -n "$start" ] && awk -v a="$start" -v b="$began" "BEGIN {d = a - b; exit !(d > -3 && d < 3)}" \
  || fail "process_start_time_seconds [$start] against $began"
fds=$(fig process_open_fds)
open=$(ls "/proc/$worker/fd" | wc -l)
[ -n "$fds" ] && awk -v a="$fds" -v b="$open" "BEGIN {d = a - b; exit !(d > -3 && d < 3)}" \
  || fail "process_open_fds [$fds] against $open"
cpu=$(fig process_cpu_seconds_total)
[ -n "$cpu" ] && [ -n "$(fig process_max_fds)" ] \
  || fail "no process_cpu_seconds_total or process_max_fds on /metrics"
kill -TERM "$worker"; wait "$worker" || true
ok "/metrics: process_resident_memory_bytes $rss, process_start_time_seconds, process_open_fds $fds, process_cpu_seconds_total $cpu"
' "$src" "$bin"
