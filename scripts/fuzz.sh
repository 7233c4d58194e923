#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in fuzz/ (see fuzz/README.md).
#   scripts/fuzz.sh build                   configure ./build-fuzz (clang, GW_FUZZ=ON) and build
#   scripts/fuzz.sh smoke                   build; run every target over its corpus, then for
#                                           GW_FUZZ_SECONDS (10) on new inputs; fails on a crash
#   scripts/fuzz.sh long TARGET SECONDS [libFuzzer flags...]
#                                           build; fuzz one target (its corpus grows in
#                                           build-fuzz/long/TARGET, crashes land there too)
# Environment: GW_FUZZ_JOBS (build jobs, default nproc), GW_FUZZ_SECONDS (smoke run per target),
# GW_FUZZ_RUNS (smoke: this many new inputs per target from a fixed seed instead of seconds),
# GW_FUZZ_MAX_LEN (default 4096), GW_FUZZ_IGNORE (comma-separated check ids to turn off, for
# findings already known), GW_FUZZ_SKIP_KNOWN=1 (leave out the open findings listed in
# fuzz/known_findings.txt: their reproducers and their checks; see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-fuzz
jobs="${GW_FUZZ_JOBS:-$(nproc)}"
seconds="${GW_FUZZ_SECONDS:-10}"
max_len="${GW_FUZZ_MAX_LEN:-4096}"

targets() {
  for corpus in fuzz/corpus/*/; do
    basename "$corpus"
  done
}

build() {
  # -O1 without NDEBUG: assertions stay on; line tables make the sanitizers' stacks readable.
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DGW_FUZZ=ON -DGW_MIMALLOC=OFF \
    -DGW_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
  cmake --build "$dir" -j "$jobs" --target fuzz
}

# Sanitizer reports abort the run with a stack; leaks are reported too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# With GW_FUZZ_SKIP_KNOWN=1: the open findings of fuzz/known_findings.txt for TARGET, as
# "ids files" (check ids to turn off, reproducers to leave out).
known() {
  local target="$1" field="$2"
  [[ "${GW_FUZZ_SKIP_KNOWN:-0}" == 1 ]] || return 0
  awk -v t="$target" -v f="$field" '$1 == t && $f != "-" { print $f }' fuzz/known_findings.txt
}

# Copies TARGET's corpus into DIR, less the known findings' reproducers when skipping them.
seed() {
  local target="$1" into="$2"
  local skip
  skip=" $(known "$target" 3 | tr '\n' ' ') "
  rm -rf "$into" && mkdir -p "$into"
  for file in fuzz/corpus/"$target"/*; do
    [[ "$skip" == *" $(basename "$file") "* ]] || cp "$file" "$into/"
  done
}

# The check ids to turn off for TARGET: GW_FUZZ_IGNORE and, when skipping them, known findings'.
ignore_for() {
  local ids
  ids="$(known "$1" 2 | paste -sd, -)"
  echo "${GW_FUZZ_IGNORE:-}${GW_FUZZ_IGNORE:+${ids:+,}}${ids}"
}

smoke() {
  build
  local failed=()
  for target in $(targets); do
    local bin="$dir/fuzz/${target}_fuzz"
    local work="$dir/smoke/$target"
    rm -rf "$work" && mkdir -p "$work/new" "$work/artifacts"
    seed "$target" "$work/seeds"
    echo "==> $target: corpus"
    # Every corpus file once, each by name (crash-* files are open findings: they pass once the
    # bug is fixed, or with their check id in GW_FUZZ_IGNORE).
    local ignore
    ignore="$(ignore_for "$target")"
    if ! GW_FUZZ_IGNORE="$ignore" "$bin" -runs=1 "$work"/seeds/* >"$work/corpus.log" 2>&1; then
      # (the last lines when none matches: under pipefail a grep finding nothing ends the script)
      { grep -E "gw fuzz check failed|ERROR: |runtime error|Running: " "$work/corpus.log" || tail -3 "$work/corpus.log"; } | tail -5
      failed+=("$target (corpus)")
      continue
    fi
    # GW_FUZZ_RUNS: a fixed number of new inputs from a fixed seed, the same on every run (what
    # the test command uses: a failure there is reproducible); else GW_FUZZ_SECONDS of them.
    local budget=(-max_total_time="$seconds") what="${seconds}s of new inputs"
    if [[ -n "${GW_FUZZ_RUNS:-}" ]]; then
      budget=(-runs="$GW_FUZZ_RUNS" -seed=1)
      what="$GW_FUZZ_RUNS new inputs from seed 1"
    fi
    echo "==> $target: $what"
    if ! GW_FUZZ_IGNORE="$ignore" "$bin" "${budget[@]}" -max_len="$max_len" \
        -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts/" "$work/new" "$work/seeds" \
        >"$work/fuzz.log" 2>&1; then
      { grep -E "gw fuzz check failed|ERROR: |runtime error|Test unit written" "$work/fuzz.log" ||
        tail -3 "$work/fuzz.log"; } | tail -5
      failed+=("$target")
      continue
    fi
    { grep -E "^Done|cov:" "$work/fuzz.log" || true; } | tail -1
  done
  if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]} (logs in $dir/smoke/)" >&2
    exit 1
  fi
  echo "==> all fuzz targets passed"
}

long() {
  local target="$1" secs="$2"
  shift 2
  if [[ ! -d "fuzz/corpus/$target" ]]; then
    echo "unknown target '$target'; targets: $(targets | tr '\n' ' ')" >&2
    exit 2
  fi
  build
  local work="$dir/long/$target"
  mkdir -p "$work/corpus" "$work/artifacts"
  seed "$target" "$work/seeds"
  GW_FUZZ_IGNORE="$(ignore_for "$target")" "$dir/fuzz/${target}_fuzz" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@" \
    "$work/corpus" "$work/seeds"
}

case "${1:-}" in
  build) build ;;
  smoke) smoke ;;
  long)
    [[ $# -ge 3 ]] || { echo "usage: $0 long TARGET SECONDS [libFuzzer flags...]" >&2; exit 2; }
    long "${@:2}"
    ;;
  *)
    echo "usage: $0 build | smoke | long TARGET SECONDS [libFuzzer flags...]" >&2
    exit 2
    ;;
esac
