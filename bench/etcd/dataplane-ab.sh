#!/usr/bin/env bash
# Did etcd mode cost the data planes anything? Builds the launcher jar of BEFORE (a git ref, default: the commit
# before the etcd work) and of the working tree, then measures both the way users start them:
#   proxy: bench/proxy/run.sh with both builds in the same run (`meridian run --roles proxy`; BEFORE as it was,
#          AFTER with state_store.type: etcd against a local etcd, watching the plan) beside nginx and haproxy;
#   dns:   bench/dns/run.sh once per build, alternating, RUNS times each (`meridian run --roles dns`; AFTER in
#          etcd mode), each run beside gdnsd: compare the Meridian/gdnsd ratios (same-run peer).
#   bench/etcd/dataplane-ab.sh [BEFORE=d992eb7] [RUNS=3]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=${1:-d992eb7}
RUNS=${2:-3}
work=$(mktemp -d /tmp/meridian-ab.XXXXXX)
echo "== building $BEFORE and the working tree"
git -C "$ROOT" worktree add -f "$work/before" "$BEFORE" >/dev/null 2>&1
(cd "$work/before" && mvn -q -B -ntp -DskipTests package >/dev/null)
(cd "$ROOT" && mvn -q -B -ntp -DskipTests package >/dev/null)
cp "$work/before/launcher/target/meridian.jar" "$work/before.jar"
cp "$ROOT/launcher/target/meridian.jar" "$work/after.jar"
git -C "$ROOT" worktree remove --force "$work/before"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
peer=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
etcd --name ab --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$port" \
  --advertise-client-urls "http://127.0.0.1:$port" --listen-peer-urls "http://127.0.0.1:$peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "ab=http://127.0.0.1:$peer" \
  >"$work/etcd.log" 2>&1 &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
etcd_yaml="state_store:
  type: etcd
  path: $work/state
  etcd: {endpoints: [http://127.0.0.1:$port], prefix: /ab/}"

echo "== proxy: before ($BEFORE) as row 'meridian', after (etcd mode) as row 'mer-vertx'"
for i in $(seq "$RUNS"); do
  MERIDIAN_JAR="$work/before.jar" MERIDIAN_B_JAR="$work/after.jar" MERIDIAN_B_CONFIG_APPEND="$etcd_yaml" \
    "$ROOT/bench/proxy/run.sh" 10s 64 | grep -E "rps|x "
done
echo "== dns: Meridian/gdnsd per build, alternating"
for i in $(seq "$RUNS"); do
  echo "-- before ($BEFORE), run $i"
  MERIDIAN_JAR="$work/before.jar" "$ROOT/bench/dns/run.sh" | grep "Meridian/gdnsd"
  echo "-- after (etcd mode), run $i"
  MERIDIAN_JAR="$work/after.jar" MERIDIAN_CONFIG_APPEND="$etcd_yaml" "$ROOT/bench/dns/run.sh" | grep "Meridian/gdnsd"
done
