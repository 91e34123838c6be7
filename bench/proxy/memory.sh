#!/usr/bin/env bash
# Memory and CPU of Meridian's TLS proxy as `./meridian run --roles proxy` starts it, under HTTP/1.1-over-TLS (wrk)
# and h2 (h2load) load, for one or two sets of JVM flags in the same run: the numbers behind docs/CONFIG.md
# § Sizing the JVM and docs/PERFORMANCE.md § Memory.
#
#   bench/proxy/memory.sh [rounds=3]
#   B_OPTS='-XX:+UseSerialGC -Xms64m -Xmx64m ...' bench/proxy/memory.sh      # the launcher's flags (A) against B
#   A_OPTS=... B_OPTS=... JDK=25 bench/proxy/memory.sh                        # two explicit sets, on Java 25
#
# A runs with the launcher's own flags unless A_OPTS is set (MERIDIAN_JAVA_OPTS for that process); B only when
# B_OPTS is set. Both listen with TLS on loopback, pinned to core 0 and loaded one at a time from core 1, in front
# of one nginx backend. Each is warmed (rounds of 5 s of each load until its JIT compiler threads used under 3 % of
# its CPU), then ROUNDS times, alternating A and B: 8 s of `wrk -c64` over TLS and 8 s of `h2load -c64 -m8`. Prints
# per process the CPU per request of each load (median), the GC count, and VmRSS / VmHWM after each round and at
# the end. MERIDIAN_JAR measures that jar (default: this checkout's, built now).
#
# Needs: wrk, h2load (nghttp2-client), nginx, openssl, Java 17 or JDK (bench/install-peers.sh). Loopback only.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib/jdks.sh"
JH=$(jdk_home "${JDK:-17}") || { echo "bench/proxy/memory.sh: no Java ${JDK:-17} installed" >&2; exit 1; }
BACKEND_PORT=${BACKEND_PORT:-18381}
. "$ROOT/bench/proxy/lib.sh"
bench_work memory
JAR=$(meridian_jar "$WORK")

start_backend "$BACKEND_PORT" 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MB  ", $1, $2 / 1024}' "/proc/$1/status"; }
declare -A PID PORT
NAMES=(A)
[ -n "${B_OPTS:-}" ] && NAMES+=(B)
port=18385
for n in "${NAMES[@]}"; do
  PORT[$n]=$port
  cat > "$WORK/$n.yaml" <<CONF
regions:
  - id: local
    latitude: 50.1
    longitude: 8.7
    capacity_rps: 10000000
    upstreams: [http://127.0.0.1:$BACKEND_PORT]
    health_check: {url: 'http://127.0.0.1:$BACKEND_PORT/'}
proxy:
  listen: 127.0.0.1:$port
  ops_listen: 127.0.0.1:0
  tls: {cert_file: '$WORK/cert.pem', key_file: '$WORK/key.pem'}
state_store:
  path: $WORK/$n-state
CONF
  opts_var="${n}_OPTS"
  PATH="$JH/bin:$PATH" MERIDIAN_JAR="$JAR" MERIDIAN_JAVA_OPTS="${!opts_var:-}" \
    JDK_JAVA_OPTIONS="-Xlog:gc:file=$WORK/$n-gc.log" \
    taskset -c 0 "$ROOT/meridian" run --config "$WORK/$n.yaml" --roles proxy --static-plan > "$WORK/$n.log" 2>&1 &
  PIDS+=($!); PID[$n]=$!
  for _ in $(seq 1 60); do curl -kfsS -o /dev/null "https://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.5; done
  curl -kfsS -o /dev/null "https://127.0.0.1:$port/" || { cat "$WORK/$n.log"; exit 1; }
  echo "$n: flags $(tr '\0' ' ' < "/proc/${PID[$n]}/cmdline" | grep -o -- ' -X[^ ]*\| -D[^ ]*' | tr -d '\n')"
  port=$((port + 10))
done

# load KIND PORT SECONDS: prints the requests completed
load() {
  case "$1" in
    tls) taskset -c 1 wrk -t1 -c64 -d"$3"s "https://127.0.0.1:$2/" | awk '/requests in/ {print $1}' ;;
    h2) taskset -c 1 h2load -c 64 -m 8 -D "$3" "https://127.0.0.1:$2/" | awk '/^requests:/ {print $8}' ;;
  esac
}
for n in "${NAMES[@]}"; do
  for kind in tls h2; do
    for r in $(seq 1 24); do
      j0=$(jit_ticks "${PID[$n]}"); t0=$(ticks "${PID[$n]}")
      load "$kind" "${PORT[$n]}" 5 > /dev/null
      j1=$(jit_ticks "${PID[$n]}"); t1=$(ticks "${PID[$n]}")
      [ $((100 * (j1 - j0))) -lt $((3 * (t1 - t0 + 1))) ] && break
    done
    echo "$n: $kind warmed in $r rounds of 5 s"
  done
done
TICK_NS=$((1000000000 / $(getconf CLK_TCK)))
declare -A CPU
for r in $(seq 1 "$ROUNDS"); do
  for n in "${NAMES[@]}"; do
    for kind in tls h2; do
      t0=$(ticks "${PID[$n]}"); c=$(load "$kind" "${PORT[$n]}" 8); t1=$(ticks "${PID[$n]}")
      CPU[$n-$kind]+=" $(( (t1 - t0) * TICK_NS / 1000 / (c > 0 ? c : 1) ))"
    done
    echo "round $r $n: $(rss "${PID[$n]}")"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "proxy CPU per request in µs (rounds, median), after $ROUNDS rounds of 8 s TLS + 8 s h2 on Java ${JDK:-17}:"
for n in "${NAMES[@]}"; do
  echo "$n: TLS${CPU[$n-tls]} (median $(echo "${CPU[$n-tls]}" | median))  h2${CPU[$n-h2]}" \
    "(median $(echo "${CPU[$n-h2]}" | median))  GC: $(grep -c 'Pause Young' "$WORK/$n-gc.log") young," \
    "$(grep -c 'Pause Full' "$WORK/$n-gc.log") full  RSS $(rss "${PID[$n]}")"
done
