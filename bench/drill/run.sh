#!/usr/bin/env bash
# The multi-process failover drill (io.meridian.launcher.Drill): three regions with a real HTTP app each, 2 DNS, a
# proxy per region, 3 checkers, 2 controllers, one etcd (Debian's etcd-server) — every role its own
# `./meridian run` process, started as users start it (the script's JVM flags per role) — under a constant load
# through the proxies and ECS queries against both DNS servers. Phases: (a) kill -9 one region's app, (b) restart
# it (failback ramp), (c) kill -9 the leading controller, (d) stop etcd for 30 s, (e) partition one checker from
# one region, (f) with --netns only: loss and jitter on every checker's probe paths for N minutes. Prints the report
# (every figure next to its goal); exits 0 when every goal was met, 1 when one was missed, 2 when it cannot run.
#
#   bench/drill/run.sh [--netns] [--impair-minutes N] [--out FILE] [--rps R] [--capacity C]
#
#   --netns             each checker in its own network namespace (bench/drill/netlab.sh, root): (e) drops its
#                       probe packets to one region; (f) runs. Without it everything is on loopback and (e) cuts a
#                       forwarder on one checker's probe path.
#   --impair-minutes N  how long (f) runs (default 10)
#   --out FILE          also write the report as JSON
#   --rps R, --capacity C   client load (default 150 rps) and each region's capacity_rps (default 125: the load is
#                       40 % of the total capacity; more saturates a 2-core machine running the drill's 14 JVMs)
# Loads run on loopback (and in the namespaces the script creates) and stop by themselves; the process logs, the
# configs and every request and DNS query (CSV) stay in the work directory it prints.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
command="bench/drill/run.sh${*:+ $*}"
args=()
netns=0
out=""
while (($#)); do
  case "$1" in
    --netns) netns=1 ;;
    --impair-minutes) args+=(--impair-minutes "$2"); shift ;;
    --out) out="$2"; shift ;;
    --rps) args+=(--rps "$2"); shift ;;
    --capacity) args+=(--capacity "$2"); shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/drill/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((netns)); then
  if [[ ! -x bench/drill/netlab.sh ]]; then
    echo "bench/drill/run.sh: --netns needs bench/drill/netlab.sh (network namespaces with loss, jitter and" \
      "partitions), which this checkout does not have; run without --netns for the loopback drill" >&2
    exit 2
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench/drill/run.sh: --netns creates network namespaces: run it as root" >&2
    exit 2
  fi
  args+=(--netns "$root/bench/drill/netlab.sh")
fi
command -v etcd >/dev/null || [[ -x /usr/bin/etcd ]] || {
  echo "bench/drill/run.sh: etcd not found: apt-get install etcd-server" >&2; exit 2; }

echo "== building Meridian and the drill (launcher test classes)"
# -am: every module from this checkout, not from whatever ~/.m2 holds; launcher is the reactor's last module, so
# the class path file written last is its own
mvn -q -B -ntp -pl launcher -am test-compile dependency:build-classpath -Denforcer.skip=true \
  -Dmdep.outputFile="$root/launcher/target/drill.cp" -Dmdep.includeScope=test >/dev/null
cp="$root/launcher/target/test-classes:$root/launcher/target/classes"
for m in config core etcd health-checker failover-controller geodns l7-proxy; do
  cp="$cp:$root/$m/target/classes"
done
cp="$cp:$root/etcd/target/test-classes:$root/core/target/test-classes:$(cat "$root/launcher/target/drill.cp")"
work="$(mktemp -d /tmp/meridian-drill.XXXXXX)"
echo "== drill (work directory $work; $(nproc) cores; $(java -version 2>&1 | head -1))"
set +e
java -Xms256m -Xmx1g -XX:+UseSerialGC -cp "$cp" io.meridian.launcher.Drill --work "$work" \
  --meridian "$root/meridian" --command "$command" ${out:+--out "$out"} "${args[@]}"
status=$?
set -e
exit $status
