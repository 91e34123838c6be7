#!/usr/bin/env bash
# Controller takeover: two `meridian run --roles controller` processes on one etcd; the leader is killed with
# SIGKILL N times (restarted each time as a follower) and each takeover is timed from the kill until the survivor's
# GET /v1/regions says it leads, and until it applied a first command (its first plan after the takeover).
# Prints each takeover, the median and the worst. Starts its own etcd (Debian's etcd-server) on free loopback ports.
#   bench/etcd/takeover.sh [KILLS=10] [LEASE_TTL=5s]
set -euo pipefail
cd "$(dirname "$0")/../.."
kills="${1:-10}"
ttl="${2:-5s}"
mvn -q -B -ntp -pl launcher -am test-compile -DskipTests | grep -E "ERROR|BUILD" && exit 1 || true
mvn -q -B -ntp -pl launcher dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
cp="launcher/target/test-classes:launcher/target/classes"
for m in config core etcd health-checker failover-controller geodns l7-proxy; do cp="$cp:$m/target/classes"; done
cp="$cp:$(cat launcher/target/bench-cp.txt)"
work="$(mktemp -d)"
. bench/etcd/etcd-lib.sh
start_etcd "$work"
token=demo-admin-token
# the demo's config with state in etcd; each controller gets its own admin port and state directory (the other
# placeholders are ports of roles these processes do not run: any distinct free ports)
sha=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
declare -A port pid
for n in a b; do port[$n]=$(free_port); done
for n in a b; do
  others=()
  for p in dns dns_ops proxy proxy_ops checker_ops app_us_east app_eu_west app_eu_north app_ap_south; do
    others+=(-e "s/{{$p}}/$(free_port)/g")
  done
  sed -e "s/{{admin}}/${port[$n]}/" -e "s/{{demo_token_sha256}}/$sha/" -e 's/residency_group: [a-z]*/residency_group: global/' \
    "${others[@]}" \
    -e "s#^  type: embedded#  type: etcd\n  etcd:\n    endpoints: [http://127.0.0.1:$ETCD_PORT]\n    prefix: /takeover/\n    lease_ttl: $ttl\n    timeout: 2s#" \
    -e "s#^  path: state#  path: $work/state-$n#" \
    launcher/src/main/resources/demo/meridian-demo.yaml >"$work/$n.yaml"
done
start() { java -Xmx256m -XX:+UseSerialGC -cp "$cp" io.meridian.launcher.Main run --config "$work/$1.yaml" --roles controller \
  >>"$work/$1.log" 2>&1 & pid[$1]=$!; }
now_ms() { date +%s%3N; }
status() { curl -s --max-time 3 -H "Authorization: Bearer $token" "http://127.0.0.1:${port[$1]}/v1/regions" || true; }
leads() { status "$1" | grep -q '"leads" : true'; }
trap 'kill ${pid[a]:-} ${pid[b]:-} 2>/dev/null || true; kill $ETCD_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
start a; start b
for _ in $(seq 600); do leads a || leads b && break; sleep 0.1; done
echo "etcd on 127.0.0.1:$ETCD_PORT; lease_ttl $ttl; $(nproc) cores; $kills leader kills"
times=(); cmd_times=()
for i in $(seq "$kills"); do
  if leads a; then leader=a; other=b; else leader=b; other=a; fi
  # the survivor must be up and following before the kill (it was restarted after the previous round)
  for _ in $(seq 600); do status "$other" | grep -q '"role" : "follower"' && break; sleep 0.1; done
  t0=$(now_ms)
  kill -9 "${pid[$leader]}"; wait "${pid[$leader]}" 2>/dev/null || true
  until leads "$other"; do sleep 0.05; done
  t1=$(now_ms)
  action=$([ $((i % 2)) = 1 ] && echo freeze || echo unfreeze)
  until curl -s --max-time 3 -X POST -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"reason\":\"takeover $i\"}" "http://127.0.0.1:${port[$other]}/v1/$action" | grep -q '"applied" : true'; do
    sleep 0.05
  done
  t2=$(now_ms)
  printf "kill %2d: %s -> %s leads after %5d ms, first command applied after %5d ms\n" "$i" "$leader" "$other" \
    $((t1 - t0)) $((t2 - t0))
  times+=($((t1 - t0))); cmd_times+=($((t2 - t0)))
  start "$leader"
done
stats() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "median %d ms, worst %d ms\n", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[NR]}'; }
echo "takeover (kill -> survivor leads): $(stats "${times[@]}")"
echo "takeover (kill -> first command applied): $(stats "${cmd_times[@]}")"
