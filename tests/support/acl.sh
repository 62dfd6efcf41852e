# acl.sh -- deploy/redis/users.acl with test passwords, for the ACL tests.
# Sourced by tests/integration/test_redis_acl.sh and test_cluster_acl.sh.
#
# The deployed file holds the SHA-256 of each password as a placeholder
# (#ADMIN_PASSWORD_SHA256, #WORKER_PASSWORD_SHA256, #API_PASSWORD_SHA256),
# which the Redis start scripts of deploy/ fill in from the secrets; these
# functions do the same with the passwords below.
#
#   acl_file OUT        writes the ACL file with the test passwords to OUT
#   acl_setuser PORT    loads the same users into the running node on
#                       127.0.0.1:PORT with ACL SETUSER (the default user
#                       last, so the command itself still gets in)
#   acl_cli PORT ARG... redis-cli as the admin user
acl_admin_pw=adm-Pw-31415
acl_worker_pw=wrk-Pw-27182
acl_api_pw=api-Pw-16180

acl__sha() { printf %s "$1" | sha256sum | cut -d" " -f1; }

acl_file() {
  sed -e "s/#ADMIN_PASSWORD_SHA256/#$(acl__sha "$acl_admin_pw")/" \
      -e "s/#WORKER_PASSWORD_SHA256/#$(acl__sha "$acl_worker_pw")/" \
      -e "s/#API_PASSWORD_SHA256/#$(acl__sha "$acl_api_pw")/" \
      "$src/deploy/redis/users.acl" >"$1"
}

acl_cli() {
  local port=$1; shift
  redis-cli -p "$port" --user admin --pass "$acl_admin_pw" --no-auth-warning "$@"
}

acl_setuser() {
  local port=$1 f line out
  # A replica authenticates to its master as admin, as deploy/ configures
  # it, so replication goes on once the default user is off.
  for line in "masteruser admin" "masterauth $acl_admin_pw"; do
    # shellcheck disable=SC2086
    out=$(redis-cli -p "$port" --no-auth-warning config set $line 2>&1)
    [ "$out" = OK ] || { echo "CONFIG SET ${line%% *} on port $port: $out" >&2; return 1; }
  done
  f=$(mktemp)
  acl_file "$f"
  # Every user but default first, then default.
  { grep -v "^user default " "$f"; grep "^user default " "$f"; } | while read -r line; do
    # shellcheck disable=SC2086
    set -- ${line#user }
    local name=$1; shift
    if [ "$name" = default ]; then
      out=$(acl_cli "$port" acl setuser default reset "$@")
    else
      out=$(redis-cli -p "$port" --no-auth-warning acl setuser "$name" reset "$@" 2>&1)
    fi
    [ "$out" = OK ] || { echo "ACL SETUSER $name on port $port: $out" >&2; exit 1; }
  done || { rm -f "$f"; return 1; }
  rm -f "$f"
}
