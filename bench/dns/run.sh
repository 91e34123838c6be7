#!/usr/bin/env bash
# GeoDNS benchmark: dnsperf against Meridian — on each JDK in JDKS (default "17 25", those installed), started as
# users start it: `./meridian run --roles dns`, with the launcher's own JVM flags — and against gdnsd (geoip plugin)
# in one run, on the same synthetic City MMDB (core's SyntheticGeoDb), the same three regions, the same name. Each
# server is pinned to the same single core (SERVER_CPU) and measured alone (the others are SIGSTOPped), dnsperf on
# the other (CLIENT_CPU). Two mixes: plain queries (from 127.0.0.1, which the database does not locate: both
# servers answer it with their first region, gdnsd by its datacenter order, Meridian by `dns.unlocated: {region:
# us-east}`) and ECS queries from ~1,000 client /24s across every continent.
#
# Per server and mix it prints:
#   QPS and mean latency of a saturating run (dnsperf -q OUTSTANDING for DURATION s),
#   QPS per server CPU-second (utime+stime of the server process during that run: dnsperf's one core can
#   saturate before the server does, so raw QPS alone would flatter the slower server),
#   mean and p99 latency of a fixed-rate run (LAT_QPS queries/s, per-query latencies from dnsperf -v),
# each server's RSS after both mixes, and the Meridian/gdnsd ratios per JDK.
#
# Usage: bench/dns/run.sh [DURATION=10] [OUTSTANDING=200] [LAT_QPS=20000]
#   JDKS="17 25"          the JDKs to run Meridian on (feature releases; found as `java` on PATH or in /usr/lib/jvm)
#   MERIDIAN_JAR=jar      measure that launcher jar (default: this checkout, built now with mvn package)
#   MERIDIAN_RUN_ARGS     extra `run` arguments (default --static-plan, which a DNS-only process without etcd needs;
#                         set it empty for a config with a state_store, or for builds older than the etcd work)
#   MERIDIAN_CONFIG_APPEND YAML appended to Meridian's config first (e.g. a state_store block)
#   MERIDIAN_JAVA_OPTS    replaces ./meridian's memory flags (docs/CONFIG.md#sizing-the-jvm)
#   DNSSEC=1              also a signed copy per JDK (rows "meridian-N-signed": the zone signed with a fresh Ed25519
#                         CSK from `meridian dnssec keygen`), asked the plain mix with the DO bit (dnsperf -D), and
#                         the signed/unsigned ratio of QPS per CPU-second (the ECS mix is binary input: no DO bit)
# Needs: java 17, maven, dnsperf, gdnsd, taskset (util-linux) — bench/install-peers.sh. Work files: geodns/target/bench-dns/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${1:-10}"
OUTSTANDING="${2:-200}"
LAT_QPS="${3:-20000}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
WARMUP="${WARMUP:-20}"
MIXES="${MIXES:-plain ecs}" # e.g. MIXES=ecs for an A/B of the ECS path only
work="$here/geodns/target/bench-dns"
MPORT="${MERIDIAN_PORT:-18053}"
GPORT="${GDNSD_PORT:-18054}"

. "$here/bench/lib/jdks.sh"
for tool in dnsperf gdnsd taskset java mvn; do
  command -v "$tool" >/dev/null || { echo "bench/dns: $tool is required (apt-get install dnsperf gdnsd util-linux)" >&2; exit 1; }
done

echo "== building geodns and its bench tool"
# -am: core, config (and core's test tooling) come from this checkout, not from whatever ~/.m2 holds; geodns is
# the last module of the reactor, so the classpath file written last is its own
(cd "$here" && mvn -q -pl geodns -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$here/geodns/target/bench.cp" -Dmdep.includeScope=test -Denforcer.skip=true >/dev/null)
CP="$here/geodns/target/classes:$here/geodns/target/test-classes:$(cat "$here/geodns/target/bench.cp")"
rm -rf "$work"; mkdir -p "$work"
java -cp "$CP" io.meridian.geodns.bench.DnsBenchTool prepare "$work" "$MPORT" "$GPORT" 10000 1000

for port in "$MPORT" "$GPORT"; do
  if dig +time=1 +tries=1 @127.0.0.1 -p "$port" www.example.test A >/dev/null 2>&1; then
    echo "bench/dns: something already answers on port $port (a leftover server?); stop it first" >&2; exit 1
  fi
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

wait_ready() { # port
  for _ in $(seq 1 100); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$1" www.example.test A +short >/dev/null 2>&1 \
       && [[ -n "$(dig +time=1 +tries=1 @127.0.0.1 -p "$1" www.example.test A +short)" ]]; then return 0; fi
    sleep 0.2
  done
  echo "server on port $1 did not answer" >&2; return 1
}

# run_dnsperf NAME PID PORT MIX -> prints "qps mean_ms qps_per_cpu_s p50_ms p99_ms lat_mean_ms"
run_mix() {
  local name="$1" pid="$2" port="$3" mix="$4"
  local input=(-d "$work/queries-plain.txt")
  [[ "$mix" == ecs ]] && input=(-B -d "$work/queries-ecs.bin")
  [[ "$name" == *-signed ]] && input+=(-D) # DNSSEC OK: answers carry their RRSIGs
  # warm-up, not measured: WARMUP s per server and mix (the JVM's JIT compiles for ≈ 15 s at this rate, and its
  # compiler threads count as the server's CPU — 0.47 µs user per query in the first 5 s, 0.19 µs from 15 s on)
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" "${input[@]}" -l "$WARMUP" -q "$OUTSTANDING" >/dev/null 2>&1 || true
  # then 5-s rounds until the JIT compiler threads used under 3 % of the server's CPU in one (at most 12; gdnsd
  # has no JIT): on a loaded machine the compiler gets less of the shared core and takes longer than WARMUP
  local r j0 c0 j1 c1
  for r in $(seq 1 12); do
    j0=$(jit_ticks "$pid"); c0=$(cpu_ticks "$pid")
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" "${input[@]}" -l 5 -q "$OUTSTANDING" >/dev/null 2>&1 || true
    j1=$(jit_ticks "$pid"); c1=$(cpu_ticks "$pid")
    (( 100 * (j1 - j0) < 3 * (c1 - c0 + 1) )) && break
  done
  local t0 t1 out
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" "${input[@]}" -l "$DURATION" -q "$OUTSTANDING" 2>&1)
  t1=$(cpu_ticks "$pid")
  echo "$out" > "$work/dnsperf-$name-$mix.txt"
  local qps mean completed lost
  qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  mean=$(awk '/Average Latency/ {print $4 * 1000}' <<<"$out")
  completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  local cpu_s per_cpu
  cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
  per_cpu=$(awk -v c="$completed" -v s="$cpu_s" 'BEGIN {printf "%.0f", (s > 0 ? c / s : 0)}')
  # latency at a fixed, sub-saturating rate: per-query latencies from dnsperf -v
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" "${input[@]}" -l 5 -Q "$LAT_QPS" -q "$OUTSTANDING" -v \
    2>/dev/null | awk '$1 == ">" {print $NF}' | sort -g > "$work/lat-$name-$mix.txt" || true
  local n p50 p99 lmean
  n=$(wc -l < "$work/lat-$name-$mix.txt")
  if (( n > 0 )); then
    p50=$(awk -v n="$n" 'NR == int(n * 0.50) + 1 {printf "%.3f", $1 * 1000; exit}' "$work/lat-$name-$mix.txt")
    p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1 {printf "%.3f", $1 * 1000; exit}' "$work/lat-$name-$mix.txt")
    lmean=$(awk '{s += $1} END {printf "%.3f", s / NR * 1000}' "$work/lat-$name-$mix.txt")
  else
    p50=nan; p99=nan; lmean=nan
  fi
  echo "$qps $mean $per_cpu $cpu_s $lost $lmean $p50 $p99"
}

jar=$(meridian_jar "$work")
[[ -n "${MERIDIAN_CONFIG_APPEND:-}" ]] && printf '%s\n' "$MERIDIAN_CONFIG_APPEND" >> "$work/meridian.yaml"
mapfile -t jdks < <(bench_jdks)
((${#jdks[@]})) || { echo "bench/dns: none of the JDKs ${JDKS:-17 25} is installed" >&2; exit 1; }
servers=() # row name per Meridian server, in order
declare -A PID PORT
variants=(unsigned)
if [[ "${DNSSEC:-0}" == 1 ]]; then
  variants+=(signed)
  key=$(MERIDIAN_JAR="$jar" "$here/meridian" dnssec keygen -a ed25519 -K "$work" example.test | head -1)
  key="${key##* }"; key="${key%.key}"; key="${key%.private}"
  [[ -f "$key.key" ]] || { echo "bench/dns: dnssec keygen gave no key ($key)" >&2; exit 1; }
  awk -v k="$key" '{print} /^    - origin: example.test.$/ {print "      dnssec: {keys: [" k "]}"}' \
    "$work/meridian.yaml" > "$work/meridian-signed.yaml"
fi
for entry in "${jdks[@]}"; do
 for variant in "${variants[@]}"; do
  feature="${entry%%:*}"; home="${entry#*:}"; name="meridian-$feature"
  src="$work/meridian.yaml"
  [[ "$variant" == signed ]] && { name="$name-signed"; src="$work/meridian-signed.yaml"; }
  port=$((MPORT + ${#servers[@]} * 10))
  sed "s/127\.0\.0\.1:$MPORT\b/127.0.0.1:$port/g" "$src" > "$work/$name.yaml"
  echo "== starting Meridian GeoDNS on Java $feature ($home) on cpu $SERVER_CPU (port $port)"
  # as users start it: ./meridian picks the JVM flags for the JDK it finds on PATH (native UDP listener, memory)
  PATH="$home/bin:$PATH" MERIDIAN_JAR="$jar" taskset -c "$SERVER_CPU" "$here/meridian" run \
    --config "$work/$name.yaml" --roles dns ${MERIDIAN_RUN_ARGS---static-plan} > "$work/$name.log" 2>&1 &
  PID[$name]=$!; PORT[$name]=$port; pids+=("$!"); servers+=("$name")
  wait_ready "$port"
  grep -m1 -E "UDP on|udp listener" "$work/$name.log" | sed 's/^.*\] //; s/^/   /' || true
  if grep -q "WARNING" "$work/$name.log"; then echo "   warnings on stderr:"; grep "WARNING" "$work/$name.log" | sed 's/^/   /'; fi
  kill -STOP "${PID[$name]}" # idle until measured
 done
done

echo "== starting gdnsd on cpu $SERVER_CPU (port $GPORT)"
gdnsd -c "$work/gdnsd" checkconf > "$work/gdnsd-checkconf.log" 2>&1 || { cat "$work/gdnsd-checkconf.log"; exit 1; }
taskset -c "$SERVER_CPU" gdnsd -c "$work/gdnsd" start > "$work/gdnsd.log" 2>&1 &
gpid=$!; pids+=("$gpid")
wait_ready "$GPORT"

# sanity: the same ECS client, and the plain mix's unlocated 127.0.0.1, get the same answer from both
check() { dig +short @127.0.0.1 -p "$1" www.example.test A +subnet="$2" | sort | paste -sd,; }
plain() { dig +short @127.0.0.1 -p "$1" www.example.test A | sort | paste -sd,; }
first_eu=$(awk -F, '$2 == "EU" {print $1; exit}' "$work/ecs-subnets.csv")
for name in "${servers[@]}"; do
  kill -CONT "${PID[$name]}"
  echo "   EU client $first_eu -> $name $(check "${PORT[$name]}" "$first_eu"), gdnsd $(check "$GPORT" "$first_eu")"
  m=$(plain "${PORT[$name]}"); g=$(plain "$GPORT")
  echo "   plain (127.0.0.1) -> $name $m, gdnsd $g"
  [[ "$m" == "$g" ]] || { echo "bench/dns: $name and gdnsd answer the plain mix differently: not comparable" >&2; exit 1; }
  kill -STOP "${PID[$name]}"
done

declare -A R
kill -STOP "$gpid"
for mix in $MIXES; do
  # the servers share one core: one at a time, the others stopped
  for name in "${servers[@]}"; do
    [[ "$name" == *-signed && "$mix" != plain ]] && continue
    kill -CONT "${PID[$name]}"; R[$name-$mix]=$(run_mix "$name" "${PID[$name]}" "${PORT[$name]}" "$mix"); kill -STOP "${PID[$name]}"
  done
  kill -CONT "$gpid"; R[gdnsd-$mix]=$(run_mix gdnsd "$gpid" "$GPORT" "$mix"); kill -STOP "$gpid"
done
for name in "${servers[@]}"; do kill -CONT "${PID[$name]}"; done
kill -CONT "$gpid"

# memory as the operator sees it, after both mixes: resident now (VmRSS) and at its peak (VmHWM)
rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MB  ", $1, $2 / 1024}' "/proc/$1/status"; }
echo
for name in "${servers[@]}"; do printf '%-12s RSS: %s\n' "$name" "$(rss "${PID[$name]}")"; done
printf '%-12s RSS: %s\n' gdnsd "$(rss "$gpid")"

printf '\n%-12s %-6s %10s %9s %12s %8s %7s | %9s %9s %9s\n' server mix QPS mean_ms QPS/cpu_s cpu_s lost \
  lat_mean lat_p50 lat_p99
for mix in $MIXES; do
  for s in "${servers[@]}" gdnsd; do
    [[ -n "${R[$s-$mix]:-}" ]] || continue
    read -r qps mean per cpu lost lmean p50 p99 <<<"${R[$s-$mix]}"
    printf '%-12s %-6s %10.0f %9.3f %12s %8s %7s | %9s %9s %9s\n' "$s" "$mix" "$qps" "$mean" "$per" "$cpu" "$lost" \
      "$lmean" "$p50" "$p99"
  done
done
echo
for mix in $MIXES; do
  read -r gq _ gp _ _ _ _ g99 <<<"${R[gdnsd-$mix]}"
  for name in "${servers[@]}"; do
    [[ "$name" == *-signed ]] && continue
    read -r mq _ mp _ _ _ _ m99 <<<"${R[$name-$mix]}"
    awk -v mix="$mix" -v jdk="${name#meridian-}" -v mq="$mq" -v gq="$gq" -v mp="$mp" -v gp="$gp" -v m99="$m99" -v g99="$g99" 'BEGIN {
      printf "%-6s Meridian/gdnsd (Java %s): QPS %.2f, QPS per CPU-second %.2f, p99 latency at fixed rate %s ms vs %s ms\n",
        mix, jdk, mq / gq, mp / gp, m99, g99 }'
  done
done
for name in "${servers[@]}"; do
  [[ "$name" == *-signed ]] || continue
  read -r sq _ sp _ _ _ _ s99 <<<"${R[$name-plain]}"
  read -r uq _ up _ _ _ _ u99 <<<"${R[${name%-signed}-plain]}"
  awk -v jdk="${name#meridian-}" -v sq="$sq" -v uq="$uq" -v sp="$sp" -v up="$up" -v s99="$s99" -v u99="$u99" 'BEGIN {
    sub(/-signed$/, "", jdk)
    printf "plain  signed (DO) / unsigned (Java %s): QPS %.2f, QPS per CPU-second %.2f, p99 at fixed rate %s ms vs %s ms\n",
      jdk, sq / uq, sp / up, s99, u99 }'
done
echo
echo "(saturating runs: dnsperf -l $DURATION -q $OUTSTANDING; latency runs: -Q $LAT_QPS for 5 s; server cpu $SERVER_CPU, dnsperf cpu $CLIENT_CPU; raw output in $work)"
