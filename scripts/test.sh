#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs the unit, integration and
# end-to-end tests (ctest), then the unit, integration and end-to-end tests again under ASan +
# UBSan, the libFuzzer targets over their corpora plus a fixed number of new inputs each
# (fuzz/README.md), and the threaded unit tests and the two-thread integration runs under
# ThreadSanitizer.
# GW_SKIP_SANITIZERS=1 skips the ASan pass, GW_SKIP_FUZZ=1 the fuzz smoke run, GW_SKIP_TSAN=1 the
# TSan pass (quicker local runs). Each stage prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
stage_start=$start
# Prints the time since the previous call, for the stage just finished.
stage_done() {
  local now
  now=$(date +%s)
  echo "==> $1 took $((now - stage_start)) s"
  stage_start=$now
}

scripts/deps.sh --test
# An empty ccache (a fresh machine) cannot hit during this run, whose four trees each compile with
# their own flags; filling it costs a preprocessor pass per file, about a sixth of each build.
if [[ "$(ccache --print-stats 2>/dev/null | awk '$1 == "files_in_cache" { print $2 }')" == 0 ]]; then
  echo "==> ccache is empty: compiling without it"
  export CCACHE_DISABLE=1
fi
echo "==> installing the test clients (npm ci)"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

echo "==> release build"
GW_WERROR=ON scripts/build.sh release
echo "==> unit, integration and end-to-end tests"
ctest --test-dir build --output-on-failure -j "$(nproc)"
stage_done "set-up, release build and tests"

if [[ "${GW_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "==> ASan + UBSan build"
  GW_WERROR=ON scripts/build.sh asan
  # The unit tests as one process (a sanitizer's start-up, paid per test under ctest, cost more
  # than the tests); the two-thread runs are left to the TSan pass.
  echo "==> unit, integration and end-to-end tests under ASan + UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build-asan/tests/gw_unit_tests --gtest_brief=1
  build-asan/tests/gw_thread_tests --gtest_brief=1
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -L "integration|e2e" -LE threads2
  unset ASAN_OPTIONS UBSAN_OPTIONS
  stage_done "ASan + UBSan build and tests"
fi
if [[ "${GW_SKIP_FUZZ:-0}" != 1 ]]; then
  # A fixed number of new inputs from a fixed seed: the same inputs on every run, so a failure here
  # reproduces (longer, open-ended runs: scripts/fuzz.sh long).
  echo "==> fuzz smoke: every libFuzzer target over its corpus, then ${GW_FUZZ_RUNS:=20000} new inputs"
  GW_FUZZ_RUNS="$GW_FUZZ_RUNS" GW_FUZZ_SKIP_KNOWN=1 scripts/fuzz.sh smoke
  stage_done "fuzz build and smoke run"
fi
if [[ "${GW_SKIP_TSAN:-0}" != 1 ]]; then
  echo "==> ThreadSanitizer build"
  scripts/build.sh tsan llm-gateway gw_thread_tests
  echo "==> the threaded unit tests and the two-thread integration runs under ThreadSanitizer"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  build-tsan/tests/gw_thread_tests --gtest_brief=1
  ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" -L threads2
  unset TSAN_OPTIONS
  stage_done "TSan build and tests"
fi
echo "==> all tests passed in $(( $(date +%s) - start )) s"
