#!/usr/bin/env bash
# Does watching plans in etcd cost the DNS data plane anything? One launcher jar, `meridian run --roles dns` started
# two ways, alternating: with state_store.type: etcd (plans watched in a local etcd) and with --static-plan (no
# control plane at all). Each run is bench/dns/run.sh beside gdnsd on the same core; the Meridian/gdnsd ratio of
# QPS per server CPU-second is compared within each pair, and the median of the paired ratios printed.
#   bench/etcd/dns-etcd-vs-static.sh [PAIRS=5] [JAR=launcher/target/meridian.jar]     (MIXES=ecs|plain|"plain ecs")
set -euo pipefail
export JDKS=${JDKS:-17} # one Meridian row per run: the ratios below are paired per run
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PAIRS=${1:-5}
JAR=${2:-$ROOT/launcher/target/meridian.jar}
export MIXES=${MIXES:-ecs}
[[ -f "$JAR" ]] || { echo "no jar at $JAR: mvn -q -DskipTests package" >&2; exit 1; }
work=$(mktemp -d /tmp/meridian-dns-etcd.XXXXXX)
. "$ROOT/bench/etcd/etcd-lib.sh"
ETCD_CPU=${ETCD_CPU:-1} start_etcd "$work"
etcd_yaml="state_store:
  type: etcd
  path: $work/state
  etcd: {endpoints: [http://127.0.0.1:$ETCD_PORT], prefix: /dnsab/}"
ratio() { grep "Meridian/gdnsd" | sed -n 's/^\([a-z]*\) .*QPS per CPU-second \([0-9.]*\),.*/\1 \2/p'; }
results=()
for i in $(seq "$PAIRS"); do
  s=$(MERIDIAN_JAR="$JAR" MERIDIAN_RUN_ARGS=--static-plan "$ROOT/bench/dns/run.sh" 10 | ratio)
  e=$(MERIDIAN_JAR="$JAR" MERIDIAN_RUN_ARGS= MERIDIAN_CONFIG_APPEND="$etcd_yaml" "$ROOT/bench/dns/run.sh" 10 | ratio)
  while read -r mix sv; do
    ev=$(awk -v m="$mix" '$1 == m {print $2}' <<<"$e")
    echo "pair $i $mix: static $sv, etcd $ev, etcd/static $(awk -v a="$ev" -v b="$sv" 'BEGIN {printf "%.3f", a / b}')"
    results+=("$mix $(awk -v a="$ev" -v b="$sv" 'BEGIN {printf "%.4f", a / b}')")
  done <<<"$s"
done
for mix in $MIXES; do
  printf '%s\n' "${results[@]}" | awk -v m="$mix" '$1 == m {print $2}' | sort -g | awk -v m="$mix" \
    '{v[NR] = $1} END {med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      printf "%s: median paired etcd/static (Meridian/gdnsd QPS per CPU-s) %.3f over %d pairs, range %.3f-%.3f\n",
        m, med, NR, v[1], v[NR]}'
done
