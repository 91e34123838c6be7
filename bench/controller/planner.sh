#!/usr/bin/env bash
# Planner benchmark: plan computation for 10,000 client zones x 50 regions (goal <= 100 ms).
# Usage: bench/controller/planner.sh [zones] [regions] [warm-runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -pl failover-controller -am -Denforcer.skip=true test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test >/dev/null
CP="failover-controller/target/classes:failover-controller/target/test-classes:$(cat failover-controller/target/bench-classpath.txt)"
exec java -Xms512m -Xmx1g -cp "$CP" io.meridian.controller.PlannerBenchmark "$@"
