#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in build-fuzz and runs each for
# SECONDS_PER_TARGET seconds (default 10) on a copy of its seed corpus in
# fuzz/corpus-run/ (the checked-in fuzz/corpus/ is never written to).
# Exits non-zero when a target crashes or breaks an invariant; the input that
# did it is left in fuzz/corpus-run/crashes/. docs/fuzzing.md has more.
#   FUZZ_TARGETS="fuzz_pack fuzz_json"  only these targets
#   FUZZ_JOBS=N                          run N targets at once (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=build-fuzz
run=fuzz/corpus-run

targets=${FUZZ_TARGETS:-$(cd fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//' | tr '\n' ' ')}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCONVERGE_LINE_TABLES=ON -DCONVERGE_FUZZ=ON -DCONVERGE_TESTS=OFF >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" --target $targets

mkdir -p "$run/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 dict=()
  rm -rf "${run:?}/$t" "$run/crashes/$t-"*
  mkdir -p "$run/$t"
  cp fuzz/corpus/"$t"/* "$run/$t/"
  case $t in
    fuzz_manifest | fuzz_snap | fuzz_chunklist | fuzz_json) dict=(-dict=fuzz/objects.dict) ;;
  esac
  # -max_len: objects bigger than a few KB only repeat what small ones cover.
  if "$build/fuzz/$t" "$run/$t" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$run/crashes/$t-" >"$run/$t.log" 2>&1; then
    echo "fuzz: $t: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/$t.log" |
      grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz: $t: FAILED; log: $run/$t.log; input: $(ls "$run/crashes/$t-"* 2>/dev/null | head -1)" >&2
    tail -n 30 "$run/$t.log" >&2
    return 1
  fi
}

failed=0
jobs=${FUZZ_JOBS:-1}
pids=()
for t in $targets; do
  if [ "$jobs" -le 1 ]; then
    run_one "$t" || failed=1
  else
    run_one "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
