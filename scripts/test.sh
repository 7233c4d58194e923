#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs the unit, integration and
# end-to-end tests (ctest), then the unit and integration tests again under ASan + UBSan, then
# the unit tests and the two-thread integration runs under ThreadSanitizer.
# GW_SKIP_SANITIZERS=1 skips the ASan pass, GW_SKIP_TSAN=1 the TSan pass (quicker local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/deps.sh --test
echo "==> installing the test clients (npm ci)"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

echo "==> release build"
GW_WERROR=ON scripts/build.sh release
echo "==> unit, integration and end-to-end tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [[ "${GW_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "==> ASan + UBSan build"
  GW_WERROR=ON scripts/build.sh asan
  echo "==> unit and integration tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L "unit|integration"
fi
if [[ "${GW_SKIP_TSAN:-0}" != 1 ]]; then
  echo "==> ThreadSanitizer build"
  scripts/build.sh tsan
  echo "==> unit tests and the two-thread integration runs under ThreadSanitizer"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" -L unit
  ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" -R '^integration[.]threads2[.]'
  unset TSAN_OPTIONS
fi
echo "==> all tests passed in $(( $(date +%s) - start )) s"
