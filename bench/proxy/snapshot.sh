#!/usr/bin/env bash
# Builds l7-proxy and copies its classes and test class path to a new directory, printed on stdout, for
# `SNAPSHOT=dir bench/proxy/run.sh`: the benchmark then measures this build even if it waits for the bench lock
# while the tree changes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d /tmp/meridian-proxy-snapshot.XXXXXX)
(cd "$ROOT" && mvn -q -pl l7-proxy -am -Denforcer.skip=true test-compile dependency:build-classpath \
  -Dmdep.outputFile="$OUT/cp.txt" -Dmdep.includeScope=test) >&2
cp -r "$ROOT/l7-proxy/target/classes" "$ROOT/l7-proxy/target/test-classes" "$OUT/"
echo "$OUT"
