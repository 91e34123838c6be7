#!/usr/bin/env bash
# Where Meridian's proxy spends CPU and allocates under the run.sh load: the proxy pinned to one core with JFR
# (settings=profile) and GC logging, wrk on the other core, then the hottest frames (execution samples, top
# frame and top frame of io.meridian) and the allocation sites (sampled weight by allocating frame) printed.
#
#   flock /tmp/meridian-bench.lock bench/proxy/profile.sh [duration=10s] [connections=64] [engine=h1|vertx]
#   NOJFR=1 ...: no recording; CPU ticks per JVM thread during the load instead (JAVA_OPTS: extra JVM flags)
set -euo pipefail
DUR=${1:-10s}
CONNS=${2:-64}
ENGINE=${3:-h1}
WARM=${WARM:-10s}
PROXY_CORE=${PROXY_CORE:-0}
OTHER_CORES=${OTHER_CORES:-1}
BACKEND_PORT=${BACKEND_PORT:-18191}
MERIDIAN_PORT=${MERIDIAN_PORT:-18190}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/proxy/lib.sh"
bench_work prof
start_backend "$BACKEND_PORT" "$OTHER_CORES"
cat > "$WORK/meridian.yaml" <<CONF
regions:
  - id: local
    latitude: 50.1
    longitude: 8.7
    capacity_rps: 10000000
    upstreams: [http://127.0.0.1:$BACKEND_PORT]
    health_check: {url: 'http://127.0.0.1:$BACKEND_PORT/'}
proxy:
  listen: 127.0.0.1:$MERIDIAN_PORT
  ops_listen: 127.0.0.1:0
CONF
(cd "$ROOT" && mvn -q -pl l7-proxy -am -Denforcer.skip=true test-compile dependency:build-classpath \
  -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test) >/dev/null
cp -r "$ROOT/l7-proxy/target/classes" "$WORK/classes" && cp -r "$ROOT/l7-proxy/target/test-classes" "$WORK/test-classes"
taskset -c "$PROXY_CORE" java -XX:ActiveProcessorCount=1 -XX:+UseParallelGC -Xms256m -Xmx256m \
  -Xlog:gc:file="$WORK/gc.log" ${JAVA_OPTS:-} -Dmeridian.proxy.engine="$ENGINE" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$WORK/classes:$WORK/test-classes:$(cat "$WORK/cp.txt")" io.meridian.proxy.BenchProxyMain "$WORK/meridian.yaml" 1 \
  > "$WORK/meridian.log" 2>&1 & PIDS+=($!)
PID=$!
for _ in $(seq 1 60); do grep -q READY "$WORK/meridian.log" && break; sleep 0.5; done
taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$WARM" "http://127.0.0.1:$MERIDIAN_PORT/" > /dev/null
GC0=$(grep -c "Pause Young" "$WORK/gc.log" || true)
# CPU ticks per thread of the proxy's JVM, to see which threads besides the event loop take the core
threads() { for t in /proc/"$PID"/task/*; do echo "$(cat "$t/comm")|$(awk '{print $14 + $15}' "$t/stat")"; done | sort; }
threads > "$WORK/threads0"
LOG0=$(wc -l < "$WORK/meridian.log")
if [ "${NOJFR:-0}" = 1 ]; then
  taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$MERIDIAN_PORT/" | grep -E "Requests/sec|requests in| 50%| 75%| 90%| 99%"
  threads > "$WORK/threads1"
  echo "CPU ticks per thread during the load (threads with any):"
  paste -d'|' "$WORK/threads0" "$WORK/threads1" | awk -F'|' '{ d = $4 - $2; if (d > 0) print "  " d "  " $1 }' | sort -rn
  echo "GC pauses during the load: $(( $(grep -c "Pause" "$WORK/gc.log" || true) - GC0 ))"
  echo "proxy output during the load (e.g. JAVA_OPTS=-XX:+PrintCompilation):"
  tail -n +$((LOG0 + 1)) "$WORK/meridian.log" | head -150
  exit 0
fi
# the profile settings, with Java execution samples every 1 ms instead of 10 (a short run needs them)
sed "s|method-sampling-java-interval\">10 ms|method-sampling-java-interval\">1 ms|" \
  "$(dirname "$(readlink -f "$(which java)")")/../lib/jfr/profile.jfc" > "$WORK/prof.jfc"
jcmd "$PID" JFR.start name=p settings="$WORK/prof.jfc" filename="$WORK/p.jfr" > /dev/null
taskset -c "$OTHER_CORES" wrk -t1 -c"$CONNS" -d"$DUR" --latency "http://127.0.0.1:$MERIDIAN_PORT/" | grep -E "Requests/sec|requests in| 50%| 99%"
jcmd "$PID" JFR.stop name=p > /dev/null
GC1=$(grep -c "Pause Young" "$WORK/gc.log" || true)
echo "young GCs during the load: $((GC1 - GC0)); last pauses:"; grep "Pause Young" "$WORK/gc.log" | tail -3
jfr print --json --events jdk.ExecutionSample "$WORK/p.jfr" > "$WORK/cpu.json"
jfr print --json --events jdk.ObjectAllocationSample "$WORK/p.jfr" > "$WORK/alloc.json"
python3 - "$WORK/cpu.json" "$WORK/alloc.json" <<'PY'
import json, sys, collections
def frames(e):
    st = e['values'].get('stackTrace') or {}
    out = []
    for f in st.get('frames') or []:
        m = f.get('method') or {}
        t = (m.get('type') or {}).get('name') or '?'
        out.append(t.replace('/', '.') + '.' + str(m.get('name')))
    return out
cpu = json.load(open(sys.argv[1]))['recording']['events']
top = collections.Counter(); ours = collections.Counter(); incl = collections.Counter()
for e in cpu:
    fr = frames(e)
    if not fr: continue
    top[fr[0]] += 1
    o = next((f for f in fr if f.startswith('io.meridian')), None)
    if o: ours[o] += 1
    for f in set(fr):
        if f.startswith('io.meridian') or f.startswith('io.netty.channel.epoll'): incl[f] += 1
n = len(cpu)
print(f"\n{n} execution samples; top frames:")
for k, v in top.most_common(25): print(f"  {100*v/n:5.1f}%  {k}")
print("inclusive (ours, epoll):")
for k, v in incl.most_common(25): print(f"  {100*v/n:5.1f}%  {k}")
al = json.load(open(sys.argv[2]))['recording']['events']
w = collections.Counter(); tot = 0
for e in al:
    fr = frames(e)
    wt = e['values']['weight']; tot += wt
    cls = ((e['values'].get('objectClass') or {}).get('name') or '?').replace('/', '.')
    site = next((f for f in fr if f.startswith('io.meridian')), fr[0] if fr else '?')
    w[(cls, fr[0] if fr else '?', site)] += wt
print(f"\nallocation samples, total weight {tot/1e6:.0f} MB:")
for (cls, f0, site), v in w.most_common(25): print(f"  {100*v/tot:5.1f}%  {cls}  at {f0}  (ours: {site})")
PY
