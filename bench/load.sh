#!/usr/bin/env bash
# bench/load.sh [USERS] [SNAPS]: the load test at full size (default 32 users x
# 50 snaps) against a real `converge serve` on loopback; writes bench/LOAD.md.
# Uses build/bench/load/converge_load (built if missing), or $CONVERGE_LOAD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
users=${1:-32}
snaps=${2:-50}
bin=${CONVERGE_LOAD:-$top/build/bench/load/converge_load}
if [ ! -x "$bin" ]; then
  (cd "$top" && cmake -S . -B build -G Ninja >/dev/null && cmake --build build --target converge_load)
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" --users "$users" --snaps "$snaps" --report "$out" >/dev/null
{
  echo "# Load test"
  echo
  echo "\`bench/load.sh $users $snaps\` on $(date -u +%Y-%m-%d), $(nproc) cores" \
    "(load average before: $(cut -d' ' -f1-3 /proc/loadavg)), commit $(cd "$top" && git rev-parse --short HEAD)."
  echo "Each user takes a snap (20 files shared by all, 5 every user changes alike at each step,"
  echo "5 of its own), publishes it, and fetches everyone's publications every 10 snaps."
  echo "Latencies are per call, from the client, with all users running at once."
  echo
  cat "$out"
} >"$here/LOAD.md"
cat "$here/LOAD.md"
