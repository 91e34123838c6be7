# Sourced by the benchmarks that start Meridian once per JDK (bench/dns/run.sh, bench/proxy/run.sh).
#
# jdk_home FEATURE: prints the home of an installed JDK of that feature release (17, 25, ...): the one of the `java`
# on PATH first, then /usr/lib/jvm/*; returns 1 when there is none.
jdk_home() {
  local want="$1" d v
  for d in "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /usr/lib/jvm/*; do
    [[ -x "$d/bin/java" && -f "$d/release" ]] || continue
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release")
    if [[ "$v" == "$want" ]]; then echo "$d"; return 0; fi
  done
  return 1
}

# bench_jdks: the JDKs to measure Meridian on, as "FEATURE:HOME" words: JDKS (default "17 25"), skipping with a
# message on stderr each one that is not installed.
bench_jdks() {
  local f h
  for f in ${JDKS:-17 25}; do
    if h=$(jdk_home "$f"); then echo "$f:$h"; else echo "bench: no Java $f installed here; skipping it" >&2; fi
  done
}

# meridian_jar WORKDIR: a launcher jar to measure, copied into WORKDIR so that a build in this checkout meanwhile
# cannot pull it away: MERIDIAN_JAR if set, else this checkout's, built now (mvn package, tests skipped).
meridian_jar() {
  local root work="$1"
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [[ -z "${MERIDIAN_JAR:-}" ]]; then
    (cd "$root" && mvn -q -B -DskipTests -Denforcer.skip=true package) >&2
    cp "$root/launcher/target/meridian.jar" "$work/meridian.jar"
  else
    cp "$MERIDIAN_JAR" "$work/meridian.jar"
  fi
  echo "$work/meridian.jar"
}

# CPU ticks of the JIT compiler threads of process PID (0 for one without a JIT: gdnsd, nginx, haproxy); the
# benchmarks warm a JVM until these stop growing
jit_ticks() {
  local total=0 t
  for t in /proc/"$1"/task/*; do
    case "$(cat "$t/comm" 2>/dev/null)" in
      C1\ CompilerThre*|C2\ CompilerThre*) total=$((total + $(awk '{print $14 + $15}' "$t/stat"))) ;;
    esac
  done
  echo "$total"
}
