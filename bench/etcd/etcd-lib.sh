# Sourced by the bench/etcd scripts: start_etcd WORKDIR starts a single-member etcd (Debian's etcd-server) on free
# loopback ports with its data in WORKDIR, waits until it is healthy, sets ETCD_PORT and ETCD_PID, and stops it
# (and removes WORKDIR) when the script exits.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
start_etcd() {
  local work="$1" peer
  command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server" >&2; exit 1; }
  ETCD_PORT=$(free_port)
  peer=$(free_port)
  # ETCD_CPU pins etcd (taskset), e.g. away from the core a benchmark's server is pinned to
  ${ETCD_CPU:+taskset -c "$ETCD_CPU"} etcd --name bench --data-dir "$work/etcd-data" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "bench=http://127.0.0.1:$peer" \
    >"$work/etcd.log" 2>&1 &
  ETCD_PID=$!
  # shellcheck disable=SC2064 # expand now: the values of this call
  trap "kill $ETCD_PID 2>/dev/null; wait $ETCD_PID 2>/dev/null || true; rm -rf '$work'" EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && return 0; sleep 0.1; done
  echo "etcd did not become healthy: $(tail -5 "$work/etcd.log")" >&2
  exit 1
}
