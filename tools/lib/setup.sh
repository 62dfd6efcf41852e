# setup.sh -- shared by tools/quickstart and tools/test: install what is
# missing, then configure and build. Sourced, not run.

# Debian packages the build, the tests and the demo need.
LADDER_PACKAGES=(
  build-essential cmake pkg-config clang-format
  librdkafka-dev libavro-dev libhiredis-dev libjansson-dev libcmocka-dev
  libjemalloc-dev
  libmicrohttpd-dev libcurl4-openssl-dev libssl-dev
  redis-server redis-tools kcat curl
  python3 python3-avro
)
# What only tools/test needs: clang's libFuzzer for the fuzz run, Chromium
# for the dashboard's browser test (and a CJK font, so that its screenshot
# shows the Chinese names); Prometheus (promtool), yamllint, docker-compose
# and Node.js for the checks of deploy/ (tests/deploy); openssl for the
# test CAs of ladder-registry's HTTPS test and the Redis TLS test, and
# stunnel4 for the tunnel that test runs ladder through.
LADDER_TEST_PACKAGES=(
  clang libclang-rt-14-dev
  chromium fonts-wqy-microhei
  prometheus yamllint docker-compose nodejs openssl stunnel4
)
# npm: Debian's package, unless the installed nodejs (NodeSource's) ships
# it already and conflicts with it.
command -v npm >/dev/null || LADDER_TEST_PACKAGES+=(npm)

ladder_say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ladder_install_missing [EXTRA PACKAGES...]
ladder_install_missing() {
  local missing=() p
  for p in "${LADDER_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    ladder_say "all $(( ${#LADDER_PACKAGES[@]} + $# )) required Debian packages are installed"
    return 0
  fi
  ladder_say "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "not root and no sudo: install them with apt-get install ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ladder_say "installed: ${missing[*]}"
}

# ladder_build DIR [CMAKE ARGS...]: quiet unless something fails.
ladder_build() {
  local dir=$1; shift
  ladder_say "configuring and building in $dir $*"
  mkdir -p "$dir"
  if ! cmake -S . -B "$dir" -DLADDER_WERROR=ON "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log" >&2
    return 1
  fi
  if ! cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1; then
    grep -E 'error|warning' "$dir/build.log" >&2 || cat "$dir/build.log" >&2
    return 1
  fi
}
