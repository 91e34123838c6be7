#!/usr/bin/env bash
# Installs the load drivers and the real peers the benchmarks compare Meridian with, from Debian's packages.
set -euo pipefail
pkgs=(dnsperf gdnsd nginx-light haproxy wrk nghttp2-client util-linux dnsutils unbound curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # the packages start their system services; the benchmarks run their own instances on other ports
  for svc in gdnsd nginx haproxy unbound; do $sudo_cmd systemctl stop "$svc" 2>/dev/null || true; done
  # Unbound's system resolver would hold port 53 after every boot; bench/dns/ecs-scopes.sh runs its own instances
  $sudo_cmd systemctl disable unbound 2>/dev/null || true
fi
echo "bench peers installed: ${pkgs[*]}"
