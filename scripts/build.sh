#!/usr/bin/env bash
# Configures and builds llm-gateway. Usage: scripts/build.sh [release|asan]
#   release (default): ./build, optimised; asan: ./build-asan, Debug with ASan + UBSan;
#   tsan: ./build-tsan, optimised with debug info and ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
jobs="$(nproc)"
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_TSAN=ON) ;;
  *) echo "usage: $0 [release|asan|tsan]" >&2; exit 2 ;;
esac
if [[ -n "${GW_WERROR:-}" ]]; then flags+=(-DGW_WERROR="$GW_WERROR"); fi

cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
