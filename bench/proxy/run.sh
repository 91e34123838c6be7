#!/usr/bin/env bash
# Meridian's L7 proxy against nginx and haproxy (Debian packages) as equivalent reverse proxies in front of the
# same backend, in one run. Each proxy is pinned with taskset to the same single core (PROXY_CORE); the backend
# and wrk share the other core(s). Prints RPS, p50/p99 latency and the proxy's own CPU time per request
# (utime+stime from /proc of all its processes, divided by requests served), then the Meridian/peer ratios.
#
#   bench/proxy/run.sh [duration=10s] [connections=64]
#   SNAPSHOT=$(bench/proxy/snapshot.sh) bench/proxy/run.sh ...   # measure a build taken now, later
#
# Meridian runs once per JDK in JDKS (default "17 25", those installed; rows "meridian-17", "meridian-25") as users
# start it: `./meridian run --roles proxy --static-plan` with the launcher's own JVM flags, from MERIDIAN_JAR or this
# checkout's jar (built now). MERIDIAN_RUN_ARGS replaces --static-plan (set it empty for builds older than the etcd
# work); MERIDIAN_CONFIG_APPEND is YAML appended to its config; MERIDIAN_JAVA_OPTS replaces its memory flags.
# MERIDIAN_B_JAR (with MERIDIAN_B_RUN_ARGS, MERIDIAN_B_CONFIG_APPEND) adds a row "meridian-b" for a second build
# on the first JDK, for a before/after in one run (bench/etcd/dataplane-ab.sh). VERTX_AB=1 adds a row "mer-vertx":
# the Vert.x server + client path (-Dmeridian.proxy.engine=vertx) in the bench harness.
# TLS=1 (default) adds HTTP/1.1-over-TLS rows on the same backend: "meridian-<jdk>-tls" (proxy.tls; HTTP/1.1 is
# served by the proxy's own HTTP/1.1 path after Vert.x's handshake), "nginx-tls", "haproxy-tls" — all with one
# ECDSA P-256 certificate made by openssl for the run; wrk offers no ALPN, so every row is HTTP/1.1 over TLS 1.3;
# TLS connections are set up during the warm-up, the measurement is steady keep-alive traffic. TLS=0: plain only.
#
# H2=1 (default with TLS=1, when h2load is installed) adds HTTP/2-over-TLS rows measured with h2load (ALPN h2,
# -c CONNS connections, -m H2_STREAMS concurrent streams each, default 8): "meridian-<jdk>-h2" (the same TLS
# process, its own HTTP/2 engine), "nginx-h2" (`listen ... ssl http2`), "haproxy-h2" (`alpn h2,http/1.1`); the
# upstream side stays HTTP/1.1 with keep-alive for all three. h2load reports mean latency, not percentiles: those
# rows show it in the p50 column and no p99.
#
# ROUTES=N (default 1) gives Meridian N routes and nginx N `location` blocks: N-1 path prefixes /svc-0000/ ...
# that the load (GET /) never matches, declared before the catch-all `/` — the linear scan's worst case; compare
# the CPU per request with ROUTES=1 (issue #20: 1,000 routes within 5 % of one). haproxy keeps its one backend.
#
# Warm-up: each row repeats its load for WARM (default 5s) until the process's JIT compiler threads used under 3 % of
# its CPU in the last round (WARM_ROUNDS, default 24, at most), so that a row measures the steady state, not the
# compiler; the row prints how many rounds it took (nginx and haproxy: 1).
#
# Needs: wrk nginx haproxy (bench/install-peers.sh), Java 17, Maven. Loopback only.
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
TLS=${TLS:-1}
H2=${H2:-$TLS}
H2_STREAMS=${H2_STREAMS:-8}
if [ "$H2" = 1 ] && ! command -v h2load >/dev/null; then
  echo "bench/proxy: h2load not found (apt-get install nghttp2-client, or bench/install-peers.sh): no h2 rows" >&2
  H2=0
fi
[ "$TLS" = 1 ] || H2=0
NGINX_TLS_PORT=${NGINX_TLS_PORT:-18192}
HAPROXY_TLS_PORT=${HAPROXY_TLS_PORT:-18193}
MERIDIAN_TLS_PORT=${MERIDIAN_TLS_PORT:-18185}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib/jdks.sh"
. "$ROOT/bench/proxy/lib.sh"
bench_work bench
TICK=$(getconf CLK_TCK)

# --- the shared backend: nginx answering a small fixed body, on the other core(s)
mkdir -p "$WORK/nginx" "$WORK/haproxy"
start_backend "$BACKEND_PORT" "$OTHER_CORES"

# --- TLS: one certificate for every proxy (haproxy wants certificate and key in one file)
NGINX_TLS_LISTEN="" HAPROXY_TLS_FRONTEND=""
if [ "$TLS" = 1 ]; then
  mkdir -p "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/tls/key.pem" \
    -out "$WORK/tls/cert.pem" -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    2>/dev/null
  cat "$WORK/tls/cert.pem" "$WORK/tls/key.pem" > "$WORK/tls/combined.pem"
  # http2 on the TLS listener: ALPN h2 gets HTTP/2 (h2load), a client offering no ALPN (wrk) HTTP/1.1
  NGINX_TLS_LISTEN="listen 127.0.0.1:$NGINX_TLS_PORT ssl http2; ssl_certificate $WORK/tls/cert.pem; ssl_certificate_key $WORK/tls/key.pem;"
  HAPROXY_TLS_FRONTEND="frontend fe_tls
  bind 127.0.0.1:$HAPROXY_TLS_PORT ssl crt $WORK/tls/combined.pem alpn h2,http/1.1
  default_backend be"
fi

# --- nginx as reverse proxy (one worker, upstream keep-alive)
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$NGINX_PORT; $NGINX_TLS_LISTEN
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
$HAPROXY_TLS_FRONTEND
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
start_meridian() { # name port jar java_home run_args config_append [scheme]
  local scheme=${7:-http}
  sed "s/127.0.0.1:$MERIDIAN_PORT/127.0.0.1:$2/" "$WORK/meridian.yaml" > "$WORK/$1-run.yaml"
  [ -n "${6:-}" ] && printf '%s\n' "$6" >> "$WORK/$1-run.yaml"
  if [ "$scheme" = https ]; then # under proxy:, beside listen
    sed -i "s|^  ops_listen: .*|&\n  tls: {cert_file: '$WORK/tls/cert.pem', key_file: '$WORK/tls/key.pem'}|" "$WORK/$1-run.yaml"
  fi
  # as users start it; the GC log through JDK_JAVA_OPTIONS, so that ./meridian's own flags stay as they are
  PATH="$4/bin:$PATH" MERIDIAN_JAR="$3" JDK_JAVA_OPTIONS="-Xlog:gc:file=$WORK/$1-gc.log" \
    taskset -c "$PROXY_CORE" "$ROOT/meridian" run --config "$WORK/$1-run.yaml" --roles proxy $5 > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 60); do curl -kfsS -o /dev/null "$scheme://127.0.0.1:$2/" 2>/dev/null && break; sleep 0.5; done
  curl -kfsS -o /dev/null "$scheme://127.0.0.1:$2/" || { cat "$WORK/$1.log"; exit 1; }
  echo "$1: ./meridian run --roles proxy on $("$4/bin/java" -version 2>&1 | head -1)"
}
JAR=$(meridian_jar "$WORK")
mapfile -t JDK_LIST < <(bench_jdks)
[ "${#JDK_LIST[@]}" -gt 0 ] || { echo "bench/proxy: none of the JDKs ${JDKS:-17 25} is installed" >&2; exit 1; }
MROWS=()
declare -A MPID MPORT
port=$MERIDIAN_PORT
for entry in "${JDK_LIST[@]}"; do
  name="meridian-${entry%%:*}"
  start_meridian "$name" "$port" "$JAR" "${entry#*:}" "${MERIDIAN_RUN_ARGS---static-plan}" "${MERIDIAN_CONFIG_APPEND:-}"
  MROWS+=("$name"); MPID[$name]=${PIDS[-1]}; MPORT[$name]=$port; port=$((port + 10))
done
declare -A MSCHEME
if [ "$TLS" = 1 ]; then
  tport=$MERIDIAN_TLS_PORT
  for entry in "${JDK_LIST[@]}"; do
    name="meridian-${entry%%:*}-tls"
    start_meridian "$name" "$tport" "$JAR" "${entry#*:}" "${MERIDIAN_RUN_ARGS---static-plan}" \
      "${MERIDIAN_CONFIG_APPEND:-}" https
    MROWS+=("$name"); MPID[$name]=${PIDS[-1]}; MPORT[$name]=$tport; MSCHEME[$name]=https; tport=$((tport + 10))
  done
fi
if [ -n "${MERIDIAN_B_JAR:-}" ]; then
  cp "$MERIDIAN_B_JAR" "$WORK/meridian-b.jar"
  start_meridian meridian-b "$port" "$WORK/meridian-b.jar" "${JDK_LIST[0]#*:}" "${MERIDIAN_B_RUN_ARGS---static-plan}" \
    "${MERIDIAN_B_CONFIG_APPEND:-}"
  MROWS+=(meridian-b); MPID[meridian-b]=${PIDS[-1]}; MPORT[meridian-b]=$port; port=$((port + 10))
fi
if [ "${VERTX_AB:-0}" = 1 ]; then
  # the Vert.x path in the bench harness, on the default java: classes from this checkout (or SNAPSHOT)
  if [ -n "${SNAPSHOT:-}" ]; then
    cp -r "$SNAPSHOT/classes" "$SNAPSHOT/test-classes" "$SNAPSHOT/cp.txt" "$WORK/"
  else
    (cd "$ROOT" && mvn -q -pl l7-proxy -am test-compile dependency:build-classpath \
      -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test -Denforcer.skip=true) >/dev/null
    cp -r "$ROOT/l7-proxy/target/classes" "$WORK/classes" && cp -r "$ROOT/l7-proxy/target/test-classes" "$WORK/test-classes"
  fi
  sed "s/127.0.0.1:$MERIDIAN_PORT/127.0.0.1:$MERIDIAN_VX_PORT/" "$WORK/meridian.yaml" > "$WORK/mer-vertx-run.yaml"
  taskset -c "$PROXY_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms256m -Xmx256m \
    -Xlog:gc:file="$WORK/mer-vertx-gc.log" -Dmeridian.proxy.engine=vertx -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$WORK/classes:$WORK/test-classes:$(cat "$WORK/cp.txt")" \
    io.meridian.proxy.BenchProxyMain "$WORK/mer-vertx-run.yaml" 1 > "$WORK/mer-vertx.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 60); do grep -q READY "$WORK/mer-vertx.log" && break; sleep 0.5; done
  grep -q READY "$WORK/mer-vertx.log" || { cat "$WORK/mer-vertx.log"; exit 1; }
  MROWS+=(mer-vertx); MPID[mer-vertx]=${PIDS[-1]}; MPORT[mer-vertx]=$MERIDIAN_VX_PORT
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
# Warm-up: the load command again and again until the process is in its steady state, i.e. its JIT compiler used
# under 3 % of its CPU during one round (at most WARM_ROUNDS rounds). Pinned to one core, the compiler threads share
# it with the event loop: 20-40 s of load pass before the h2 and TLS paths are compiled, and a measurement that
# starts earlier counts the compiler's CPU as cost per request (half of it in the first h2 rows of issue #20).
# nginx and haproxy have no JIT: one round.
warm_up() { # pid command...
  local pid=$1 r j0 t0 j1 t1
  shift
  for r in $(seq 1 "${WARM_ROUNDS:-24}"); do
    j0=$(jit_ticks "$pid"); t0=$(ticks "$pid")
    "$@" > /dev/null
    j1=$(jit_ticks "$pid"); t1=$(ticks "$pid")
    [ $((100 * (j1 - j0))) -lt $((3 * (t1 - t0 + 1))) ] && break
  done
  WARMED=$r
}
declare -A RPS P50 P99 CPU
measure() { # name port pid [scheme]
  local url="${4:-http}://127.0.0.1:$2/"
  warm_up "$3" taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$WARM" "$url"
  # a second, short warm-up on new connections: the JIT compiled the steady state without the connection
  # set-up path (seen only while still interpreted), and the measurement's new connections would otherwise
  # deoptimise and recompile the hot paths during its first second (seen with -XX:+PrintCompilation)
  taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d3s "$url" > /dev/null
  local before after out
  before=$(ticks "$3")
  local gc0=0
  [ -f "$WORK/$1-gc.log" ] && gc0=$(wc -l < "$WORK/$1-gc.log")
  out=$(taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$DUR" --latency "$url")
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
  printf '%-16s %10s rps  p50 %7.3f ms  p99 %7.3f ms  cpu %6s us/req  (%s requests%s%s, %d warm-up rounds)\n' "$1" \
    "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${CPU[$1]}" "$reqs" "${non2xx:+, non-2xx $non2xx}" "$gcs" "$WARMED"
  if [ "${VERBOSE:-0}" = 1 ]; then echo "$out" | grep -E "^ +(50|75|90|99)%" | sed 's/^/            /'; fi
}
for m in "${MROWS[@]}"; do curl -kfsS "${MSCHEME[$m]:-http}://127.0.0.1:${MPORT[$m]}/" >/dev/null; done
curl -fsS "http://127.0.0.1:$NGINX_PORT/" >/dev/null
curl -fsS "http://127.0.0.1:$HAPROXY_PORT/" >/dev/null
if [ "$TLS" = 1 ]; then
  curl -fsS --cacert "$WORK/tls/cert.pem" "https://127.0.0.1:$NGINX_TLS_PORT/" >/dev/null
  curl -fsS --cacert "$WORK/tls/cert.pem" "https://127.0.0.1:$HAPROXY_TLS_PORT/" >/dev/null
fi
echo "wrk -t1 -c$CONNS -d$DUR (after rounds of $WARM warm-up until the JIT is quiet, + 3s); proxies pinned to core $PROXY_CORE, backend+wrk on $OTHER_CORES"
# one proxy under load at a time; the idle ones share the core but take (almost) no CPU
for m in "${MROWS[@]}"; do measure "$m" "${MPORT[$m]}" "${MPID[$m]}" "${MSCHEME[$m]:-http}"; done
measure nginx "$NGINX_PORT" "$NGINX_PID"
measure haproxy "$HAPROXY_PORT" "$HAPROXY_PID"
if [ "$TLS" = 1 ]; then
  measure nginx-tls "$NGINX_TLS_PORT" "$NGINX_PID" https
  measure haproxy-tls "$HAPROXY_TLS_PORT" "$HAPROXY_PID" https
fi
# HTTP/2 over TLS with h2load: the same processes and ports as the -tls rows
measure_h2() { # name port pid
  local url="https://127.0.0.1:$2/" before after out reqs
  warm_up "$3" taskset -c "$OTHER_CORES" h2load -c "$CONNS" -m "$H2_STREAMS" -D "${WARM%s}" "$url"
  before=$(ticks "$3")
  out=$(taskset -c "$OTHER_CORES" h2load -c "$CONNS" -m "$H2_STREAMS" -D "${DUR%s}" "$url")
  after=$(ticks "$3")
  reqs=$(echo "$out" | awk '/^requests:/ {print $8}') # succeeded
  RPS[$1]=$(echo "$out" | awk '/^finished in/ {v = $4; gsub(/,/, "", v); print v}')
  P50[$1]=$(to_ms "$(echo "$out" | awk '/^time for request:/ {print $6}')") # mean
  P99[$1]=0
  local failed proto
  failed=$(echo "$out" | awk '/^requests:/ {print $10 + $12}') # failed + errored
  proto=$(echo "$out" | awk '/^Application protocol:/ {print $3}')
  CPU[$1]=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$reqs" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
  printf '%-16s %10s rps  mean %6.3f ms               cpu %6s us/req  (%s requests, protocol %s%s, %d warm-up rounds)\n' \
    "$1" "${RPS[$1]}" "${P50[$1]}" "${CPU[$1]}" "$reqs" "$proto" "$([ "${failed:-0}" -gt 0 ] && echo ", failed $failed")" \
    "$WARMED"
  [ "$proto" = h2 ] || { echo "bench/proxy: $1 did not negotiate h2" >&2; exit 1; }
}
H2ROWS=()
if [ "$H2" = 1 ]; then
  echo "h2load -c$CONNS -m$H2_STREAMS -D ${DUR%s} (after rounds of ${WARM%s} s warm-up until the JIT is quiet), ALPN h2"
  for m in "${MROWS[@]}"; do
    [ "${MSCHEME[$m]:-http}" = https ] || continue
    h="${m%-tls}-h2"
    measure_h2 "$h" "${MPORT[$m]}" "${MPID[$m]}"; H2ROWS+=("$h")
  done
  measure_h2 nginx-h2 "$NGINX_TLS_PORT" "$NGINX_PID"
  measure_h2 haproxy-h2 "$HAPROXY_TLS_PORT" "$HAPROXY_PID"
fi
# memory as the operator sees it, after the runs: resident now (VmRSS) and at its peak (VmHWM); nginx and haproxy
# per process (nginx: its master and worker)
rss() {
  local p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/status" ] && awk -v p="$p" '/^VmRSS|^VmHWM/ {s = s sprintf("%s %d MB  ", $1, $2 / 1024)}
      END {printf "[%s] %s", p, s}' "/proc/$p/status"
  done
}
for m in "${MROWS[@]}"; do echo "RSS $m: $(rss "${MPID[$m]}")"; done
echo "RSS nginx: $(rss "$NGINX_PID")"
echo "RSS haproxy: $(rss "$HAPROXY_PID")"
for m in "${MROWS[@]}"; do
  peers="nginx haproxy"
  [ "${MSCHEME[$m]:-http}" = https ] && peers="nginx-tls haproxy-tls"
  for peer in $peers; do
    awk -v mr="${RPS[$m]}" -v pr="${RPS[$peer]}" -v mc="${CPU[$m]}" -v pc="${CPU[$peer]}" \
        -v m99="${P99[$m]}" -v p99="${P99[$peer]}" -v peer="$peer" -v m="$m" 'BEGIN {
      printf "%s/%-11s rps %.2fx  cpu/req %.2fx  rps per cpu-second %.2fx  p99 %+.3f ms\n", m, peer, mr / pr, mc / pc, pc / mc, m99 - p99 }'
  done
done
for m in "${H2ROWS[@]}"; do
  for peer in nginx-h2 haproxy-h2; do
    awk -v mr="${RPS[$m]}" -v pr="${RPS[$peer]}" -v mc="${CPU[$m]}" -v pc="${CPU[$peer]}" \
        -v ml="${P50[$m]}" -v pl="${P50[$peer]}" -v peer="$peer" -v m="$m" 'BEGIN {
      printf "%s/%-11s rps %.2fx  cpu/req %.2fx  rps per cpu-second %.2fx  mean latency %+.3f ms\n", m, peer, mr / pr, mc / pc, pc / mc, ml - pl }'
  done
done
