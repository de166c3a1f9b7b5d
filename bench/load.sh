#!/usr/bin/env bash
# bench/load.sh [--nodes N] [--db URL | --postgres] [USERS] [SNAPS]: the load
# test at full size (default 32 users x 50 snaps) against real `converge
# serve` nodes on loopback: by default one node on SQLite; --db URL (an empty
# PostgreSQL database) or --postgres (a throwaway cluster converge_load starts)
# puts the metadata on PostgreSQL, and --nodes N runs N nodes on it, the users
# spread round-robin. Writes this configuration's section of bench/LOAD.md and
# its row of the table at the top (the other configurations' are kept).
#   bench/load.sh --compare [USERS] [SNAPS]: 1 node on SQLite, 1 node on
#   PostgreSQL, 2 nodes on PostgreSQL, one after the other.
# Uses build/bench/load/converge_load (built if missing), or $CONVERGE_LOAD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
opts=()
compare=0
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --nodes | --db) opts+=("$1" "$2") && shift 2 ;;
    --postgres) opts+=("$1") && shift ;;
    --compare) compare=1 && shift ;;
    -*) echo "usage: bench/load.sh [--nodes N] [--db URL | --postgres] [--compare] [USERS] [SNAPS]" >&2 && exit 2 ;;
    *) positional+=("$1") && shift ;;
  esac
done
users=${positional[0]:-32}
snaps=${positional[1]:-50}
bin=${CONVERGE_LOAD:-$top/build/bench/load/converge_load}
if [ ! -x "$bin" ]; then
  (cd "$top" && cmake -S . -B build -G Ninja >/dev/null && cmake --build build --target converge_load)
fi

# run_one OPTIONS...: one configuration, its section and row written.
run_one() {
  local work
  work=$(mktemp -d)
  local before
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  local status=0
  "$bin" --users "$users" --snaps "$snaps" "$@" --report "$work/report.md" \
    --summary "$work/summary.json" >/dev/null || status=$?
  local after
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ -f "$work/summary.json" ]; then
    /usr/bin/python3 "$here/load_report.py" --summary "$work/summary.json" \
      --report "$work/report.md" --command "bench/load.sh $* $users $snaps" \
      --load-before "$before" --load-after "$after" \
      --commit "$(cd "$top" && git rev-parse --short HEAD)" --out "$here/LOAD.md"
  fi
  rm -rf "$work"
  return $status
}

if [ $compare = 1 ]; then
  [ ${#opts[@]} -eq 0 ] || { echo "bench/load.sh: --compare chooses the configurations itself" >&2; exit 2; }
  run_one
  run_one --postgres
  run_one --postgres --nodes 2
else
  run_one "${opts[@]}"
fi
cat "$here/LOAD.md"
