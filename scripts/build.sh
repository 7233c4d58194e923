#!/usr/bin/env bash
# Configures and builds llm-gateway. Usage: scripts/build.sh [release|asan|tsan] [TARGET...]
#   release (default): ./build, optimised; asan: ./build-asan, unoptimised with ASan + UBSan;
#   tsan: ./build-tsan, -O1 with ThreadSanitizer. TARGETs: only those (default: all).
# The sanitizer builds keep line tables only (-g1): enough for the reports' stacks, and full debug
# info of Asio/Beast code took a fifth of their compile time.
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
jobs="$(nproc)"
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1"
                              -DGW_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
                              -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DGW_TSAN=ON) ;;
  *) echo "usage: $0 [release|asan|tsan] [TARGET...]" >&2; exit 2 ;;
esac
if [[ -n "${GW_WERROR:-}" ]]; then flags+=(-DGW_WERROR="$GW_WERROR"); fi

cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
shift || true
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$dir" -j "$jobs" "${targets[@]}"
