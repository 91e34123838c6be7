#!/usr/bin/env bash
# Health-checker benchmark: death -> FAILED detection time with the default health_check settings (refused and
# hanging region, TRIALS trials each, dying at a random phase of the probe interval), and the latency of a
# healthy HTTP probe on loopback. Runs in-process against real HTTP servers; takes about TRIALS x 4 s.
#   usage: bench/health-checker/detection.sh [TRIALS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
TRIALS="${1:-10}"
mvn -q -pl health-checker test -Dtest=DetectionTimeBench -Dmeridian.bench=true -Dmeridian.bench.trials="$TRIALS" \
  -Dsurefire.failIfNoSpecifiedTests=false
grep -h '^BENCH' health-checker/target/surefire-reports/io.meridian.checker.DetectionTimeBench-output.txt
