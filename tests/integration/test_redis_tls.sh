#!/usr/bin/env bash
# ladder over TLS to Redis, the supported way (docs/SECURITY.md, Redis over
# TLS): hiredis 0.14 has no TLS, so a local stunnel in client mode carries
# ladder's plain connection to a Redis that listens on tls-port only.
#
# Made here: a throwaway CA, a server certificate for redis.ladder.test
# and a client certificate. Started here: a redis-server with port 0 (no
# plain TCP), tls-port, tls-auth-clients yes and the ACL users of
# deploy/redis/users.acl (default user off), and stunnel (verifyChain,
# CAfile, checkHost, the client certificate). Checked: plain TCP to the
# tls-port gets no answer; TLS without a client certificate is refused;
# a tunnel whose checkHost does not match the certificate carries nothing;
# rediss:// is refused naming stunnel; the worker, as the worker user
# through the tunnel, stores a small history and publishes its decisions,
# read back from the TLS port itself (redis-cli --tls); ladder-api as the
# api user answers through the tunnel; the ACL LOG stays empty.
. "$(dirname "$0")/../support/lib.sh"
lt_init
command -v stunnel >/dev/null || fail "stunnel is not installed (Debian stunnel4; ./tools/test installs it)"
command -v openssl >/dev/null || fail "openssl is not installed (./tools/test installs it)"
exec "$src/tests/support/with-stack" --partitions 4 bash -c '
. "$LADDERTEST_SRC/tests/support/lib.sh"
lt_stack_init --no-redis
. "$src/tests/support/acl.sh"
t=$work/tls
rpid="" spid="" bpid="" wpid="" apid=""
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for p in $apid $wpid; do demo_stop "$p" || true; done
  for p in $bpid $spid $rpid; do stop_pid "$p"; done
}
on_fail() { lt_show_logs 20 "$work/worker.log" "$work/api.log" "$t/redis.log" "$t/stunnel.log" "$t/bad.log" "$work/out"; }
mkdir -p "$t"

# -- a throwaway CA, a server and a client certificate -----------------------
mkcerts() {
  cd "$t" || return 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=ladder test CA" &&
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=redis.ladder.test" &&
  printf "subjectAltName=DNS:redis.ladder.test\nextendedKeyUsage=serverAuth\n" >server.ext &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile server.ext &&
  openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
    -subj "/CN=ladder" &&
  printf "extendedKeyUsage=clientAuth\n" >client.ext &&
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out client.pem -days 2 -extfile client.ext &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 \
    -subj "/CN=another CA"
}
(mkcerts) >"$t/openssl.log" 2>&1 || fail "openssl could not make the test certificates: $(cat "$t/openssl.log")"
ok "a throwaway CA, a server certificate for redis.ladder.test and a client certificate"

# -- redis-server on tls-port only, with the ACL users ------------------------
acl_file "$t/users.acl"
tls_cli() {
  redis-cli --tls --cacert "$t/ca.pem" --cert "$t/client.pem" --key "$t/client.key" \
    --sni redis.ladder.test -p "$tport" --no-auth-warning "$@"
}
tls_up() { tls_cli --user admin --pass "$acl_admin_pw" ping 2>/dev/null | grep -q PONG; }
for _ in 1 2 3 4 5; do
  tport=$(demo_free_port)
  redis-server "$src/deploy/redis/redis.conf" --port 0 --tls-port "$tport" \
    --tls-cert-file "$t/server.pem" --tls-key-file "$t/server.key" \
    --tls-ca-cert-file "$t/ca.pem" --tls-auth-clients yes \
    --dir "$t" --aclfile "$t/users.acl" --logfile "$t/redis.log" --daemonize no &
  rpid=$!
  lt_retry 50 0.1 tls_up && break
  stop_pid "$rpid"; rpid=""
done
[ -n "$rpid" ] || fail "redis-server on a tls-port did not start"
ok "redis-server answers on tls-port $tport (port 0: no plain TCP)"

out=$(timeout 10 redis-cli -p "$tport" --user admin --pass "$acl_admin_pw" --no-auth-warning ping 2>&1 || true)
case "$out" in *PONG*) fail "plain TCP to the tls-port answered: $out" ;; esac
ok "plain TCP to the tls-port gets no answer ($(echo $out | head -c 80))"
out=$(timeout 10 redis-cli --tls --cacert "$t/ca.pem" -p "$tport" --user admin --pass "$acl_admin_pw" \
  --no-auth-warning ping 2>&1 || true)
case "$out" in *PONG*) fail "TLS without a client certificate answered: $out" ;; esac
ok "TLS without a client certificate is refused (tls-auth-clients yes)"
out=$(tls_cli ping 2>&1 || true)
case "$out" in *NOAUTH*) ok "the default user is off: PING over TLS without a user gets NOAUTH" ;;
  *) fail "PING over TLS without a user answered: $out" ;; esac

# -- stunnel in client mode ------------------------------------------------
# stunnel_conf NAME LOCAL_PORT CHECK_HOST CA: the configuration of
# docs/SECURITY.md, with this test s paths.
stunnel_conf() {
  cat >"$t/$1.conf" <<EOF
foreground = yes
pid = $t/$1.pid
debug = notice

[redis]
client = yes
accept = 127.0.0.1:$2
connect = 127.0.0.1:$tport
verifyChain = yes
CAfile = $4
checkHost = $3
cert = $t/client.pem
key = $t/client.key
sslVersionMin = TLSv1.2
EOF
}
# start_stunnel NAME CHECK_HOST [CA]: sets lport and the pid in spid or
# bpid.
start_stunnel() {
  local pid
  lport=$(demo_free_port)
  stunnel_conf "$1" "$lport" "$2" "${3:-$t/ca.pem}"
  stunnel "$t/$1.conf" >"$t/$1.log" 2>&1 &
  pid=$!
  if [ "$1" = stunnel ]; then spid=$pid; else bpid=$pid; fi
}
tunnel_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$lport") 2>/dev/null; }
tunnel_up() { redis-cli -p "$lport" --user worker --pass "$acl_worker_pw" --no-auth-warning ping 2>/dev/null | grep -q PONG; }

# A tunnel that cannot verify the server carries nothing: the name in the
# certificate is not checkHost, or the certificate is not from CAfile.
start_stunnel bad other.ladder.test
lt_retry 50 0.1 tunnel_listening || fail "stunnel (checkHost other.ladder.test) did not listen on $lport"
out=$(timeout 10 redis-cli -p "$lport" --user worker --pass "$acl_worker_pw" --no-auth-warning ping 2>&1 || true)
case "$out" in *PONG*) fail "a tunnel whose checkHost does not match the certificate answered: $out" ;; esac
s=0; LADDER_REDIS_URL=redis://api:$acl_api_pw@127.0.0.1:$lport/0 LADDER_HTTP_LISTEN=127.0.0.1:$(demo_free_port) \
  timeout 30 "$bin/ladder-api" >"$work/out" 2>&1 || s=$?
[ "$s" -ne 0 ] && [ "$s" -ne 124 ] || fail "ladder-api through a tunnel that cannot verify the server: exit $s"
lt_wait_log "$t/bad.log" "CERT: Subject checks failed" 25 || fail "stunnel did not log the failed host check"
stop_pid "$bpid"; bpid=""
ok "checkHost other.ladder.test: nothing passes the tunnel; ladder-api exits $s: $(head -c 160 "$work/out")"
start_stunnel bad redis.ladder.test "$t/other-ca.pem"
lt_retry 50 0.1 tunnel_listening || fail "stunnel (another CA) did not listen on $lport"
out=$(timeout 10 redis-cli -p "$lport" --user worker --pass "$acl_worker_pw" --no-auth-warning ping 2>&1 || true)
case "$out" in *PONG*) fail "a tunnel trusting another CA answered: $out" ;; esac
lt_wait_log "$t/bad.log" "certificate verify failed" 25 || fail "stunnel did not log the failed chain check"
stop_pid "$bpid"; bpid=""
ok "CAfile of another CA: nothing passes the tunnel (certificate verify failed)"

start_stunnel stunnel redis.ladder.test
lt_retry 100 0.1 tunnel_up || fail "no PONG through stunnel on 127.0.0.1:$lport"
ok "stunnel (verifyChain, checkHost redis.ladder.test, client certificate) on 127.0.0.1:$lport"

s=0; LADDER_REDIS_URL=rediss://worker:$acl_worker_pw@127.0.0.1:$tport/0 timeout 20 "$bin/ladder-worker" >"$work/out" 2>&1 || s=$?
{ [ "$s" -eq 2 ] && grep -q stunnel "$work/out" && grep -q docs/SECURITY.md "$work/out" && ! grep -q "$acl_worker_pw" "$work/out"; } ||
  fail "rediss://: exit $s: $(cat "$work/out")"
ok "rediss:// is refused (exit 2), naming stunnel and docs/SECURITY.md, never the password"
tls_cli --user admin --pass "$acl_admin_pw" acl log reset >/dev/null

# -- the worker and the API through the tunnel ------------------------------
export LADDER_REDIS_URL=redis://worker:$acl_worker_pw@127.0.0.1:$lport/0
"$bin/ladder-gen" --scale 0.001 --seed 5 --single --out "$work/g" >/dev/null 2>&1 || fail "ladder-gen"
"$bin/ladder-feed" "$work/g/events.csv" >"$work/out" 2>&1 || fail "ladder-feed: $(cat "$work/out")"
total=$(demo_topic_total ladder.events.v1)
"$bin/ladder-worker" >"$work/worker.log" 2>&1 & wpid=$!
DEMO_PIDS="$wpid $spid" demo_wait_caught_up "$total" 30 || fail "the worker did not store the $total events through the tunnel"
decisions=$(demo_topic_total ladder.decisions.v1)
[ "$decisions" -gt 0 ] || fail "no decision was published"

# Read back from the TLS port itself, not through the tunnel.
parts=$(tls_cli --user admin --pass "$acl_admin_pw" get "$(demo_keys partitions)")
[ "$parts" = 4 ] || fail "the TLS Redis holds partition count \"$parts\", not 4"
n=0 ents=0
for p in 0 1 2 3; do
  v=$(tls_cli --user admin --pass "$acl_admin_pw" hget "$(demo_keys meta "$p")" next_offset)
  n=$((n + ${v:-0}))
  ents=$((ents + $(tls_cli --user admin --pass "$acl_admin_pw" hlen "$(demo_keys ent "$p")")))
done
[ "$n" -eq "$total" ] || fail "the TLS Redis holds next offsets summing to $n, not $total"
[ "$ents" -gt 0 ] || fail "the TLS Redis holds no enterprise"
ok "the worker, as user worker through the tunnel: $total events stored, $decisions decisions published; read over TLS: next offsets sum $n, $ents enterprises"

key=$(demo_keys ent 0)
uscc=$(tls_cli --user admin --pass "$acl_admin_pw" hscan "$key" 0 count 1 | sed -n 2p)
[ -n "$uscc" ] || fail "no enterprise in $key"
hp=$(demo_free_port)
LADDER_REDIS_URL=redis://api:$acl_api_pw@127.0.0.1:$lport/0 LADDER_HTTP_LISTEN=127.0.0.1:$hp \
  "$bin/ladder-api" >"$work/api.log" 2>&1 & apid=$!
lt_wait_ready "http://127.0.0.1:$hp/readyz" || fail "ladder-api (user api, through the tunnel) is not ready"
code=$(curl -s -o "$work/ent.json" -w "%{http_code}" "http://127.0.0.1:$hp/v1/enterprises/$uscc" || true)
{ [ "$code" = 200 ] && grep -q "\"$uscc\"" "$work/ent.json"; } || fail "GET enterprise $uscc: $code $(cat "$work/ent.json")"
ok "ladder-api, as user api through the tunnel, answers enterprise $uscc"

demo_stop "$wpid" || fail "the worker exited $? on SIGTERM"; wpid=""
log=$(tls_cli --user admin --pass "$acl_admin_pw" acl log)
[ -z "$log" ] || fail "the ACL LOG is not empty: $log"
ok "the ACL LOG is empty"
' "$src" "$bin"
