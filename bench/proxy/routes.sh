#!/usr/bin/env bash
# Route match cost per request: 1 route against N routes (default 1,000), through the route index
# (ProxyEngine.Snapshot.route on an HTTP/1.1 head, what the proxy runs) and, for comparison, the linear scan it
# replaced. A microbenchmark of the match alone, single thread, no network: compare its ns with the proxy's
# whole CPU per request (bench/proxy/run.sh, ≈ 8 µs on the reference machine) to see a route count's share.
#
#   bench/proxy/routes.sh [routes=1000] [seconds per case=2]
#
# Needs: Java 17+, Maven (offline is fine once the project has been built).
set -euo pipefail
N=${1:-1000}
SECS=${2:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/meridian-routes.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && mvn -q -B -ntp -pl l7-proxy -am -Denforcer.skip=true test-compile dependency:build-classpath \
  -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test ${MVN_OPTS:-}) >/dev/null
java -Xms256m -Xmx256m -XX:+UseParallelGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$ROOT/l7-proxy/target/classes:$ROOT/l7-proxy/target/test-classes:$(cat "$WORK/cp.txt")" \
  io.meridian.proxy.impl.RouteMatchBench "$N" "$SECS"
