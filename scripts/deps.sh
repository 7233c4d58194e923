#!/usr/bin/env bash
# Installs what building and testing llm-gateway needs, from Debian's apt (and, for the tests,
# the npm registry). Idempotent: installs only what is missing; run as root or with sudo.
set -euo pipefail

APT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsimdjson-dev
  libspdlog-dev libfmt-dev libcli11-dev libexpected-dev prometheus-cpp-dev libmimalloc-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev
)
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" ]]; then
  # prometheus: its promtool checks the /metrics output in the tests; valgrind: the benchmark
  # (and its smoke test) counts instructions per request with callgrind; clang and its runtime
  # libraries: the libFuzzer targets in fuzz/, whose smoke run is part of the test command;
  # help2man, dpkg-dev and systemd: the Debian package's manual, dependencies and unit checks;
  # chromium and a font: the dashboard's test drives the page in it (headless).
  APT_PACKAGES+=(nodejs npm openssl curl wrk nginx-light prometheus valgrind clang
                 libclang-rt-14-dev help2man dpkg-dev systemd chromium fonts-liberation)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  # nodejs/npm may come from elsewhere (e.g. a preinstalled Node); a working binary is enough.
  if [[ "$pkg" == nodejs ]] && command -v node >/dev/null; then continue; fi
  if [[ "$pkg" == npm ]] && command -v npm >/dev/null; then continue; fi
  if [[ "$pkg" == curl ]] && command -v curl >/dev/null; then continue; fi
  if [[ "$pkg" == nginx-light ]] && command -v nginx >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "==> installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The nginx package starts a system nginx on :80; the benchmark runs its own on loopback.
  if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
    ($SUDO systemctl stop nginx || $SUDO service nginx stop || $SUDO nginx -s quit) >/dev/null 2>&1 || true
  fi
  # Likewise the prometheus package's server: only promtool is wanted.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    ($SUDO systemctl stop prometheus || $SUDO service prometheus stop) >/dev/null 2>&1 || true
  fi
fi
