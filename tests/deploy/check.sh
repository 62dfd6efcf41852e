#!/usr/bin/env bash
# check.sh -- deploy.static: the deployment files of deploy/ checked
# without deploying them, plus one real Prometheus scraping a real worker.
#
#   promtool      the Prometheus configuration, the rules, their unit tests
#                 (every alert fires and stays silent once), and every
#                 Grafana panel's expr as a recording rule
#   metrics       every ladder_* name in a rule or panel is one the
#                 programs register (services/**/*.c), or ladder_ready/up
#   yamllint      every YAML file of deploy/ (deploy/.yamllint)
#   compose       docker-compose config -q, secrets from the examples
#   Dockerfile    the files it copies exist; the programs it names are built
#   kubernetes    every object of deploy/k8s against the Kubernetes OpenAPI
#                 schemas (the kubernetes-models npm package, installed
#                 once into the build directory); no secret in a ConfigMap;
#                 probes on /livez and /readyz
#   k8s-acl       the Redis ACL file the Kubernetes ConfigMap carries is
#                 deploy/redis/users.acl, user for user (compose mounts the
#                 file itself)
#   LADDER_*      every variable the Dockerfile, compose and k8s files set,
#                 per container, accepted by ladder's configuration loader
#                 (ladder-gen loads it first and exits non-zero naming an
#                 unknown or malformed variable)
#   live          Prometheus (Debian's binary, loopback, temp storage) with
#                 rules.yml scrapes a ladder-worker running against
#                 tests/support/with-stack: the target is up, the worker's
#                 metrics arrive, no rule fails to evaluate; the image's
#                 health probe (deploy/probe) answers for the worker.
#
# Environment: LADDERTEST_SRC, LADDERTEST_BIN (ctest sets both),
# LADDERTEST_DEPLOY_CACHE (npm packages; default build/deploy-cache).
# Everything started is stopped by a trap. Exit status 0 only when every
# check passed.
set -uo pipefail

src=${LADDERTEST_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${LADDERTEST_BIN:-$src/build/bin}
here=$src/tests/deploy
py=/usr/bin/python3
helper=$here/deploycheck.py

# ---- the live part, run inside with-stack ------------------------------
if [ "${1:-}" = "--live" ]; then
  tmp=$2
  worker_pid="" prom_pid=""
  cleanup() {
    for pid in $prom_pid $worker_pid; do
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    done
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  env \
    LADDER_KAFKA_BOOTSTRAP_SERVERS="$LADDERTEST_BOOTSTRAP" \
    LADDER_REDIS_URL="$LADDERTEST_REDIS_URL" \
    LADDER_HTTP_LISTEN="$LADDER_HTTP_LISTEN" \
    "$bin/ladder-worker" >"$tmp/worker.log" 2>&1 &
  worker_pid=$!
  prom_port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cp "$src/deploy/prometheus/rules.yml" "$tmp/rules.yml"
  cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: ladder-worker
    static_configs:
      - targets: ["$LADDER_HTTP_LISTEN"]
YAML
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  api=http://127.0.0.1:$prom_port/api/v1
  up="" series="" rules=""
  for _ in $(seq 1 100); do
    kill -0 "$prom_pid" 2>/dev/null || break
    up=$(curl -sf "$api/query" --data-urlencode 'query=up{job="ladder-worker"}' |
      "$py" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
    if [ "$up" = 1 ]; then
      series=$(curl -sf "$api/query" --data-urlencode 'query=ladder_worker_partitions_assigned' |
        "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null)
      [ "${series:-0}" -gt 0 ] && break
    fi
    sleep 0.2
  done
  sleep 2 # at least one evaluation of every rule group
  rules=$(curl -sf "$api/rules" | "$py" -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] + ": " + r.get("lastError", "") for r in rules if r.get("health") == "err"]
print("; ".join(bad) if bad else "%d rules loaded, none failing" % len(rules))')
  rc=0
  if [ "$up" = 1 ] && [ "${series:-0}" -gt 0 ]; then
    echo "live: Prometheus scraped ladder-worker at $LADDER_HTTP_LISTEN: up=1, ladder_worker_partitions_assigned present"
  else
    echo "live: FAIL: the worker target is not up in Prometheus (up='$up')" >&2
    curl -s "$api/targets" >&2; echo >&2
    tail -n 20 "$tmp/worker.log" "$tmp/prometheus.log" >&2
    rc=1
  fi
  case "$rules" in
    *"none failing") echo "live: $rules" ;;
    *) echo "live: FAIL: rules: $rules" >&2; rc=1 ;;
  esac
  if "$src/deploy/probe" /livez && ! "$src/deploy/probe" /no-such-path >/dev/null; then
    echo "live: deploy/probe /livez succeeds against the worker, a 404 fails it"
  else
    echo "live: FAIL: deploy/probe does not tell /livez from a 404" >&2; rc=1
  fi
  exit $rc
fi

# ---- the static checks -------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ladder-deploy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cache=${LADDERTEST_DEPLOY_CACHE:-$src/build/deploy-cache}
failed=()

# check NAME COMMAND...: runs COMMAND, shows its output, records a failure.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    printf 'ok   %s\n' "$name"
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^ */       /'
  else
    printf 'FAIL %-12s\n%s\n' "$name" "$out"
    failed+=("$name")
  fi
}

for tool in promtool prometheus yamllint docker-compose node npm curl; do
  command -v "$tool" >/dev/null || { echo "deploy.static: $tool is not installed (./tools/test installs it)" >&2; exit 1; }
done
[ -x "$bin/ladder-worker" ] && [ -x "$bin/ladder-gen" ] || { echo "deploy.static: build first ($bin)" >&2; exit 1; }
SECONDS=0
d=$src/deploy

# -- Prometheus: the configuration (with the token file the compose secret
# would mount), the rules, their tests, and the dashboard's exprs.
mkdir -p "$tmp/prom"
echo "token" >"$tmp/prom/api_token"
sed "s|/run/secrets/api_token|$tmp/prom/api_token|" "$d/prometheus/prometheus.yml" >"$tmp/prom/prometheus.yml"
cp "$d/prometheus/rules.yml" "$tmp/prom/"
check prom-config promtool check config "$tmp/prom/prometheus.yml"
check prom-rules promtool check rules "$d/prometheus/rules.yml"
check prom-tests bash -c 'cd "$1" && promtool test rules rules_test.yml' _ "$d/prometheus"
check alert-tests "$py" "$helper" alert-coverage "$d/prometheus/rules.yml" "$d/prometheus/rules_test.yml"
"$py" "$helper" panel-rules "$d/grafana/ladder.json" >"$tmp/panels.yml" 2>"$tmp/panels.err" ||
  cp "$tmp/panels.err" "$tmp/panels.yml"
check grafana-expr promtool check rules "$tmp/panels.yml"
check metrics "$py" "$helper" metrics "$src" "$d/prometheus/rules.yml" "$d/grafana/ladder.json"

# -- YAML style, compose.
check yamllint yamllint --strict -c "$d/.yamllint" "$d"
mkdir -p "$tmp/secrets"
for f in "$d"/compose/secrets/*.example; do cp "$f" "$tmp/secrets/$(basename "$f" .example)"; done
check compose env SECRETS_DIR="$tmp/secrets" docker-compose -f "$d/compose/docker-compose.yml" config -q
SECRETS_DIR="$tmp/secrets" docker-compose -f "$d/compose/docker-compose.yml" config >"$tmp/compose.yml" 2>/dev/null

# -- Kubernetes: the OpenAPI schemas through kubernetes-models, installed
# once into the build directory.
k8s_validate() {
  if [ ! -d "$cache/node_modules/kubernetes-models" ]; then
    mkdir -p "$cache"
    npm install --prefix "$cache" --cache "$cache/npm" --no-audit --no-fund \
      --no-save --loglevel=error kubernetes-models@5.1.0 >&2 || return 1
  fi
  cp "$here/validate-k8s.mjs" "$cache/"
  "$py" "$helper" k8s-json "$d"/k8s/*.yaml >"$tmp/k8s.jsonl" || return 1
  # The validator must be able to fail: a port that is not a number.
  echo '{"file":"self-test","object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"ports":[{"port":"eighty"}]}}}' |
    (cd "$cache" && node validate-k8s.mjs) >/dev/null 2>&1 && { echo "the validator accepted an invalid Service"; return 1; }
  (cd "$cache" && node validate-k8s.mjs) <"$tmp/k8s.jsonl"
}
check k8s-schema k8s_validate
check k8s-policy "$py" "$helper" k8s-policy "$d"/k8s/*.yaml
k8s_acl() {
  # The comparison must be able to fail: a copy without one right.
  sed 's/ +fcall / /' "$d/k8s/redis.yaml" >"$tmp/redis-acl-drift.yaml"
  ! cmp -s "$d/k8s/redis.yaml" "$tmp/redis-acl-drift.yaml" || { echo "the self-test found no +fcall to remove"; return 1; }
  "$py" "$helper" k8s-acl "$d/redis/users.acl" "$tmp/redis-acl-drift.yaml" >/dev/null 2>&1 &&
    { echo "the ACL check accepted a ConfigMap copy without +fcall"; return 1; }
  "$py" "$helper" k8s-acl "$d/redis/users.acl" "$d"/k8s/*.yaml
}
check k8s-acl k8s_acl

# -- The Dockerfile (no image is built here): every file it copies from the
# repository exists, and every program it builds and copies is one the
# build makes.
dockerfile_check() {
  local f t n=0
  for f in $(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$d/Dockerfile"); do
    [ -e "$src/$f" ] || { echo "Dockerfile: COPY $f: no such file in the repository"; return 1; }
    n=$((n + 1))
  done
  for t in $(grep -o 'ladder-[a-z]*' "$d/Dockerfile" | sort -u); do
    case "$t" in ladder-probe) continue ;; esac
    [ -x "$bin/$t" ] || { echo "Dockerfile: $t is not a program of the build"; return 1; }
  done
  echo "$n repository paths copied, every program it names is built"
}
check dockerfile dockerfile_check

# -- Every LADDER_* variable of every container, through ladder's loader.
# Data paths point into the image; here the repository's copies stand in
# for them (the variable names are what is checked, and they are strings).
ladder_env() {
  local n=0 line
  {
    "$py" "$helper" dockerfile-env "$d/Dockerfile" || return 1
    "$py" "$helper" compose-env "$tmp/compose.yml" || return 1
    "$py" "$helper" k8s-env "$d"/k8s/*.yaml || return 1
  } >"$tmp/env.tsv"
  while IFS=$'\t' read -r -a parts; do
    local where=${parts[0]} vars=() v
    for v in "${parts[@]:1}"; do
      case "$v" in
        LADDER_SCHEMAS_DIR=*) v=LADDER_SCHEMAS_DIR=$src/schemas ;;
        LADDER_POLICY_DIR=*) v=LADDER_POLICY_DIR=$src/deploy/policy ;;
        LADDER_UNITS_FILE=*) v=LADDER_UNITS_FILE=$src/deploy/data/reporting_units.csv ;;
      esac
      vars+=("$v")
    done
    if ! out=$(env -i PATH="$PATH" "${vars[@]}" "$bin/ladder-gen" --scale 0.0001 --seed 1 \
                 --until 2019-02-01T00:00:00Z --single --out - --quiet 2>&1 >/dev/null); then
      echo "$where: $out"
      return 1
    fi
    n=$((n + 1))
  done <"$tmp/env.tsv"
  echo "$n containers' LADDER_* variables accepted"
}
check ladder-env ladder_env

# -- A real Prometheus against a real worker.
check live "$src/tests/support/with-stack" "$0" --live "$tmp"

echo "deploy.static: ${#failed[@]} failed in ${SECONDS}s${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
