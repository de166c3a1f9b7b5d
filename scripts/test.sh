#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest: once on
# a normal build, once on an AddressSanitizer + UndefinedBehaviorSanitizer build.
# CONVERGE_SKIP_SANITIZERS=1 skips the second pass (for quick local loops only).
# After it, every fuzz target runs for 10 s (scripts/fuzz.sh; CONVERGE_SKIP_FUZZ=1 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

jobs=$(nproc)
echo "== build (RelWithDebInfo)"
scripts/build.sh build RelWithDebInfo
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${CONVERGE_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (ASan + UBSan)"
  scripts/build.sh build-asan Debug -DCONVERGE_SANITIZE=ON
  echo "== tests under ASan + UBSan"
  (cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$jobs")
  [ "${CONVERGE_SKIP_FUZZ:-0}" = 1 ] || { echo "== fuzz (10 s a target)"; scripts/fuzz.sh 10; }
fi
