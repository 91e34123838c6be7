#!/usr/bin/env bash
# Plan propagation over etcd: from the controller's publish call until every one of N watching processes applied
# the plan (the same EtcdControlBus code the DNS and proxy processes run), for a 10,000-zone x 50-region plan and
# a small one. Starts its own etcd (Debian's etcd-server) on a free loopback port; stops it at the end.
#   bench/etcd/propagation.sh [WATCHERS=10] [PLANS=50]
set -euo pipefail
cd "$(dirname "$0")/../.."
watchers="${1:-10}"
plans="${2:-50}"
mvn -q -B -ntp -pl etcd -am test-compile -DskipTests | grep -E "ERROR|BUILD" && exit 1 || true
mvn -q -B -ntp -pl etcd dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test >/dev/null
cp="etcd/target/test-classes:etcd/target/classes:core/target/classes:config/target/classes:$(cat etcd/target/bench-cp.txt)"
work="$(mktemp -d)"
. bench/etcd/etcd-lib.sh
start_etcd "$work"
port=$ETCD_PORT
echo "etcd $(etcd --version | head -1 | awk '{print $3}') on 127.0.0.1:$port; $(nproc) cores; java $(java -version 2>&1 | head -1)"
run() { java -Xmx1g -cp "$cp" io.meridian.etcd.bench.PropagationBench "http://127.0.0.1:$port" "$watchers" "$1" "$2" "$plans"; }
run 10000 50
run 0 3
# etcd fsyncs its WAL before it acknowledges a write: that disk latency is part of every plan's propagation
curl -s "http://127.0.0.1:$port/metrics" | awk '/^etcd_disk_wal_fsync_duration_seconds_(sum|count)/ {v[$1]=$2}
  END {if (v["etcd_disk_wal_fsync_duration_seconds_count"] > 0) printf "etcd WAL fsync: mean %.1f ms over %d fsyncs\n",
  1000*v["etcd_disk_wal_fsync_duration_seconds_sum"]/v["etcd_disk_wal_fsync_duration_seconds_count"],
  v["etcd_disk_wal_fsync_duration_seconds_count"]}'
