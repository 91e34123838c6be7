# Sourced by the proxy benchmarks (run.sh, profile.sh, idle-connections.sh, memory.sh).
#
# bench_work NAME: WORK, a new directory /tmp/meridian-NAME.XXXXXX, and PIDS, the processes the benchmark starts;
# on exit each of them gets SIGTERM, a second later SIGKILL, and WORK is removed.
bench_work() {
  WORK=$(mktemp -d "/tmp/meridian-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}

# start_backend PORT CORES [HTTP_DIRECTIVES]: the upstream every proxy in a benchmark stands in front of, an nginx
# worker answering "hello from the backend" on 127.0.0.1:PORT, pinned to CORES (empty: not pinned), its files in
# WORK/backend; HTTP_DIRECTIVES are added to its http block. Added to PIDS.
start_backend() {
  local dir="$WORK/backend" pin=()
  [ -n "$2" ] && pin=(taskset -c "$2")
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; ${3:-}
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir; uwsgi_temp_path $dir;
  scgi_temp_path $dir;
  server { listen 127.0.0.1:$1; location / { return 200 "hello from the backend\n"; } } }
CONF
  "${pin[@]}" nginx -c "$dir/nginx.conf" -p "$dir" & PIDS+=($!)
}
