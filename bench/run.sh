#!/usr/bin/env bash
# The benchmark: installs what it needs (wrk, nginx), builds the gateway (Release) and compares
# it with the direct backend and nginx in one run. Usage: bench/run.sh [--quick] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
scripts/build.sh release >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node bench/bench.mjs "$@"
