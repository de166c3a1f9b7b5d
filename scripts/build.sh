#!/usr/bin/env bash
# scripts/build.sh DIR BUILD_TYPE [cmake options...]: configure and build
# (everything, or only the targets named in BUILD_TARGETS).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1 type=$2
shift 2
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
