#!/usr/bin/env bash
# False alarms on a lossy probe path: a checker + controller (`meridian run --roles checker,controller`, the demo's
# three vantage points) runs inside a network namespace whose probe traffic to three healthy regions (python3
# http.server on 10.77.0.1) gets packet loss and jitter from bench/drill/netlab.sh (NFQUEUE; this kernel has no
# netem). Nothing is wrong with any region, so every failover is a false alarm. Prints the probes by result, the
# vantage points' transitions to failed and the controller's failovers.
#   sudo bench/health-checker/lossy-path.sh [SECONDS=300] [LOSS_PCT=5] [DELAY_MS=200] [JITTER_MS=200] [JAR]
# JAR (default launcher/target/meridian.jar, built when missing) lets you compare another build, e.g. an older one.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-300}"; loss="${2:-5}"; delay="${3:-200}"; jitter="${4:-200}"; jar="${5:-launcher/target/meridian.jar}"
[[ $EUID -eq 0 ]] || { echo "lossy-path.sh: needs root (network namespaces)" >&2; exit 2; }
[[ -f "$jar" ]] || mvn -q -B -ntp -DskipTests package
lab=bench/drill/netlab.sh
work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; "$lab" down >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"$lab" up 1 >/dev/null
ports=(18501 18502 18503)
for p in "${ports[@]}"; do
  mkdir -p "$work/s$p" && echo ok >"$work/s$p/healthz"
  (cd "$work/s$p" && exec python3 -m http.server --bind 10.77.0.1 "$p" >/dev/null 2>&1) & pids+=($!)
done
# the demo's layout: us-east, eu-west, eu-north + ap-south (sharing the third app), probed at 10.77.0.1
sed -e 's/{{app_us_east}}/18501/g' -e 's/{{app_eu_west}}/18502/g' -e 's/{{app_eu_north}}/18503/g' \
  -e 's/{{app_ap_south}}/18503/g' -e 's#http://127.0.0.1:1850#http://10.77.0.1:1850#g' \
  -e 's/{{dns}}/18553/; s/{{dns_ops}}/18554/; s/{{proxy}}/18580/; s/{{proxy_ops}}/18581/' \
  -e 's/{{checker_ops}}/18590/; s/{{admin}}/18591/' -e "s/{{demo_token_sha256}}/$(printf 0%.0s {1..64})/" \
  -e "s#path: state#path: $work/state#" launcher/src/main/resources/demo/meridian-demo.yaml >"$work/m.yaml"
"$lab" exec 1 java -Xmx128m -XX:+UseSerialGC -jar "$jar" run --config "$work/m.yaml" --roles checker,controller \
  >"$work/run.log" 2>&1 & pids+=($!)
metrics() { "$lab" exec 1 curl -s --max-time 3 http://127.0.0.1:18590/metrics || true; }
for _ in $(seq 120); do metrics | grep -q 'region_health{.*state="healthy".*} 1.0' && break; sleep 0.5; done
sleep 5
before_failed=$(metrics | awk '/^meridian_checker_region_transitions_total\{.*to="failed"/ {s+=$2} END {print s+0}')
log_before=$(wc -l <"$work/run.log")
"$lab" impair 1 --ports 18501,18502,18503 --loss "$loss" --delay "$delay" --jitter "$jitter" --for "$secs" | tail -1
sleep "$secs"
m="$(metrics)"
echo "== $secs s with ${loss}% loss, ${delay} ± ${jitter} ms per packet and direction on every probe path ($jar)"
"$lab" stats 1 | grep -E 'dropped|hold_ms' || true
echo "probes by result (3 vantage points × 4 regions, including the few seconds before the impairment):"
echo "$m" | awk -F'[{}]' '/^meridian_checker_probes_total/ {n=split($2,a,","); for(i=1;i<=n;i++) if (a[i] ~ /^result=/) r=a[i]; c[r]+=$3} END {for (k in c) if (c[k] > 0) printf "  %s %d\n", k, c[k]}'
after_failed=$(echo "$m" | awk '/^meridian_checker_region_transitions_total\{.*to="failed"/ {s+=$2} END {print s+0}')
echo "vantage-point transitions to failed (one vantage point's view; not a failover): $((after_failed - before_failed))"
# failovers during the impairment: the published plans' reasons (builds that do not log events say it there too)
during="$(tail -n +"$((log_before + 1))" "$work/run.log")"
echo "controller failovers during the impairment: $(echo "$during" | grep 'published plan v' \
  | grep -o 'quorum of vantage points reports [a-z0-9-]* failed' | wc -l) (plans published: $(echo "$during" \
  | grep -c 'published plan v' || true))"
