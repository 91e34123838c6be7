#!/usr/bin/env bash
# Did etcd mode cost the data planes anything? Builds the launcher jar of BEFORE (a git ref, default: the commit
# before the etcd work) and of the working tree, then measures both the way users start them:
#   proxy: bench/proxy/run.sh with both builds in the same run (`meridian run --roles proxy`; BEFORE as it was,
#          AFTER with state_store.type: etcd against a local etcd, watching the plan) beside nginx and haproxy;
#   dns:   bench/dns/run.sh once per build, alternating, RUNS times each (`meridian run --roles dns`; AFTER in
#          etcd mode), each run beside gdnsd: compare the Meridian/gdnsd ratios (same-run peer).
#   bench/etcd/dataplane-ab.sh [BEFORE=d992eb7] [RUNS=3]      (ONLY=dns or ONLY=proxy runs one of the two)
set -euo pipefail
export JDKS=${JDKS:-17} # one Meridian row per run: the ratios below are paired per run
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
. "$ROOT/bench/etcd/etcd-lib.sh"
# etcd beside the load drivers, never on the core the server under test is pinned to (the benches' default: 0)
ETCD_CPU=${ETCD_CPU:-1} start_etcd "$work"
port=$ETCD_PORT
etcd_yaml="state_store:
  type: etcd
  path: $work/state
  etcd: {endpoints: [http://127.0.0.1:$port], prefix: /ab/}"

if [[ "${ONLY:-}" != dns ]]; then
echo "== proxy: before ($BEFORE) as row 'meridian', after (etcd mode) as row 'mer-vertx'"
for i in $(seq "$RUNS"); do
  MERIDIAN_RUN_ARGS= MERIDIAN_JAR="$work/before.jar" MERIDIAN_B_JAR="$work/after.jar" MERIDIAN_B_CONFIG_APPEND="$etcd_yaml" \
    "$ROOT/bench/proxy/run.sh" 10s 64 | grep -E "rps|x "
done
fi
[[ "${ONLY:-}" == proxy ]] && exit 0
echo "== dns: Meridian/gdnsd per build, alternating"
for i in $(seq "$RUNS"); do
  echo "-- before ($BEFORE), run $i"
  MERIDIAN_RUN_ARGS= MERIDIAN_JAR="$work/before.jar" "$ROOT/bench/dns/run.sh" | grep "Meridian/gdnsd"
  echo "-- after (etcd mode), run $i"
  MERIDIAN_JAR="$work/after.jar" MERIDIAN_CONFIG_APPEND="$etcd_yaml" "$ROOT/bench/dns/run.sh" | grep "Meridian/gdnsd"
done
