#!/usr/bin/env bash
# Meridian alone, UDP listener A/B/C: the native listener (blocking recvmmsg/sendmmsg threads through Java 17's
# foreign linker), Netty's epoll channel and the Vert.x DatagramSocket fallback (-Dmeridian.geodns.udp=native|epoll|
# vertx; LISTENERS picks which), interleaved ROUNDS times so all see the same machine. Same pinning and
# dnsperf arguments as run.sh (server on SERVER_CPU, dnsperf on CLIENT_CPU, -q 200), WARMUP s warm-up, DURATION s
# measured. Prints per mix: QPS, QPS per server CPU-second, and the server's user and kernel CPU seconds.
# Run bench/dns/run.sh once first: it builds the classes and writes the configs and query files used here.
#
# Usage: bench/dns/udp-ab.sh [ROUNDS=3] [DURATION=8]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS="${1:-3}"
DURATION="${2:-8}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
MPORT="${MERIDIAN_PORT:-18053}"
work="$here/geodns/target/bench-dns"
[[ -f "$work/meridian.yaml" ]] || { echo "bench/dns: run bench/dns/run.sh first ($work is missing)" >&2; exit 1; }
CP="$here/geodns/target/classes:$here/geodns/target/test-classes:$(cat "$here/geodns/target/bench.cp")"
hz=$(getconf CLK_TCK)
LISTENERS="${LISTENERS:-native epoll vertx}"
WARMUP="${WARMUP:-20}" # seconds per mix before measuring: the JIT's compile threads count as the server's CPU
foreign=""
java --list-modules 2>/dev/null | grep -q '^jdk.incubator.foreign@17' \
  && foreign="--add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED"

one() { # LABEL EXTRA_JAVA_OPTS
  if dig +time=1 +tries=1 @127.0.0.1 -p "$MPORT" www.example.test A >/dev/null 2>&1; then
    echo "bench/dns: something already answers on port $MPORT (a leftover server?); stop it first" >&2; exit 1
  fi
  taskset -c "$SERVER_CPU" java $foreign -XX:+UseParallelGC -Xms512m -Xmx512m -Dloops=1 $2 -cp "$CP" \
    io.meridian.geodns.bench.DnsBenchTool serve "$work/meridian.yaml" > "$work/ab-$1.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do
    [[ -n "$(dig +time=1 +tries=1 @127.0.0.1 -p "$MPORT" www.example.test A +short 2>/dev/null)" ]] && break
    sleep 0.2
  done
  for mix in plain ecs; do
    local input=(-d "$work/queries-plain.txt")
    [[ "$mix" == ecs ]] && input=(-B -d "$work/queries-ecs.bin")
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$MPORT" "${input[@]}" -l "$WARMUP" -q 200 >/dev/null 2>&1 || true
    local u0 s0 u1 s1 out
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$MPORT" "${input[@]}" -l "$DURATION" -q 200 2>&1)
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    awk -v l="$1" -v m="$mix" -v hz="$hz" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
      -v c="$(awk '/Queries completed:/ {print $3}' <<<"$out")" -v q="$(awk '/Queries per second:/ {print $4}' <<<"$out")" \
      'BEGIN { printf "%-6s %-6s QPS %8.0f  QPS/cpu_s %8.0f  user %5.2f s  kernel %5.2f s\n", l, m, q, c / ((u + s) / hz), u / hz, s / hz }'
  done
}

for _ in $(seq 1 "$ROUNDS"); do
  for l in $LISTENERS; do
    one "$l" "-Dmeridian.geodns.udp=$l"
  done
done
