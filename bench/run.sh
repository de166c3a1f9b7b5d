#!/usr/bin/env bash
# bench/run.sh [small|large]: converge and git, side by side, on the same
# corpus in the same run, measured the way issue 14 asks: BENCH_ROUNDS rounds
# (default 3); in each, each tool runs the whole sequence of rows from nothing
# (a fresh workspace or repository and a fresh server side), the tool that
# goes first alternating from round to round; a `sync` before every step;
# the report takes the median. Prints a table and writes bench/RESULTS.md
# (see bench/README.md). Not part of the test suite.
#
# Environment: BENCH_WORK (scratch dir, default /tmp/converge-bench-SIZE),
# CONVERGE_BIN (skip the build and use this binary), BENCH_ROUNDS (default
# 3), BENCH_MAX_LOAD (wait for the 1-minute load to drop below it first,
# default 1.5), BENCH_MAX_WAIT (seconds to wait for that, default 1800),
# BENCH_RESULTS (output file).
set -euo pipefail
size=${1:-small}
case $size in small | large) ;; *) echo "usage: bench/run.sh [small|large]" >&2 && exit 2 ;; esac
rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive number" >&2 && exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

bench_deps
if [ -z "${CONVERGE_BIN:-}" ]; then
  (cd "$top" && scripts/deps.sh && scripts/build.sh build-release Release -DCONVERGE_TESTS=OFF)
  CONVERGE_BIN=$top/build-release/converge
fi
CVG=$CONVERGE_BIN
BENCH_WORK=${BENCH_WORK:-/tmp/converge-bench-$size}
RESULTS_MD=${BENCH_RESULTS:-$here/RESULTS.md}
[ -e "$BENCH_WORK" ] && rm -rf "$BENCH_WORK" && settle_deletes
# A run keeps all it made (bury) until the next run into the same BENCH_WORK:
# about 4.5 GB and 64,000 inodes for three rounds of the small corpus, 20 GB
# and 550,000 inodes of the large.
if [ "$size" = large ]; then
  need_room "$(dirname "$BENCH_WORK")" 25 700000
else
  need_room "$(dirname "$BENCH_WORK")" 8 100000
fi
mkdir -p "$BENCH_WORK"
RESULTS_TSV=$BENCH_WORK/results.tsv
: >"$RESULTS_TSV"
tree=$BENCH_WORK/tree
run_start=$(date +%s)

cleanup() {
  converge_stop
  [ -n "${GIT_SERVER_PID:-}" ] && kill "$GIT_SERVER_PID" 2>/dev/null && wait "$GIT_SERVER_PID" 2>/dev/null
  true
}
trap cleanup EXIT

bench_home "$BENCH_WORK"

echo "== corpus ($size)" >&2
/usr/bin/python3 "$here/corpus.py" build "$size" "$tree" >&2
corpus_files=$(find "$tree" -type f | wc -l)
corpus_bytes=$(du -sb "$tree" | cut -f1)
# Both tools work in the same tree: each ignores the other's metadata
# (git's exclude of .converge/ is set up by git_fresh).
printf '/.git/\n' >"$tree/.convergeignore"
# The 200 MiB binary of rows 5: the large corpus holds it from the start; the
# small one gains it in rows 5a/5b, so between rounds it waits outside the
# tree (made once, here, untimed).
binary=$tree/assets/blob-200m.bin
binary_aside=
if [ ! -f "$binary" ]; then
  binary_aside=$BENCH_WORK/blob-200m.bin
  /usr/bin/python3 "$here/corpus.py" binary "$binary_aside" 200 3
fi
tree_digest=$(/usr/bin/python3 "$here/corpus.py" digest "$tree")

echo "== machine limits" >&2
/usr/bin/python3 "$here/limits.py" "$BENCH_WORK" | tee "$BENCH_WORK/limits.txt" >&2

echo "== git's server" >&2
git_port=$(free_port)
mkdir -p "$BENCH_WORK/git-srv"
git_http_start "$BENCH_WORK/git-srv" "$git_port"
git_bare=$BENCH_WORK/git-srv/bench.git
git_url=http://127.0.0.1:$git_port/git/bench.git

commit_all() { git -C "$tree" add -A && git -C "$tree" commit -q --allow-empty -m "$1"; }
export -f commit_all
export tree

# The steps of each tool: ROUND and TOOL are set by run_tool.
rec() { record "$1" "$TOOL" "$LAST_SECS" "$LAST_RSS" "$LAST_SRV" "${2:-0}" "$ROUND"; }
say() { echo "  round $ROUND $TOOL  $1: ${LAST_SECS}s, client ${LAST_RSS} KiB, server ${LAST_SRV} KiB${2:+, sent $2 B}" >&2; }

setup_converge() { converge_fresh "$BENCH_WORK/converge-data-$ROUND" "$tree"; }
setup_git() { git_fresh "$git_bare" "$tree" "$git_url"; }
teardown_converge() { converge_stop; }
teardown_git() { :; }

snap_converge() {  # ROW MESSAGE
  measure_tool converge "$CVG" -C "$tree" snap -m "$2"
  rec "$1" && say "$1"
}
snap_git() {
  measure_tool git bash -c "commit_all '$2'"
  rec "$1" && say "$1"
}

publish_converge() {  # ROW: publish the newest snap, recording bytes sent
  STEP_USES_SERVER=1 measure_tool converge "$CVG" -C "$tree" --json publish -m "$1"
  local bytes
  # Every byte the client sent for it (negotiation, headers and packs, as
  # they went over the wire); bytes_uploaded is the objects' own size.
  bytes=$(json_field "$BENCH_WORK/last.out" bytes_sent)
  rec "$1" "$bytes" && say "$1" "$bytes"
}
publish_git() {  # ROW: git push, recording the receive-pack request bytes
  local before bytes
  before=$(access_lines)
  STEP_USES_SERVER=1 measure_tool git git -C "$tree" push -q origin main
  bytes=$(git_bytes_sent_since "$before")
  rec "$1" "$bytes" && say "$1" "$bytes"
}

fetch_converge() {  # ROW FRESH: clone the repo into FRESH (its newest publication restored)
  STEP_USES_SERVER=1 measure_tool converge "$CVG" clone --url "$CVG_URL" --repo bench "$2"
  rec "$1" && say "$1"
}
fetch_git() {
  STEP_USES_SERVER=1 measure_tool git git clone -q "$git_url" "$2"
  rec "$1" && say "$1"
}

# run_tool TOOL ROUND: the whole sequence of rows for TOOL from nothing; the
# tree is as it was when it ends (the 1% edit taken off, the binary's byte
# flipped back, the small corpus's binary moved out again).
run_tool() {
  TOOL=$1 ROUND=$2
  echo "== round $ROUND: $TOOL" >&2
  "setup_$TOOL"
  "snap_$TOOL" "1 cold snap" cold
  "publish_$TOOL" "3a publish, first"
  "snap_$TOOL" "2a re-snap, unchanged" same
  local edited unedited
  edited=$(/usr/bin/python3 "$here/corpus.py" edit "$tree" 1)
  "snap_$TOOL" "2b re-snap, 1% changed" one-percent
  "publish_$TOOL" "3b publish, 1% changed"
  "fetch_$TOOL" "4 fetch + restore" "$BENCH_WORK/fresh-$TOOL"
  if [ -n "$binary_aside" ]; then
    mkdir -p "$(dirname "$binary")"
    mv "$binary_aside" "$binary"
    "snap_$TOOL" "5a add 200 MiB binary: snap" binary
    "publish_$TOOL" "5b add 200 MiB binary: publish"
  fi
  /usr/bin/python3 "$here/corpus.py" flip "$binary"
  "snap_$TOOL" "5c 1-byte change in binary: snap" flip
  "publish_$TOOL" "5d 1-byte change in binary: publish"
  "teardown_$TOOL"
  /usr/bin/python3 "$here/corpus.py" flip "$binary"
  if [ -n "$binary_aside" ]; then
    mv "$binary" "$binary_aside"
    rmdir "$(dirname "$binary")"
  fi
  unedited=$(/usr/bin/python3 "$here/corpus.py" unedit "$tree" 1)
  if [ "$edited" != "$unedited" ] ||
    [ "$(/usr/bin/python3 "$here/corpus.py" digest "$tree")" != "$tree_digest" ]; then
    echo "bench: the tree is not as it was before $TOOL's round $ROUND" \
      "($edited files edited, $unedited unedited)" >&2
    exit 1
  fi
}

# end_round ROUND: the two fresh trees of row 4 must be the same; then
# everything the round made is moved aside (bury: nothing is removed during a
# run, so no step meets freshly freed inodes; the next run removes it).
end_round() {
  local fresh_cvg=$BENCH_WORK/fresh-converge fresh_git=$BENCH_WORK/fresh-git
  if ! diff -r --no-dereference -x .git -x .converge "$fresh_cvg" "$fresh_git" \
    >"$BENCH_WORK/diff.txt"; then
    echo "bench: round $1: the two fresh trees differ (see $BENCH_WORK/diff.txt)" >&2
    exit 1
  fi
  echo "  round $1: scratch space in use $(du -sh "$BENCH_WORK" | cut -f1)" >&2
  bury "$fresh_cvg" "$fresh_git" "$BENCH_WORK/converge-data-$1" "$tree/.converge" \
    "$tree/.git" "$git_bare"
}

echo "== waiting for a quiet machine" >&2
wait_for_quiet
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < rounds; r++)); do
  for tool in $(round_order "$r" converge git); do
    run_tool "$tool" "$r"
  done
  end_round "$r"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $rounds rounds took $(($(date +%s) - run_start)) s from the start (corpus and limits included)" >&2

/usr/bin/python3 "$here/report.py" "$RESULTS_TSV" "$BENCH_WORK/limits.txt" \
  --size "$size" --files "$corpus_files" --bytes "$corpus_bytes" --rounds "$rounds" \
  --load-before "$load_before" --load-after "$load_after" \
  --commit "$(converge_label "$top")" \
  --out "$RESULTS_MD"
