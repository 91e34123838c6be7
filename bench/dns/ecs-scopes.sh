#!/usr/bin/env bash
# ECS scopes of Meridian and gdnsd on the same database, and what they cost a real ECS resolver (issue 17 point 4).
#
# The database (core's SyntheticGeoDb.clusteredNetworks, seed 1) is GeoLite-shaped: every address of 10.0.0.0/8 is
# located, in aligned networks of /16 to /24 whose neighbours often share a city, a country or a continent without
# being one network. Both servers get the same six regions on three continents (nearest region wins: gdnsd's
# geoip plugin with auto_dc_coords, Meridian's default ranking), Meridian started as users start it
# (./meridian run --roles dns --static-plan). The clients are CLIENTS (default 1,024) neighbouring /24s from
# 10.64.0.0 (10.64.0.0/14 for 1,024), by default every address of them located, so `dns.unlocated` plays no part
# (Meridian's is set to `{region: us-east}`, like gdnsd's default datacenter order, for HOLES below). The addresses
# only travel inside ECS options: every packet goes to 127.0.0.1.
#
#  (a) each client /24 asks each server once, directly: scope distribution per server, per-client comparison
#      (same answer? Meridian's scope wider, equal or narrower than gdnsd's?);
#  (b) per server, a fresh Unbound from Debian (its own config and port, empty cache, module-config "subnetcache
#      iterator", the test zone as a stub zone on the server's port, ECS forwarded to it) gets the same CLIENTS
#      queries with ECS, one at a time; counted: queries that reached the authoritative server (its own counter:
#      Meridian's meridian_geodns_queries_total, gdnsd's udp+tcp requests) and the client queries Unbound answered
#      from its subnet cache (num.query.subnet_cache; its total.num.cachemiss counts every ECS query, so it is not
#      used). Fewer authoritative queries = wider useful scopes.
#
# A few thousand queries in all, no load. Usage: bench/dns/ecs-scopes.sh [CLIENTS=1024]
#   HOLES=0            share of the database's allocations left unlocated (e.g. 0.2): then some clients are
#                      unlocated, answered us-east by both servers (Meridian's dns.unlocated {region: us-east},
#                      gdnsd's datacenter order), and the comparison includes how each merges unlocated space
#   MERIDIAN_JAR=jar   measure that launcher jar (default: this checkout's, built now with mvn package)
#   PORT_BASE=18150    Meridian DNS +0, Meridian ops +1, gdnsd +2, Unbound +3 (all on 127.0.0.1)
# Needs: java 17, maven, gdnsd, unbound (apt-get install gdnsd unbound; the script runs its own unbound, never the
# system service), curl. Work files: geodns/target/bench-ecs-scopes/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLIENTS="${1:-1024}"
(( CLIENTS >= 1 && CLIENTS <= 16384 )) || { echo "bench/dns/ecs-scopes: CLIENTS must be 1..16384" >&2; exit 2; }
work="$here/geodns/target/bench-ecs-scopes"
base="${PORT_BASE:-18150}"
MPORT=$base; OPSPORT=$((base + 1)); GPORT=$((base + 2)); UPORT=$((base + 3))

for tool in java mvn gdnsd gdnsdctl unbound unbound-control curl; do
  command -v "$tool" >/dev/null || { echo "bench/dns/ecs-scopes: $tool is required (apt-get install gdnsd unbound curl)" >&2; exit 1; }
done
for port in "$MPORT" "$OPSPORT" "$GPORT" "$UPORT"; do
  if [[ -n "$(ss -Hlntu "sport = :$port" 2>/dev/null)" ]]; then
    echo "bench/dns/ecs-scopes: port $port is in use (a leftover server?); stop it or set PORT_BASE" >&2; exit 1
  fi
done

echo "== building geodns and its bench tool"
(cd "$here" && mvn -q -pl geodns -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$here/geodns/target/bench.cp" -Dmdep.includeScope=test -Denforcer.skip=true >/dev/null)
CP="$here/geodns/target/classes:$here/geodns/target/test-classes:$(cat "$here/geodns/target/bench.cp")"
rm -rf "$work"; mkdir -p "$work"
java -cp "$CP" io.meridian.geodns.bench.EcsScopeBench prepare "$work" "$MPORT" "$OPSPORT" "$GPORT" "$CLIENTS" \
  "${HOLES:-0}"
. "$here/bench/lib/jdks.sh"
jar=$(meridian_jar "$work")

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { # port name: answers an ECS query (the path measured here, not only plain ones)
  for _ in $(seq 1 150); do
    [[ -n "$(dig +time=2 +tries=1 @127.0.0.1 -p "$1" www.example.test A +subnet=10.0.0.0/24 +short 2>/dev/null)" ]] \
      && return 0
    sleep 0.2
  done
  echo "bench/dns/ecs-scopes: $2 did not answer on port $1 (log in $work)" >&2; return 1
}

echo "== starting Meridian GeoDNS (port $MPORT) and gdnsd (port $GPORT)"
MERIDIAN_JAR="$jar" "$here/meridian" run --config "$work/meridian.yaml" --roles dns --static-plan \
  > "$work/meridian.log" 2>&1 &
pids+=("$!")
gdnsd -c "$work/gdnsd" checkconf > "$work/gdnsd-checkconf.log" 2>&1 || { cat "$work/gdnsd-checkconf.log"; exit 1; }
gdnsd -c "$work/gdnsd" start > "$work/gdnsd.log" 2>&1 &
pids+=("$!")
wait_ready "$MPORT" Meridian
wait_ready "$GPORT" gdnsd
# the merged scope table is built per plan on a worker, off the query path: let it finish before asking
sleep 3

# authoritative queries answered so far, by each server's own counter
served() { # meridian|gdnsd
  if [[ "$1" == meridian ]]; then
    curl -sf "http://127.0.0.1:$OPSPORT/metrics" | awk '/^meridian_geodns_queries_total[{ ]/ {s += $NF} END {printf "%d\n", s}'
  else
    gdnsdctl -c "$work/gdnsd" stats | tr -d ' \t\n' | grep -o '"\(udp\|tcp\)":{"reqs":[0-9]*' \
      | awk -F: '{s += $NF} END {printf "%d\n", s}'
  fi
}

ask() { java -Dslf4j.internal.verbosity=ERROR -cp "$CP" io.meridian.geodns.bench.EcsScopeBench ask "$1" "$work/clients.txt" "$2"; }

echo
echo "== (a) $CLIENTS client /24s asked directly, one ECS query each: scope prefix -> clients"
declare -A PORT=([meridian]=$MPORT [gdnsd]=$GPORT)
for s in meridian gdnsd; do
  printf '%-9s %s\n' "$s" "$(ask "${PORT[$s]}" "$work/direct-$s.txt")"
done
# per client: same answer? which scope is wider? (a smaller prefix length is a wider scope)
paste -d' ' "$work/direct-meridian.txt" "$work/direct-gdnsd.txt" | awk '
  $1 != $5 { print "client lists differ" > "/dev/stderr"; exit 1 }
  { if ($3 != $7) diff++; if ($2 < $6) wider++; else if ($2 > $6) narrower++; else same++
    if ($2 > $6 && shown++ < 5) ex = ex sprintf("   %s: Meridian /%s, gdnsd /%s\n", $1, $2, $6) }
  END { printf "answers differ for %d clients; Meridian scope wider than gdnsd for %d, equal %d, narrower %d\n%s",
        diff, wider, same, narrower, ex }'
awk '{print $3}' "$work/direct-meridian.txt" | sort | uniq -c | sort -rn \
  | awk '{printf "%s%s %s", (NR > 1 ? ", " : "   answers: "), $2, $1} END {print ""}'
# each scope must hold one answer: every asked client inside a client's /scope got the same answer (only checks
# what was asked: the full brute force over 10/8 is EcsScopeBruteForceTest's)
for s in meridian gdnsd; do
  awk -v s="$s" '
    function ip(a,  p) { split(a, p, "[./]"); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
    { a[NR] = ip($1); scope[NR] = $2; ans[NR] = $3 }
    END {
      for (i = 1; i <= NR; i++) {
        if (scope[i] < 0) continue
        size = 2 ^ (32 - scope[i]); lo = a[i] - a[i] % size
        for (j = 1; j <= NR; j++) if (a[j] >= lo && a[j] < lo + size && ans[j] != ans[i] && scope[j] >= 0) { bad++; break }
      }
      printf "   %s: %d clients whose scope holds an asked client with another answer\n", s, bad
    }' "$work/direct-$s.txt"
done
# the scopes explained from the database alone: one nearest region (the answer) or the same first three (gdnsd's
# datacenter list, auto_dc_limit 3)
java -Dslf4j.internal.verbosity=ERROR -cp "$CP" io.meridian.geodns.bench.EcsScopeBench model "$work"

echo
echo "== (b) the same $CLIENTS queries through a fresh Unbound $(unbound -V | awk 'NR == 1 {print $2}') (subnetcache), per server"
unbound_conf() { # server-port dir
  cat <<EOF
server:
  interface: 127.0.0.1
  port: $UPORT
  do-ip6: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "$2"
  pidfile: "$2/unbound.pid"
  logfile: "$2/unbound.log"
  use-syslog: no
  verbosity: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  outgoing-interface: 127.0.0.1
  qname-minimisation: no
  # Unbound serves test. itself (RFC 6761 special-use local zone): hand it to the stub zone below
  local-zone: "test." nodefault
  # a server slowed by a busy machine must not look lost: retransmissions would count as authoritative queries
  infra-cache-min-rtt: 1000
  extended-statistics: yes
  statistics-cumulative: yes
  # ECS (unbound.conf(5), EDNS Client Subnet Module Options): the subnet cache, no validator (no trust anchor);
  # the clients' own ECS options are forwarded to the authority listed here, cut to at most /24
  module-config: "subnetcache iterator"
  send-client-subnet: 127.0.0.1
  client-subnet-zone: example.test
  max-client-subnet-ipv4: 24
  # room for every scope of the run in the ECS tree of www.example.test/A (default 100): counts then show the
  # scopes, not the tree's evictions
  max-ecs-tree-size-ipv4: 20000
stub-zone:
  name: "example.test"
  stub-addr: 127.0.0.1@$1
remote-control:
  control-enable: yes
  control-interface: "$2/unbound.ctl"
  control-use-cert: no
EOF
}
declare -A AUTH SUBCACHE
for s in meridian gdnsd; do
  d="$work/unbound-$s"; mkdir -p "$d"
  unbound_conf "${PORT[$s]}" "$d" > "$d/unbound.conf"
  unbound-checkconf "$d/unbound.conf" >/dev/null
  unbound -d -c "$d/unbound.conf" > "$d/stdout.log" 2>&1 &
  upid=$!; pids+=("$upid")
  for _ in $(seq 1 50); do unbound-control -c "$d/unbound.conf" status >/dev/null 2>&1 && break; sleep 0.2; done
  before=$(served "$s")
  printf '%-9s via Unbound: %s\n' "$s" "$(ask "$UPORT" "$d/answers.txt")"
  after=$(served "$s")
  unbound-control -c "$d/unbound.conf" stats_noreset > "$d/stats.txt"
  kill "$upid"; wait "$upid" 2>/dev/null || true
  AUTH[$s]=$((after - before))
  SUBCACHE[$s]=$(awk -F= '$1 == "num.query.subnet_cache" {print $2}' "$d/stats.txt")
  # the resolver must give each client what the server gives it directly
  bad=$(paste -d' ' "$d/answers.txt" "$work/direct-$s.txt" | awk '$3 != $7' | wc -l)
  printf '%-9s authoritative queries %s; Unbound: %s client queries, %s answered from its subnet cache; %s answers differ from direct\n' \
    "$s" "${AUTH[$s]}" "$(awk -F= '$1 == "total.num.queries" {print $2}' "$d/stats.txt")" "${SUBCACHE[$s]:-0}" "$bad"
done

echo
awk -v m="${AUTH[meridian]}" -v g="${AUTH[gdnsd]}" -v n="$CLIENTS" 'BEGIN {
  printf "authoritative queries for %d client /24s through an empty ECS cache: Meridian %d, gdnsd %d, Meridian/gdnsd %.2f\n",
    n, m, g, (g > 0 ? m / g : 0) }'
echo "(raw answers, scopes, Unbound configs, logs and stats in $work)"
