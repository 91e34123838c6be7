#!/usr/bin/env bash
# netlab — a network lab for the multi-process failover drill (issue #16): each health-checker process (a vantage
# point) runs in a network namespace of its own, so that its probe paths can be partitioned or impaired (loss,
# delay, jitter) one vantage point at a time, with real kernel-level packet loss and delay on real TCP.
#
# Layout (everything carries the mdrill prefix, so `down` finds it all):
#   host lo          10.77.0.1/32 (label lo:mdrill): servers that the checkers must reach bind here
#   mdrill-vp<i>     namespace i; veth mdv<i>h (host, 10.77.<i>.1/24) <-> mdv<i>n (namespace, 10.77.<i>.2/24),
#                    default route via 10.77.<i>.1. Packets from 10.77.<i>.2 to 10.77.0.1 are delivered locally
#                    on the host (a local address, weak host model): no forwarding, no NAT.
#   table inet mdrill (host)   partitions (drops at mdv<i>h ingress) and a forward-hook drop, so that nothing from
#                    a lab namespace is ever routed beyond this machine even where ip_forward is on
#   table inet mdrill (in ns)  the return half of a partition (drops at the namespace's prerouting)
#   ip mangle chains MDRILL-OUT / MDRILL-IN (in ns, iptables-nft)   the NFQUEUE rules of an impairment
#   netq (bench/drill/netq.c)  the queue program that drops and delays the queued packets
#   /run/mdrill/     pid, stats and log files of the queue programs
#
# Why NFQUEUE: this kernel is built without sch_netem (`tc qdisc add ... netem` says "Specified qdisc kind is
# unknown"). netq gives each queued packet netem's treatment (loss, then delay uniform in DELAY +- JITTER).
# Why iptables-nft for the queue rules: the kernel has no nft `queue` expression (CONFIG_NFT_QUEUE is not set:
# `nft ... queue num N` fails with "Could not process rule: No such file or directory"), but it has the xtables
# NFQUEUE target and NFT_COMPAT, which iptables-nft uses. Everything else is native nft.
#
# Must run as root. See bench/drill/README.md, or `netlab.sh --help`.
# shellcheck disable=SC2015 # `valid && in-range || usage_error`: usage_error exits, so it is an if-then-else
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_ADDR=10.77.0.1
NS_PREFIX=mdrill-vp
STATE=/run/mdrill
BUILD="${MDRILL_BUILD_DIR:-$here/.build}"
QUEUE_BASE=1000 # namespace i uses NFQUEUE queue QUEUE_BASE+i

usage() {
  cat <<'EOF'
usage: netlab.sh COMMAND ...   (as root)

  up N                  create (or repair) namespaces mdrill-vp1..N and 10.77.0.1 on the host's lo, remove lab
                        namespaces above N, heal 1..N; then check a TCP connection from each namespace to a
                        throwaway server on 10.77.0.1 and print one line per namespace. Idempotent.
  exec I CMD [ARG...]   run CMD inside mdrill-vpI, in place: the pid the caller started becomes CMD's pid
  impair I --ports P1[,P2...] [--loss PCT] [--delay MS] [--jitter MS] [--seed N] [--dir both|out|in] [--for S]
                        queue TCP to 10.77.0.1 on those destination ports (out) and TCP from 10.77.0.1 with those
                        source ports (in) through netq: drop with probability PCT/100, otherwise delay by DELAY +-
                        JITTER ms (uniform, clamped at 0), per packet and per direction, as
                        `tc netem delay DELAY JITTER loss PCT%` on both ends of the path. Replaces I's previous
                        impairment. Defaults: loss 0, delay 0, jitter 0, dir both, a random seed (printed).
                        --for S: netq exits after S seconds and the path is clear again (default: until heal).
  partition I PORT      silently drop TCP between mdrill-vpI and 10.77.0.1:PORT, both directions (no RST, no
                        ICMP). Adds to I's earlier partitions.
  heal I                remove I's partitions and impairment, stop its netq
  stats I               netq's counters for I (seen, dropped, delayed, hold-time percentiles) and partition counters
  down                  remove everything (ends processes still in lab namespaces); idempotent, safe in a trap
  selftest [--count N] [--partition-count M] [--seed S] [--force]
                        up 1, an HTTP server on 10.77.0.1, N sequential curls from the namespace: baseline,
                        impaired (loss 5, delay 100, jitter 100), partitioned (M curls), healed; then down.
                        Prints p50/p90/max and failures per phase. Refuses to run while a lab is up unless --force.

Exit codes: 0 done, 1 failed, 2 usage error or not root.
EOF
}

die() { echo "netlab: $*" >&2; exit 1; }
usage_error() { echo "netlab: $*" >&2; echo "try: netlab.sh --help" >&2; exit 2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

check_index() { # I: a vantage point number 1..254 (it is the third octet of the veth addresses)
  is_uint "$1" && (($1 >= 1 && $1 <= 254)) || usage_error "vantage point must be 1..254, got '$1'"
}

ns_name() { echo "$NS_PREFIX$1"; }
ns_exists() { [[ -e /run/netns/$(ns_name "$1") ]]; }
require_ns() { ns_exists "$1" || die "namespace $(ns_name "$1") does not exist (run: netlab.sh up N)"; }
in_ns() { local i=$1; shift; ip netns exec "$(ns_name "$i")" "$@"; }

# --- tools ---------------------------------------------------------------------------------------------------

apt_updated=0
need() { # need CMD_OR_FILE PACKAGE...: apt-get install the packages only when the command/file is missing
  local what=$1; shift
  if [[ $what == /* ]]; then [[ -e $what ]] && return 0; else command -v "$what" >/dev/null && return 0; fi
  command -v apt-get >/dev/null || die "$what is missing (install: $*)"
  echo "netlab: installing $* (for $what)" >&2
  export DEBIAN_FRONTEND=noninteractive
  ((apt_updated)) || { apt-get update -qq >&2; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$@" >&2
}

netq_bin() { # compiles netq.c when the binary is missing or older than the source; prints the binary's path
  local bin="$BUILD/netq"
  if [[ ! -x $bin || $here/netq.c -nt $bin ]]; then
    need gcc gcc
    need /usr/include/stdio.h libc6-dev
    need /usr/include/libnetfilter_queue/libnetfilter_queue.h libnetfilter-queue-dev
    mkdir -p "$BUILD"
    gcc -O2 -Wall -Wextra -o "$bin.tmp.$$" "$here/netq.c" -lnetfilter_queue -lnfnetlink >&2 ||
      die "compiling netq.c failed"
    mv -f "$bin.tmp.$$" "$bin" # atomic: a concurrent impair never runs a half-written binary
  fi
  echo "$bin"
}

# --- queue programs ------------------------------------------------------------------------------------------

netq_pid() { # prints the pid of I's netq if it runs
  local f="$STATE/vp$1.pid" pid
  [[ -r $f ]] || return 1
  pid=$(<"$f")
  is_uint "$pid" && alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == netq ]] && echo "$pid"
}

alive() { # a zombie (exited, not yet reaped by the shell that started it, e.g. selftest's) counts as gone
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

wait_gone() { # wait_gone PID SECONDS: true once the process is gone
  local n=$(($2 * 10))
  for ((k = 0; k < n; k++)); do alive "$1" || return 0; sleep 0.1; done
  ! alive "$1"
}

stop_netq() {
  local pid
  if pid=$(netq_pid "$1"); then
    kill -TERM "$pid" 2>/dev/null || true # netq accepts the packets it holds, writes its stats, exits
    wait_gone "$pid" 3 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 2 || true; }
  fi
  rm -f "$STATE/vp$1.pid"
}

# --- rules ---------------------------------------------------------------------------------------------------

ipt() { local i=$1; shift; in_ns "$i" iptables-nft -w -t mangle "$@"; }

clear_impair_rules() {
  command -v iptables-nft >/dev/null || return 0
  local base chain
  for pair in POSTROUTING:MDRILL-OUT PREROUTING:MDRILL-IN; do
    base=${pair%%:*} chain=${pair##*:}
    while ipt "$1" -C "$base" -j "$chain" 2>/dev/null; do ipt "$1" -D "$base" -j "$chain"; done
    ipt "$1" -F "$chain" 2>/dev/null || true
    ipt "$1" -X "$chain" 2>/dev/null || true
  done
}

host_table() { # the host's table: forward guard, and one partition chain per namespace (jumped to by iifname)
  local n=$1 i rules="" chains=""
  for ((i = 1; i <= n; i++)); do
    rules+="    iifname \"mdv${i}h\" jump vp$i"$'\n'
    chains+="  chain vp$i { }"$'\n'
  done
  nft list table inet mdrill >/dev/null 2>&1 && nft delete table inet mdrill
  nft -f - <<EOF
table inet mdrill {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "mdv*" counter drop comment "lab namespaces reach host-local addresses only"
    oifname "mdv*" counter drop
  }
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
$rules  }
$chains}
EOF
}

clear_partition() {
  if nft list chain inet mdrill "vp$1" >/dev/null 2>&1; then nft flush chain inet mdrill "vp$1"; fi
  if ns_exists "$1" && in_ns "$1" nft list table inet mdrill >/dev/null 2>&1; then
    in_ns "$1" nft delete table inet mdrill
  fi
}

heal_one() {
  stop_netq "$1"
  if ns_exists "$1"; then clear_impair_rules "$1"; fi
  clear_partition "$1"
}

# --- throwaway HTTP server on the lab address ------------------------------------------------------------------

srv_pid=""
start_server() { # start_server PORTFILE: an HTTP server on 10.77.0.1, two free ports, written to PORTFILE
  python3 -u -c '
import http.server, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass
servers = [http.server.ThreadingHTTPServer((sys.argv[1], 0), H) for _ in range(2)]
print(" ".join(str(s.server_address[1]) for s in servers), flush=True)
for s in servers[1:]: threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
' "$LAB_ADDR" >"$1" 2>/dev/null &
  srv_pid=$!
  for ((k = 0; k < 50; k++)); do [[ -s $1 ]] && return 0; sleep 0.1; done
  die "the throwaway HTTP server on $LAB_ADDR did not start"
}
stop_server() {
  [[ -n $srv_pid ]] || return 0
  kill "$srv_pid" 2>/dev/null || true
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
}

# --- commands ------------------------------------------------------------------------------------------------

kill_ns_processes() { # ends every process in a namespace: TERM, then KILL after 2 s
  local ns=$1 pids
  mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((k = 0; k < 20; k++)); do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    ((${#pids[@]})) || return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 0.2
}

cmd_up() {
  (($# == 1)) || usage_error "up takes N"
  is_uint "$1" && (($1 >= 1 && $1 <= 254)) || usage_error "N must be 1..254, got '$1'"
  local n=$1 i ns
  need ip iproute2
  need nft nftables
  need python3 python3
  need curl curl
  mkdir -p "$STATE"

  # leftovers: namespaces above N (and the processes in them), queue programs and rules of 1..N
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NS_PREFIX}[0-9]+$" || true); do
    i=${ns#"$NS_PREFIX"}
    if ((i > n)); then
      heal_one "$i"
      kill_ns_processes "$ns"
      ip netns del "$ns"
    fi
  done
  for ((i = 1; i <= n; i++)); do heal_one "$i"; done
  for f in "$STATE"/vp*.pid; do # queue programs of namespaces that are gone
    [[ -e $f ]] || continue
    i=${f##*/vp}; i=${i%.pid}
    if ((i > n)); then stop_netq "$i"; fi
  done
  rm -f "$STATE"/vp*.stats "$STATE"/vp*.log # a fresh lab: no counters or logs of an earlier run
  # host-side veths whose namespace is gone (or above N)
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mdv[0-9]+h$' || true); do
    i=${link#mdv}; i=${i%h}
    if ((i > n)) || ! ns_exists "$i"; then ip link del "$link" 2>/dev/null || true; fi
  done

  ip -4 addr show dev lo | grep -q " $LAB_ADDR/32 " || ip addr add "$LAB_ADDR/32" dev lo label lo:mdrill
  for ((i = 1; i <= n; i++)); do
    ns=$(ns_name "$i")
    ns_exists "$i" || ip netns add "$ns"
    # the pair must exist on both sides; a half (host side without its peer in the namespace) is rebuilt
    if ! ip link show "mdv${i}h" >/dev/null 2>&1 || ! ip -n "$ns" link show "mdv${i}n" >/dev/null 2>&1; then
      ip link del "mdv${i}h" 2>/dev/null || true
      ip -n "$ns" link del "mdv${i}n" 2>/dev/null || true
      ip link add "mdv${i}h" type veth peer name "mdv${i}n" netns "$ns"
    fi
    ip addr replace "10.77.$i.1/24" dev "mdv${i}h"
    ip link set "mdv${i}h" up
    ip -n "$ns" addr replace "10.77.$i.2/24" dev "mdv${i}n"
    ip -n "$ns" link set "mdv${i}n" up
    ip -n "$ns" link set lo up
    ip -n "$ns" route replace default via "10.77.$i.1" dev "mdv${i}n"
  done
  host_table "$n"

  # check: the host delivers 10.77.0.1 locally for packets from each namespace (this lookup also applies
  # rp_filter, which passes because each namespace's subnet is reached back through its own veth), and a real
  # TCP connection from each namespace gets an HTTP answer. In a subshell: its EXIT trap ends the server.
  echo "netlab up: $n namespace(s); $LAB_ADDR on lo; ip_forward=$(sysctl -n net.ipv4.ip_forward) (not needed)," \
    "rp_filter all=$(sysctl -n net.ipv4.conf.all.rp_filter) default=$(sysctl -n net.ipv4.conf.default.rp_filter)"
  (
    work=$(mktemp -d /tmp/mdrill-up.XXXXXX)
    trap 'stop_server; rm -rf "$work"' EXIT
    start_server "$work/ports"
    port=$(awk '{print $1}' "$work/ports")
    failed=0
    for ((i = 1; i <= n; i++)); do
      route=$(ip route get "$LAB_ADDR" from "10.77.$i.2" iif "mdv${i}h" 2>&1 | head -1 || true)
      [[ $route == local* ]] || { echo "$(ns_name "$i"): host does not deliver $LAB_ADDR locally: $route"; failed=1; }
      out=$(in_ns "$i" curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}' "http://$LAB_ADDR:$port/" || true)
      if [[ $out == 200\ * ]]; then
        printf '%s: mdv%sn 10.77.%s.2/24 via 10.77.%s.1 -> %s:%s TCP ok, HTTP 200 in %.1f ms\n' \
          "$(ns_name "$i")" "$i" "$i" "$i" "$LAB_ADDR" "$port" "$(awk -v t="${out#* }" 'BEGIN{print t*1000}')"
      else
        echo "$(ns_name "$i"): TCP to $LAB_ADDR:$port FAILED (curl: ${out:-no output})"
        failed=1
      fi
    done
    ((failed == 0)) || die "up: some namespaces cannot reach $LAB_ADDR"
  )
}

cmd_exec() {
  (($# >= 2)) || usage_error "exec takes I CMD [ARG...]"
  check_index "$1"
  require_ns "$1"
  local ns; ns=$(ns_name "$1"); shift
  # bash's exec replaces this script by `ip`, and `ip netns exec` (outside batch mode) enters the namespace and
  # execs CMD in place, without forking: the caller's child pid is CMD's pid, and killing it kills CMD
  exec ip netns exec "$ns" "$@"
}

cmd_impair() {
  (($# >= 1)) || usage_error "impair takes I --ports P1,P2,... [--loss PCT] [--delay MS] [--jitter MS]"
  check_index "$1"
  local i=$1; shift
  local loss=0 delay=0 jitter=0 ports="" seed="" dir=both duration=0
  while (($#)); do
    (($# >= 2)) || usage_error "impair: $1 needs a value"
    case $1 in
      --loss) loss=$2 ;;
      --delay) delay=$2 ;;
      --jitter) jitter=$2 ;;
      --ports) ports=$2 ;;
      --seed) seed=$2 ;;
      --dir) dir=$2 ;;
      --for) duration=$2 ;;
      *) usage_error "impair: unknown option $1" ;;
    esac
    shift 2
  done
  is_num "$loss" && awk -v l="$loss" 'BEGIN{exit !(l <= 100)}' || usage_error "impair: --loss must be 0..100, got '$loss'"
  is_num "$delay" || usage_error "impair: --delay must be a number of ms, got '$delay'"
  is_num "$jitter" || usage_error "impair: --jitter must be a number of ms, got '$jitter'"
  [[ -z $seed ]] || is_uint "$seed" || usage_error "impair: --seed must be an integer"
  is_uint "$duration" || usage_error "impair: --for must be a number of seconds"
  [[ $dir == both || $dir == out || $dir == in ]] || usage_error "impair: --dir must be both, out or in"
  [[ $ports =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "impair: --ports must be P1[,P2...], got '$ports'"
  local p
  for p in ${ports//,/ }; do ((p >= 1 && p <= 65535)) || usage_error "impair: bad port $p"; done
  require_ns "$i"
  need iptables-nft iptables
  local bin; bin=$(netq_bin)
  [[ -n $seed ]] || seed=$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')
  mkdir -p "$STATE"

  # replace: the previous impairment's rules and program go first
  clear_impair_rules "$i"
  stop_netq "$i"
  local q=$((QUEUE_BASE + i)) pidf="$STATE/vp$i.pid"
  rm -f "$STATE/vp$i.stats"
  # setsid: the program outlives this script and the caller's process group; its stdio is a log file, so a
  # caller reading this script's output is not kept waiting by it
  # SCHED_FIFO 1 where allowed: netem's delays run on kernel timers, netq's in a process, which a busy machine
  # would otherwise make late (it sleeps between packets, and the kernel caps real-time tasks at 95 % of a CPU)
  local rt=()
  if command -v chrt >/dev/null && chrt -f 1 true 2>/dev/null; then rt=(chrt -f 1); fi
  setsid "${rt[@]}" ip netns exec "$(ns_name "$i")" "$bin" --queue "$q" --loss "$loss" --delay "$delay" --jitter "$jitter" \
    --seed "$seed" --duration "$duration" --stats "$STATE/vp$i.stats" --pidfile "$pidf" </dev/null >>"$STATE/vp$i.log" 2>&1 &
  local launched=$! k
  for ((k = 0; k < 50; k++)); do [[ -s $pidf ]] && break; sleep 0.1; done
  if ! netq_pid "$i" >/dev/null; then
    kill "$launched" 2>/dev/null || true
    tail -5 "$STATE/vp$i.log" >&2 || true
    die "impair: netq did not start for $(ns_name "$i")"
  fi
  # the program is bound to its queue before the rules send anything there (--queue-bypass: had it not been,
  # packets would pass unimpaired rather than be dropped)
  ipt "$i" -N MDRILL-OUT
  ipt "$i" -N MDRILL-IN
  for p in ${ports//,/ }; do
    [[ $dir == in ]] || ipt "$i" -A MDRILL-OUT -d "$LAB_ADDR/32" -p tcp --dport "$p" -j NFQUEUE --queue-num "$q" --queue-bypass
    [[ $dir == out ]] || ipt "$i" -A MDRILL-IN -s "$LAB_ADDR/32" -p tcp --sport "$p" -j NFQUEUE --queue-num "$q" --queue-bypass
  done
  ipt "$i" -A POSTROUTING -j MDRILL-OUT
  ipt "$i" -A PREROUTING -j MDRILL-IN
  echo "$(ns_name "$i"): impaired TCP with $LAB_ADDR ports $ports ($dir): loss $loss% delay $delay ms +- $jitter ms" \
    "(uniform, per packet and direction; like: tc netem delay ${delay}ms ${jitter}ms loss $loss%)," \
    "queue $q, netq pid $(netq_pid "$i")${rt:+ (SCHED_FIFO 1)}, seed $seed$( ((duration)) && echo ", for $duration s")"
}

cmd_partition() {
  (($# == 2)) || usage_error "partition takes I PORT"
  check_index "$1"
  is_uint "$2" && (($2 >= 1 && $2 <= 65535)) || usage_error "partition: bad port '$2'"
  local i=$1 port=$2
  require_ns "$i"
  nft list chain inet mdrill "vp$i" >/dev/null 2>&1 || die "partition: the host table is missing (run: netlab.sh up N)"
  # checker -> server: dropped at the host's ingress from the veth, i.e. after the namespace's stack sent it
  # successfully (a drop in the namespace's own output path would return EPERM to its TCP, which a partition
  # does not do)
  if ! nft list chain inet mdrill "vp$i" | grep -q "tcp dport $port counter"; then
    nft add rule inet mdrill "vp$i" ip daddr "$LAB_ADDR" tcp dport "$port" counter drop
  fi
  # server -> checker: dropped on arrival in the namespace (silent for the server's stack as well)
  in_ns "$i" nft add table inet mdrill
  in_ns "$i" nft add chain inet mdrill prerouting '{ type filter hook prerouting priority raw; policy accept; }'
  if ! in_ns "$i" nft list chain inet mdrill prerouting | grep -q "tcp sport $port counter"; then
    in_ns "$i" nft add rule inet mdrill prerouting ip saddr "$LAB_ADDR" tcp sport "$port" counter drop
  fi
  echo "$(ns_name "$i"): partitioned from $LAB_ADDR:$port (TCP both ways silently dropped: no RST, no ICMP)"
}

cmd_heal() {
  (($# == 1)) || usage_error "heal takes I"
  check_index "$1"
  heal_one "$1"
  echo "$(ns_name "$1"): healed (partitions and impairment removed, netq stopped)"
}

cmd_stats() {
  (($# == 1)) || usage_error "stats takes I"
  check_index "$1"
  local i=$1 f="$STATE/vp$1.stats" pid before
  if pid=$(netq_pid "$i"); then
    before=$(stat -c %.9Y "$f" 2>/dev/null || echo none) # mtime in ns: netq rewrites the file on SIGUSR1
    kill -USR1 "$pid"
    for ((k = 0; k < 20; k++)); do
      [[ $(stat -c %.9Y "$f" 2>/dev/null || echo none) != "$before" ]] && break
      sleep 0.05
    done
    echo "$(ns_name "$i"): netq running"
  elif [[ -r $f ]]; then
    echo "$(ns_name "$i"): netq not running; its last counters:"
  else
    echo "$(ns_name "$i"): no impairment"
  fi
  [[ -r $f ]] && cat "$f"
  if ns_exists "$i" && [[ -r /proc/net/netfilter/nfnetlink_queue ]]; then
    # the kernel's view of the queue: packets waiting now, dropped for a full queue, failed netlink sends
    # shellcheck disable=SC2016 # awk's own $3 etc.
    in_ns "$i" awk -v q=$((QUEUE_BASE + i)) '$1 == q {print "kernel_queue_total=" $3 " kernel_queue_dropped=" $6 " kernel_user_dropped=" $7}' \
      /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true
  fi
  local line
  while read -r line; do
    [[ $line =~ tcp\ dport\ ([0-9]+)\ counter\ packets\ ([0-9]+) ]] &&
      echo "partition port=${BASH_REMATCH[1]} dropped_to_server=${BASH_REMATCH[2]}"
  done < <(nft list chain inet mdrill "vp$i" 2>/dev/null || true)
  if ns_exists "$i"; then
    while read -r line; do
      [[ $line =~ tcp\ sport\ ([0-9]+)\ counter\ packets\ ([0-9]+) ]] &&
        echo "partition port=${BASH_REMATCH[1]} dropped_from_server=${BASH_REMATCH[2]}"
    done < <(in_ns "$i" nft list chain inet mdrill prerouting 2>/dev/null || true)
  fi
  return 0
}

cmd_down() {
  # never fails and never installs: it runs from traps
  set +e
  local ns i f link removed=0
  for f in "$STATE"/vp*.pid; do
    [[ -e $f ]] || continue
    i=${f##*/vp}; i=${i%.pid}
    stop_netq "$i"
  done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NS_PREFIX}[0-9]+$"); do
    kill_ns_processes "$ns"
    ip netns del "$ns" && removed=$((removed + 1))
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^mdv[0-9]+h$'); do
    ip link del "$link" 2>/dev/null
  done
  if command -v nft >/dev/null && nft list table inet mdrill >/dev/null 2>&1; then nft delete table inet mdrill; fi
  if ip -4 addr show dev lo | grep -q " $LAB_ADDR/32 "; then ip addr del "$LAB_ADDR/32" dev lo; fi
  rm -rf "$STATE"
  echo "netlab down: $removed namespace(s) removed; no mdrill namespace, veth, lo address, nft table or netq left"
  return 0
}

# --- selftest ------------------------------------------------------------------------------------------------

summarize() { # summarize NAME FILE: FILE has "code seconds" lines; prints one row
  awk -v name="$1" '
    { n++; if ($1 == "200") { ok++; t[ok] = $2 } else fail++; if ($2 > 1) slow++ }
    END {
      # sort the successful times (insertion sort: at most a few hundred)
      for (i = 2; i <= ok; i++) { v = t[i]; j = i - 1; while (j > 0 && t[j] > v) { t[j + 1] = t[j]; j-- } t[j + 1] = v }
      p50 = ok ? t[int(0.5 * (ok - 1)) + 1] * 1000 : -1
      p90 = ok ? t[int(0.9 * (ok - 1)) + 1] * 1000 : -1
      mx = ok ? t[ok] * 1000 : -1
      # ">1s" counts every request that took over 1 s, failed ones (3 s timeouts) included; "-": none succeeded
      if (ok) printf "%-22s %5d %5d %5d %5d %9.1f %9.1f %9.1f\n", name, n, ok, fail + 0, slow + 0, p50, p90, mx
      else printf "%-22s %5d %5d %5d %5d %9s %9s %9s\n", name, n, ok, fail + 0, slow + 0, "-", "-", "-"
      printf "%s %d %d %d %d %.1f %.1f %.1f\n", name, n, ok, fail + 0, slow + 0, p50, p90, mx > "/dev/stderr"
    }' "$2"
}

cmd_selftest() {
  local count=200 pcount=10 seed=16 force=0
  while (($#)); do
    case $1 in
      --count) count=${2:-}; shift 2 ;;
      --partition-count) pcount=${2:-}; shift 2 ;;
      --seed) seed=${2:-}; shift 2 ;;
      --force) force=1; shift ;;
      *) usage_error "selftest: unknown option $1" ;;
    esac
  done
  is_uint "$count" && ((count >= 1 && count <= 2000)) || usage_error "selftest: --count must be 1..2000"
  is_uint "$pcount" && ((pcount >= 1 && pcount <= 100)) || usage_error "selftest: --partition-count must be 1..100"
  is_uint "$seed" || usage_error "selftest: --seed must be an integer"
  if ((!force)) && ip netns list 2>/dev/null | grep -qE "^${NS_PREFIX}[0-9]+"; then
    die "selftest: a lab is up (ip netns list shows $NS_PREFIX*); it would be torn down. Run down first, or --force"
  fi
  # global, not local: the EXIT trap may run after this function's scope is gone (set -e)
  selftest_work=$(mktemp -d /tmp/mdrill-selftest.XXXXXX)
  local work=$selftest_work
  trap 'stop_server; cmd_down >/dev/null; rm -rf "$selftest_work"' EXIT
  trap 'exit 130' INT TERM

  echo "== netlab selftest: $(nproc) cores, kernel $(uname -r), $count curls per phase ($pcount partitioned)"
  cmd_up 1
  need iptables-nft iptables
  netq_bin >/dev/null # built now if needed, not while a phase runs
  start_server "$work/ports"
  local port other
  read -r port other <"$work/ports"
  echo "HTTP server on $LAB_ADDR:$port (probed) and $LAB_ADDR:$other (not impaired)"
  run_phase() { # run_phase FILE N PORT: N sequential curls from the namespace
    : >"$1"
    for ((k = 0; k < $2; k++)); do
      in_ns 1 curl -s -o /dev/null --max-time 3 -w '%{http_code} %{time_total}\n' "http://$LAB_ADDR:$3/" >>"$1" || true
    done
  }
  local t0 t1
  printf '%-22s %5s %5s %5s %5s %9s %9s %9s\n' phase runs ok fail '>1s' p50_ms p90_ms max_ms
  t0=$SECONDS; run_phase "$work/baseline" "$count" "$port"; summarize baseline "$work/baseline" 2>>"$work/rows"
  cmd_impair 1 --loss 5 --delay 100 --jitter 100 --ports "$port" --seed "$seed" >"$work/impair.txt"
  run_phase "$work/impaired" "$count" "$port"; summarize "impaired" "$work/impaired" 2>>"$work/rows"
  run_phase "$work/other" 20 "$other"; summarize "impaired,other-port" "$work/other" 2>>"$work/rows"
  cmd_stats 1 >"$work/stats.txt"
  cmd_partition 1 "$port" >"$work/partition.txt"
  run_phase "$work/partitioned" "$pcount" "$port"; summarize partitioned "$work/partitioned" 2>>"$work/rows"
  cmd_stats 1 >"$work/pstats.txt"
  cmd_heal 1 >/dev/null
  run_phase "$work/healed" "$count" "$port"; summarize healed "$work/healed" 2>>"$work/rows"
  t1=$SECONDS
  echo "-- $(cat "$work/impair.txt")"
  echo "-- netq stats after the impaired phase:"
  sed -n '2,$p' "$work/stats.txt" | sed 's/^/   /'
  echo "-- $(cat "$work/partition.txt"); $(grep '^partition' "$work/pstats.txt" | tr '\n' ' ')"

  # verdict: lenient bounds, the machine is shared. rows: name runs ok fail slow p50 p90 max
  local fails=0 b i o p h seen dropped
  read -r -a b < <(grep '^baseline ' "$work/rows")
  read -r -a i < <(grep '^impaired ' "$work/rows")
  read -r -a o < <(grep '^impaired,other-port ' "$work/rows")
  read -r -a p < <(grep '^partitioned ' "$work/rows")
  read -r -a h < <(grep '^healed ' "$work/rows")
  seen=$(sed -n 's/^seen=\([0-9]*\) .*/\1/p' "$work/stats.txt")
  dropped=$(sed -n 's/^seen=.* dropped=\([0-9]*\) .*/\1/p' "$work/stats.txt")
  check() { if awk "BEGIN{exit !($2)}"; then echo "PASS $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
  check "baseline: every request answered" "${b[3]} == 0"
  check "impaired: p50 >= 200 ms (two round trips, each 2 x 100 ms on average)" "${i[5]} >= 200"
  # the statistical checks need enough samples (about 1 connection in 10 loses its SYN or SYN-ACK)
  if ((count >= 100)); then
    check "impaired: some requests > 1 s or failed (a lost SYN or SYN-ACK costs a 1 s RTO)" "${i[3]} + ${i[4]} > 0"
    check "impaired: netq dropped 2..10 % of the packets it saw ($dropped of $seen)" \
      "${seen:-0} > 0 && ${dropped:-0} / ${seen:-1} >= 0.02 && ${dropped:-0} / ${seen:-1} <= 0.10"
  else
    echo "SKIP impaired: > 1 s requests and the loss rate ($dropped of $seen packets dropped): need --count >= 100"
  fi
  check "impaired: the other port untouched (p50 < 100 ms, no failure)" "${o[5]} >= 0 && ${o[5]} < 100 && ${o[3]} == 0"
  check "partitioned: every request timed out" "${p[2]} == 0"
  check "healed: every request answered, p50 < 100 ms" "${h[3]} == 0 && ${h[5]} < 100"
  echo "selftest took $((t1 - t0)) s; $fails check(s) failed"
  stop_server
  trap - EXIT INT TERM
  cmd_down
  rm -rf "$work"
  ((fails == 0))
}

# --- main ----------------------------------------------------------------------------------------------------

cmd=${1:-}
case $cmd in
  -h | --help | help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
shift
case $cmd in
  up | exec | impair | partition | heal | stats | down | selftest) ;;
  *) usage_error "unknown command '$cmd'" ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "netlab: must run as root (network namespaces, veths, nft rules, NFQUEUE); try: sudo $0 $cmd ..." >&2; exit 2; }
case $cmd in
  up) cmd_up "$@" ;;
  exec) cmd_exec "$@" ;;
  impair) cmd_impair "$@" ;;
  partition) cmd_partition "$@" ;;
  heal) cmd_heal "$@" ;;
  stats) cmd_stats "$@" ;;
  down) cmd_down "$@" ;;
  selftest) cmd_selftest "$@" ;;
esac
