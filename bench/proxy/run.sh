#!/usr/bin/env bash
# Meridian's L7 proxy against nginx and haproxy (Debian packages) as equivalent reverse proxies in front of the
# same backend, in one run. Each proxy is pinned with taskset to the same single core (PROXY_CORE); the backend
# and wrk share the other core(s). Prints RPS, p50/p99 latency and the proxy's own CPU time per request
# (utime+stime from /proc of all its processes, divided by requests served), then the Meridian/peer ratios.
#
#   bench/proxy/run.sh [duration=10s] [connections=64]
#   SNAPSHOT=$(bench/proxy/snapshot.sh) bench/proxy/run.sh ...   # measure a build taken now, later
#
# Meridian runs twice: its own HTTP/1.1 path (the default, row "meridian") and, for the A/B, the Vert.x server +
# client path (-Dmeridian.proxy.engine=vertx, row "mer-vertx"; VERTX_AB=0 leaves it out).
#
# MERIDIAN_JAR=jar runs the "meridian" row as `java -jar jar run --roles proxy $MERIDIAN_RUN_ARGS` (default
# --static-plan: a proxy-only process without etcd needs it since the etcd work; set it empty for older builds) (config plus
# MERIDIAN_CONFIG_APPEND); MERIDIAN_B_JAR (with MERIDIAN_B_RUN_ARGS, MERIDIAN_B_CONFIG_APPEND) replaces the Vert.x
# row with a second build, for a before/after in one run.
#
# ROUTES=N (default 1) gives Meridian N routes and nginx N `location` blocks: N-1 path prefixes /svc-0000/ ...
# that the load (GET /) never matches, declared before the catch-all `/` — the linear scan's worst case; compare
# the CPU per request with ROUTES=1 (issue #20: 1,000 routes within 5 % of one). haproxy keeps its one backend.
#
# Needs: wrk nginx haproxy (apt: wrk nginx-light|nginx haproxy), Java 17, Maven. Loopback only.
set -euo pipefail
ROUTES=${ROUTES:-1}
NGINX_LOCATIONS=""
MERIDIAN_ROUTES=""
if [ "$ROUTES" -gt 1 ]; then
  MERIDIAN_ROUTES="  routes:"$'\n'
  for i in $(seq 0 $((ROUTES - 2))); do
    p=$(printf '/svc-%04d/' "$i")
    NGINX_LOCATIONS+="    location $p { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"$'\n'
    MERIDIAN_ROUTES+="    - {name: svc-$i, path_prefix: $p}"$'\n'
  done
  MERIDIAN_ROUTES+="    - {name: default, path_prefix: /}"
fi
DUR=${1:-10s}
CONNS=${2:-64}
WARM=${WARM:-5s}
PROXY_CORE=${PROXY_CORE:-0}
OTHER_CORES=${OTHER_CORES:-1}
BACKEND_PORT=${BACKEND_PORT:-18181}
MERIDIAN_PORT=${MERIDIAN_PORT:-18180}
NGINX_PORT=${NGINX_PORT:-18182}
HAPROXY_PORT=${HAPROXY_PORT:-18183}
MERIDIAN_VX_PORT=${MERIDIAN_VX_PORT:-18184}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/meridian-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)

# --- the shared backend: nginx answering a small fixed body, on the other core(s)
mkdir -p "$WORK/backend" "$WORK/nginx" "$WORK/haproxy"
cat > "$WORK/backend/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/backend/nginx.pid; error_log $WORK/backend/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/backend; proxy_temp_path $WORK/backend; fastcgi_temp_path $WORK/backend;
  uwsgi_temp_path $WORK/backend; scgi_temp_path $WORK/backend;
  server { listen 127.0.0.1:$BACKEND_PORT; location / { return 200 "hello from the backend\n"; } } }
CONF
taskset -c "$OTHER_CORES" nginx -c "$WORK/backend/nginx.conf" -p "$WORK/backend" & PIDS+=($!)

# --- nginx as reverse proxy (one worker, upstream keep-alive)
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$NGINX_PORT;
$NGINX_LOCATIONS
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
CONF
taskset -c "$PROXY_CORE" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)
NGINX_PID=$!

# --- haproxy (one thread, connection reuse)
cat > "$WORK/haproxy/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
CONF
taskset -c "$PROXY_CORE" haproxy -db -f "$WORK/haproxy/haproxy.cfg" & PIDS+=($!)
HAPROXY_PID=$!

# --- Meridian's proxy: one region whose upstream is the backend, one event loop
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
$MERIDIAN_ROUTES
CONF
if [ -n "${SNAPSHOT:-}" ]; then
  # classes built earlier (bench/proxy/snapshot.sh): measure exactly that build, whatever the tree is now
  cp -r "$SNAPSHOT/classes" "$SNAPSHOT/test-classes" "$SNAPSHOT/cp.txt" "$WORK/"
else
  # -am: the other modules come from this checkout, not from ~/.m2; l7-proxy's classpath file is written last
  (cd "$ROOT" && mvn -q -pl l7-proxy -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test -Denforcer.skip=true) >/dev/null
  # a private copy of the compiled classes: a build in the same checkout meanwhile cannot pull them away
  cp -r "$ROOT/l7-proxy/target/classes" "$WORK/classes" && cp -r "$ROOT/l7-proxy/target/test-classes" "$WORK/test-classes"
fi
CP="$WORK/classes:$WORK/test-classes:$(cat "$WORK/cp.txt")"
start_meridian() { # name port engine [jar]
  sed "s/127.0.0.1:$MERIDIAN_PORT/127.0.0.1:$2/" "$WORK/meridian.yaml" > "$WORK/$1-run.yaml"
  if [ -n "${4:-}" ]; then
    # as users start it: `meridian run --roles proxy` from a launcher jar, its config plus MERIDIAN_CONFIG_APPEND
    [ -n "${MERIDIAN_CONFIG_APPEND:-}" ] && printf '%s\n' "$MERIDIAN_CONFIG_APPEND" >> "$WORK/$1-run.yaml"
    taskset -c "$PROXY_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms256m -Xmx256m \
      -Xlog:gc:file="$WORK/$1-gc.log" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      -jar "$4" run --config "$WORK/$1-run.yaml" --roles proxy ${MERIDIAN_RUN_ARGS---static-plan} > "$WORK/$1.log" 2>&1 & PIDS+=($!)
    for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$2/" 2>/dev/null && break; sleep 0.5; done
    echo "$1: meridian run --roles proxy from $4"
    return
  fi
  taskset -c "$PROXY_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms256m -Xmx256m \
    -Xlog:gc:file="$WORK/$1-gc.log" -Dmeridian.proxy.engine="$3" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$CP" \
    io.meridian.proxy.BenchProxyMain "$WORK/$1-run.yaml" 1 > "$WORK/$1.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 60); do grep -q READY "$WORK/$1.log" && break; sleep 0.5; done
  grep -q READY "$WORK/$1.log" || { cat "$WORK/$1.log"; exit 1; }
  echo "$1: $(grep READY "$WORK/$1.log") engine=$3"
}
# Meridian twice, one JVM per engine: its own HTTP/1.1 path (the default) and the Vert.x server + client path
# (-Dmeridian.proxy.engine=vertx), for the A/B in the same run. Only the one under load uses the core.
start_meridian meridian "$MERIDIAN_PORT" h1 "${MERIDIAN_JAR:-}"
MERIDIAN_PID=${PIDS[-1]}
if [ -n "${MERIDIAN_B_JAR:-}" ]; then
  # A/B of two builds in one run (bench/etcd/dataplane-ab.sh): row "mer-vertx" is then the B build
  MERIDIAN_CONFIG_APPEND="${MERIDIAN_B_CONFIG_APPEND:-}" MERIDIAN_RUN_ARGS="${MERIDIAN_B_RUN_ARGS---static-plan}" \
    start_meridian mer-vertx "$MERIDIAN_VX_PORT" h1 "$MERIDIAN_B_JAR"
  VERTX_PID=${PIDS[-1]}
elif [ "${VERTX_AB:-1}" = 1 ]; then
  start_meridian mer-vertx "$MERIDIAN_VX_PORT" vertx
  VERTX_PID=${PIDS[-1]}
fi

# CPU ticks of a process and its children/threads (nginx: master + worker)
ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
to_ms() { # wrk latency like 512.00us / 1.23ms / 1.01s
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } else print v }'
}
declare -A RPS P50 P99 CPU
measure() { # name port pid
  taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$WARM" "http://127.0.0.1:$2/" > /dev/null
  # a second, short warm-up on new connections: the JIT compiled the steady state without the connection
  # set-up path (seen only while still interpreted), and the measurement's new connections would otherwise
  # deoptimise and recompile the hot paths during its first second (seen with -XX:+PrintCompilation)
  taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d3s "http://127.0.0.1:$2/" > /dev/null
  local before after out
  before=$(ticks "$3")
  local gc0=0
  [ -f "$WORK/$1-gc.log" ] && gc0=$(wc -l < "$WORK/$1-gc.log")
  out=$(taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$2/")
  after=$(ticks "$3")
  local gcs=""
  if [ -f "$WORK/$1-gc.log" ]; then # the JVM's collections during the measurement: count and longest pause
    gcs=$(tail -n +$((gc0 + 1)) "$WORK/$1-gc.log" | awk '/Pause/ { n++; v = $NF; sub(/ms$/, "", v); if (v + 0 > m) m = v + 0 }
      END { printf ", %d GC pauses, longest %.1f ms", n, m }')
  fi
  local reqs non2xx
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  RPS[$1]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  P50[$1]=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  P99[$1]=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  CPU[$1]=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$reqs" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  printf '%-9s %10s rps  p50 %7.3f ms  p99 %7.3f ms  cpu %6s us/req  (%s requests%s%s)\n' "$1" "${RPS[$1]}" \
    "${P50[$1]}" "${P99[$1]}" "${CPU[$1]}" "$reqs" "${non2xx:+, non-2xx $non2xx}" "$gcs"
  if [ "${VERBOSE:-0}" = 1 ]; then echo "$out" | grep -E "^ +(50|75|90|99)%" | sed 's/^/            /'; fi
}
curl -fsS "http://127.0.0.1:$MERIDIAN_PORT/" >/dev/null
[ -n "${VERTX_PID:-}" ] && curl -fsS "http://127.0.0.1:$MERIDIAN_VX_PORT/" >/dev/null
curl -fsS "http://127.0.0.1:$NGINX_PORT/" >/dev/null
curl -fsS "http://127.0.0.1:$HAPROXY_PORT/" >/dev/null
echo "wrk -t1 -c$CONNS -d$DUR (after $WARM + 3s warm-up); proxies pinned to core $PROXY_CORE, backend+wrk on $OTHER_CORES"
measure meridian "$MERIDIAN_PORT" "$MERIDIAN_PID"
[ -n "${VERTX_PID:-}" ] && measure mer-vertx "$MERIDIAN_VX_PORT" "$VERTX_PID"
measure nginx "$NGINX_PORT" "$NGINX_PID"
measure haproxy "$HAPROXY_PORT" "$HAPROXY_PID"
# memory as the operator sees it, after the runs: resident now (VmRSS) and at its peak (VmHWM); nginx and haproxy
# per process (nginx: its master and worker)
rss() {
  local p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/status" ] && awk -v p="$p" '/^VmRSS|^VmHWM/ {s = s sprintf("%s %d MB  ", $1, $2 / 1024)}
      END {printf "[%s] %s", p, s}' "/proc/$p/status"
  done
}
echo "RSS meridian: $(rss "$MERIDIAN_PID")"
[ -n "${VERTX_PID:-}" ] && echo "RSS mer-vertx: $(rss "$VERTX_PID")"
echo "RSS nginx: $(rss "$NGINX_PID")"
echo "RSS haproxy: $(rss "$HAPROXY_PID")"
for m in meridian ${VERTX_PID:+mer-vertx}; do
  for peer in nginx haproxy; do
    awk -v mr="${RPS[$m]}" -v pr="${RPS[$peer]}" -v mc="${CPU[$m]}" -v pc="${CPU[$peer]}" \
        -v m99="${P99[$m]}" -v p99="${P99[$peer]}" -v peer="$peer" -v m="$m" 'BEGIN {
      printf "%s/%-8s rps %.2fx  cpu/req %.2fx  p99 %+.3f ms\n", m, peer, mr / pr, mc / pc, m99 - p99 }'
  done
done
