#!/usr/bin/env bash
# Memory per idle keep-alive client connection: Meridian's proxy (`meridian run --roles proxy --static-plan` from
# the launcher jar), nginx and haproxy as reverse proxies in front of the same backend. For each: N client
# connections are opened, each sends one request and reads its answer (so every proxy has set the connection
# up fully, upstream connection included), then all stay open and idle for IDLE_WAIT seconds; memory is read
# before the clients connect and after the wait:
#   - Meridian: live heap after a full GC (`jcmd PID GC.class_histogram`, whose total is what survives the GC it
#     triggers), and RSS;
#   - nginx, haproxy: RSS of all their processes (VmRSS from /proc).
# Prints bytes per idle connection (delta / N) for each, and for Meridian the classes whose live bytes grew most.
#
#   bench/proxy/idle-connections.sh [connections=1000] [idle wait seconds=35]
#   MERIDIAN_JAR=path/meridian.jar bench/proxy/idle-connections.sh 10000
#
# The 35 s default wait lets Meridian's idle timer run once (it fires every limits.body_idle_timeout, 30 s): an
# idle connection then drops its spare exchange object and cached forwarding fields. Keep-alive timeouts are set
# to 600 s for all three so no connection closes during the run. Loopback only; the client is a small Python
# program holding the sockets. N up to the file descriptor hard limit minus headroom (ulimit -Hn); the script
# raises the soft limit itself. Do not run large N on a machine others are measuring on.
#
# Needs: Java 17+ (jcmd), nginx, haproxy, python3 (apt: nginx-light|nginx haproxy python3), a built launcher jar
# (mvn -pl launcher -am package -DskipTests).
set -euo pipefail
N=${1:-1000}
IDLE_WAIT=${2:-35}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MERIDIAN_JAR=${MERIDIAN_JAR:-$ROOT/launcher/target/meridian.jar}
BACKEND_PORT=${BACKEND_PORT:-18281}
MERIDIAN_PORT=${MERIDIAN_PORT:-18280}
NGINX_PORT=${NGINX_PORT:-18282}
HAPROXY_PORT=${HAPROXY_PORT:-18283}
ONLY=${ONLY:-meridian nginx haproxy}
[ -f "$MERIDIAN_JAR" ] || { echo "no launcher jar at $MERIDIAN_JAR (mvn -pl launcher -am package -DskipTests)" >&2; exit 1; }
HARD=$(ulimit -Hn)
# as root, raise the hard limit where it is below what the run wants (haproxy asks for 2 x maxconn descriptors)
if [ "$(id -u)" = 0 ] && [ "$HARD" != unlimited ] && [ "$HARD" -lt $((2 * N + 2048)) ]; then
  ulimit -Hn $((2 * N + 2048)) 2>/dev/null && HARD=$(ulimit -Hn)
fi
NEED=$((N + 1024))
[ "$HARD" = unlimited ] || [ "$HARD" -ge "$NEED" ] || { echo "N=$N needs ulimit -Hn >= $NEED (is $HARD)" >&2; exit 1; }
# as much as the hard limit allows up to 2 per connection (client side + upstream side in the worst case)
WANT=$((2 * N + 2048))
if [ "$HARD" = unlimited ] || [ "$HARD" -ge "$WANT" ]; then ulimit -n "$WANT"; else ulimit -n "$HARD"; fi
FDS=$(ulimit -n)
. "$ROOT/bench/proxy/lib.sh"
bench_work idle

rss_kb() { # total VmRSS of the given pids and their children
  local total=0 p c
  for p in "$@"; do
    for c in $p $(pgrep -P "$p" || true); do
      total=$((total + $(awk '/^VmRSS:/ {print $2}' /proc/"$c"/status 2>/dev/null || echo 0)))
    done
  done
  echo "$total"
}

per() { awk "BEGIN { printf \"%.0f\", ($1) / $N }"; } # an expression's value per connection

wait_http() { for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0; sleep 0.5; done; return 1; }

# --- the client: opens N connections, one request each (keep-alive), then holds them until stdin closes
cat > "$WORK/client.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET / HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: idle-connections\r\nAccept: */*\r\n\r\n"
socks, failed = [], 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        failed += 1
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        body += s.recv(length - len(body))
    socks.append(s)
print(f"OPEN {len(socks)} failed={failed}", flush=True)
sys.stdin.read()
PY

# --- backend: nginx with a small fixed answer
mkdir -p "$WORK/nginx" "$WORK/haproxy"
start_backend "$BACKEND_PORT" "" "keepalive_timeout 600s;"
wait_http "$BACKEND_PORT"

measure() { # name port pid kind(jvm|native)
  local name=$1 port=$2 pid=$3 kind=$4 heap0=0 heap1=0 rss0 rss1
  wait_http "$port" || { echo "$name did not answer on $port" >&2; return 1; }
  # warm: a few connections and requests, so that lazily built state is not counted as per-connection
  python3 "$WORK/client.py" "$port" 50 < /dev/null > /dev/null
  sleep 1
  if [ "$kind" = jvm ]; then
    jcmd "$pid" GC.class_histogram > "$WORK/$name-histo0.txt"
    heap0=$(awk '/^Total/ {print $3}' "$WORK/$name-histo0.txt")
  fi
  rss0=$(rss_kb "$pid")
  mkfifo "$WORK/$name.in"
  python3 "$WORK/client.py" "$port" "$N" < "$WORK/$name.in" > "$WORK/$name.client" 2>&1 & local cpid=$!
  exec 3> "$WORK/$name.in"
  for _ in $(seq 1 600); do grep -q OPEN "$WORK/$name.client" && break; sleep 0.5; done
  grep -q "OPEN $N failed=0" "$WORK/$name.client" || { echo "$name: client: $(cat "$WORK/$name.client")" >&2; exec 3>&-; return 1; }
  sleep "$IDLE_WAIT"
  if [ "$kind" = jvm ]; then
    jcmd "$pid" GC.class_histogram > "$WORK/$name-histo1.txt"
    heap1=$(awk '/^Total/ {print $3}' "$WORK/$name-histo1.txt")
  fi
  rss1=$(rss_kb "$pid")
  exec 3>&-
  wait "$cpid" || true
  if [ "$kind" = jvm ]; then
    printf '%-9s %6d conns  heap %8.0f B/conn  RSS %8.0f B/conn   (live heap %d -> %d B, RSS %d -> %d KiB)\n' \
      "$name" "$N" "$(per "$heap1 - $heap0")" "$(per "($rss1 - $rss0) * 1024")" \
      "$heap0" "$heap1" "$rss0" "$rss1"
    echo "  live-bytes growth by class (top ${TOP:-12}, bytes per connection):"
    python3 - "$WORK/$name-histo0.txt" "$WORK/$name-histo1.txt" "$N" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        f = line.split()
        if len(f) >= 4 and f[0].endswith(':'):
            d[f[3]] = int(f[2])
    return d
a, b, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
import os
grow = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in b), reverse=True)[:int(os.environ.get("TOP", "12"))]
for g, k in grow:
    print(f"    {g / n:8.1f}  {k}")
PY
  else
    printf '%-9s %6d conns  RSS %8.0f B/conn   (RSS %d -> %d KiB)\n' "$name" "$N" \
      "$(per "($rss1 - $rss0) * 1024")" "$rss0" "$rss1"
  fi
}

echo "idle keep-alive connections: N=$N, idle wait ${IDLE_WAIT}s, $(nproc) cores, $(java -version 2>&1 | head -1)"

for what in $ONLY; do
  case $what in
  meridian)
    cat > "$WORK/meridian.yaml" <<CONF
regions:
  - id: local
    latitude: 50.1
    longitude: 8.7
    capacity_rps: 10000000
    upstreams: [http://127.0.0.1:$BACKEND_PORT]
    health_check: {url: 'http://127.0.0.1:$BACKEND_PORT/'}
proxy:
  listen: 127.0.0.1:$MERIDIAN_PORT
  ops_listen: 127.0.0.1:0
  limits: {idle_timeout: 600s}
CONF
    # above the default limit (10,000) only: builds before proxy.max_connections existed refuse the key
    [ $((N + 1000)) -le 10000 ] || echo "  max_connections: $((N + 1000))" >> "$WORK/meridian.yaml"
    java -XX:+UseParallelGC -Xms256m -Xmx1g -XX:ActiveProcessorCount=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      -jar "$MERIDIAN_JAR" run --config "$WORK/meridian.yaml" --roles proxy --static-plan > "$WORK/meridian.log" 2>&1 &
    PIDS+=($!)
    measure meridian "$MERIDIAN_PORT" "$!" jvm || cat "$WORK/meridian.log"
    ;;
  nginx)
    cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
worker_rlimit_nofile $((2 * N + 1024));
events { worker_connections $((2 * N + 512)); }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 600s;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server { listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
    nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)
    measure nginx "$NGINX_PORT" "$!" native
    ;;
  haproxy)
    cat > "$WORK/haproxy/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn $((N + 100))
  # haproxy would ask for 2 x maxconn descriptors and refuse to start above the limit: give it what there is
  ulimit-n $FDS
defaults
  mode http
  timeout connect 2s
  timeout client 600s
  timeout server 600s
  timeout http-keep-alive 600s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
CONF
    haproxy -db -f "$WORK/haproxy/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)
    measure haproxy "$HAPROXY_PORT" "$!" native || cat "$WORK/haproxy.log"
    ;;
  esac
done
