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
kill -TERM "$worker"; wait "$worker" || true
ok "/metrics: $want"
' "$src" "$bin"
