#!/usr/bin/env bash
# bench/million.sh [100k|1m|both]: converge and git on a synthetic tree of N
# small files in N/10 directories (corpus.py synthetic), side by side in the
# same run: cold snap, re-snap unchanged, publish, fetch + restore. Records
# wall time, peak RSS of client and server and the load average around each
# step, and writes bench/RESULTS.md's million block (bench/million_report.py;
# see bench/README.md). Git's steps run once; converge's run BENCH_ROUNDS
# times (default 3), each round from nothing, and the report takes each
# step's median time and largest RSS. Not part of the test suite.
#
# Environment: BENCH_ROUNDS (converge's rounds), BENCH_WORK (scratch dir
# prefix: each size works in PREFIX-SIZE, default
# /tmp/converge-million-SIZE), CONVERGE_BIN (skip the build and use this
# binary), BENCH_MAX_LOAD / BENCH_MAX_WAIT (wait for a quiet machine first,
# as in run.sh), BENCH_RESULTS (output file), BENCH_SETTLE (lib.sh's
# settle_deletes).
#
# Nothing is removed while anything is measured: a size's scratch dir stays
# until the next run of that size removes it at its start and then waits for
# the filesystem to hand the freed inodes out again (lib.sh, settle_deletes),
# and both sizes' trees are made before either is measured. Removing a 1m
# tree takes over ten minutes here; a step that creates files within minutes
# of it ran several times slower.
set -euo pipefail
which=${1:-100k}
case $which in
100k) sizes=(100k) ;;
1m) sizes=(1m) ;;
both) sizes=(100k 1m) ;;
*) echo "usage: bench/million.sh [100k|1m|both]" >&2 && exit 2 ;;
esac
# files_in SIZE: the number of files of a SIZE tree.
files_in() { case $1 in 100k) echo 100000 ;; 1m) echo 1000000 ;; esac; }
rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive number" >&2 && exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

bench_deps
if [ -z "${CONVERGE_BIN:-}" ]; then
  (cd "$top" && scripts/deps.sh &&
    flock /tmp/build.lock scripts/build.sh build-release Release -DCONVERGE_TESTS=OFF)
  CONVERGE_BIN=$top/build-release/converge
fi
CVG=$CONVERGE_BIN
RESULTS_MD=${BENCH_RESULTS:-$here/RESULTS.md}
work_base=${BENCH_WORK:-/tmp/converge-million}
commit=$(converge_label "$top")

cleanup() {
  [ -n "${CVG_SERVER_PID:-}" ] && kill "$CVG_SERVER_PID" 2>/dev/null && wait "$CVG_SERVER_PID" 2>/dev/null
  [ -n "${GIT_SERVER_PID:-}" ] && kill "$GIT_SERVER_PID" 2>/dev/null && wait "$GIT_SERVER_PID" 2>/dev/null
  CVG_SERVER_PID="" GIT_SERVER_PID=""
  true
}
trap cleanup EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }

# step ROW TOOL CMD...: one timed step of TOOL (converge or git). The server
# side counts when STEP_USES_SERVER=1: the converge serve process (its peak
# reset before the step) or every git http-backend CGI run during it.
# Appends: row, tool, seconds, client KiB, server KiB, bytes sent, load before,
# load after.
step() {
  local row=$1 tool=$2
  shift 2
  local lb la srv=0
  [ "$tool" = git ] && : >"$GIT_CGI_LOG"
  [ "$tool" = converge ] && server_rss_reset "$CVG_SERVER_PID"
  lb=$(load1)
  measure_cmd "$@"
  la=$(load1)
  if [ "${STEP_USES_SERVER:-0}" = 1 ]; then
    if [ "$tool" = converge ]; then
      srv=$(server_rss_kib "$CVG_SERVER_PID")
    else
      srv=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$GIT_CGI_LOG")
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$tool" "$LAST_SECS" "$LAST_RSS" "$srv" \
    "${STEP_BYTES:-0}" "$lb" "$la" >>"$RESULTS_TSV"
  echo "  $tool $row: ${LAST_SECS}s, client ${LAST_RSS} KiB, server ${srv} KiB, load $lb -> $la" >&2
}

set_bytes() { sed -i '$ s/^\(\([^\t]*\t\)\{5\}\)0\t/\1'"$1"'\t/' "$RESULTS_TSV"; }

# tree_digest DIR SKIP: one digest of every file's path and content under
# DIR in path order, leaving out DIR/SKIP and .convergeignore.
tree_digest() {
  (cd "$1" && find . -path "./$2" -prune -o -type f ! -name .convergeignore -print0 |
    sort -z | xargs -0 md5sum | md5sum)
}

# warm_tree DIR: reads every file and inode of the tree (not .git or
# .converge) so that each cold snap starts with it in the page cache, as the
# first one does right after the tree is made. "Cold" is the tool's state (no
# index or stat cache), not the machine's: at 1m the rounds' restored copies
# push the tree out of the cache (24 GiB here), and a later round's cold snap
# read it from disk at 63 s against the first round's 27 s.
warm_tree() {
  (cd "$1" && find . \( -path ./.git -o -path ./.converge \) -prune -o -type f -print0 |
    xargs -0 cat >/dev/null)
}

# Converge's step 4 as one command, `bash -c "$FETCH_RESTORE" _ CVG DIR URL
# PUB`: `converge clone` of publication PUB of repository "bench" at URL into
# the new workspace DIR (init, remote set, fetch and restore in one process,
# as git clone is one).
FETCH_RESTORE='"$1" clone --url "$3" --repo bench --publication "$4" "$2"'

# same_tree DIR DIGEST: fails the run unless converge's fresh DIR holds what
# git's clone held.
same_tree() {
  local got
  got=$(tree_digest "$1" .converge)
  if [ "$got" != "$2" ]; then
    echo "bench: $1 differs from git's clone ($got vs $2)" >&2
    exit 1
  fi
}

run_size() {
  local size=$1 n
  n=$(files_in "$size")
  BENCH_WORK=$work_base-$size
  RESULTS_TSV=$BENCH_WORK/results.tsv
  : >"$RESULTS_TSV"
  local tree=$BENCH_WORK/tree

  bench_home "$BENCH_WORK"

  local make_secs corpus_bytes dirs
  make_secs=$(cat "$BENCH_WORK/make-secs")
  corpus_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  dirs=$(find "$tree" -mindepth 1 -type d | wc -l)

  echo "== waiting for a quiet machine" >&2
  wait_for_quiet
  local load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)

  echo "== servers" >&2
  local cvg_port git_port
  cvg_port=$(free_port)
  git_port=$(free_port)
  converge_start "$BENCH_WORK/converge-data" "$cvg_port"
  local cvg_url=http://127.0.0.1:$cvg_port
  "$CVG" login --url "$cvg_url" <"$BENCH_WORK/converge-data/initial-admin-token" >/dev/null
  "$CVG" repo create bench >/dev/null
  mkdir -p "$BENCH_WORK/git-srv"
  git init -q --bare "$BENCH_WORK/git-srv/bench.git"
  git -C "$BENCH_WORK/git-srv/bench.git" config http.receivepack true
  git_http_start "$BENCH_WORK/git-srv" "$git_port"
  local git_url=http://127.0.0.1:$git_port/git/bench.git

  printf '/.git/\n' >"$tree/.convergeignore"
  "$CVG" init "$tree" >/dev/null
  "$CVG" -C "$tree" remote set --url "$cvg_url" --repo bench >/dev/null
  git -C "$tree" init -q
  printf '/.converge/\n' >>"$tree/.git/info/exclude"
  git -C "$tree" remote add origin "$git_url"
  export tree
  commit_all() { git -C "$tree" add -A && git -C "$tree" commit -q --allow-empty -m "$1"; }
  export -f commit_all

  # Which tool goes first alternates from row to row: the first one pays
  # for cold dentries and inodes.
  echo "== 1. cold snap" >&2
  warm_tree "$tree"
  step "1 cold snap" converge "$CVG" -C "$tree" snap -m cold
  warm_tree "$tree"
  step "1 cold snap" git bash -c 'commit_all cold'

  echo "== 2. re-snap, nothing changed" >&2
  step "2 re-snap, unchanged" git bash -c 'commit_all same'
  step "2 re-snap, unchanged" converge "$CVG" -C "$tree" snap -m same

  echo "== 3. publish" >&2
  STEP_USES_SERVER=1 step "3 publish" converge "$CVG" -C "$tree" --json publish -m first
  set_bytes "$(json_field "$BENCH_WORK/last.out" bytes_sent)"  # as it went over the wire
  local pub
  pub=$(json_field "$BENCH_WORK/last.out" publication.id)
  local before
  before=$(access_lines)
  STEP_USES_SERVER=1 step "3 publish" git git -C "$tree" push -q origin main
  set_bytes "$(git_bytes_sent_since "$before")"

  echo "== 4. fetch + restore into a fresh directory" >&2
  local fresh_cvg=$BENCH_WORK/fresh-converge fresh_git=$BENCH_WORK/fresh-git
  STEP_USES_SERVER=1 step "4 fetch + restore" git git clone -q "$git_url" "$fresh_git"
  STEP_USES_SERVER=1 step "4 fetch + restore" converge \
    bash -c "$FETCH_RESTORE" _ "$CVG" "$fresh_cvg" "$cvg_url" "$pub"
  local want
  want=$(tree_digest "$fresh_git" .git)
  same_tree "$fresh_cvg" "$want"

  # Rounds 2..N repeat converge's steps from nothing (a new workspace store
  # in the same tree, a new server, a new fresh directory; git ran once): the
  # report takes each step's median.
  local round
  for ((round = 2; round <= rounds; round++)); do
    echo "== converge, round $round of $rounds" >&2
    converge_stop
    mv "$tree/.converge" "$BENCH_WORK/workspace-store-$((round - 1))"
    converge_fresh "$BENCH_WORK/converge-data-$round" "$tree"
    warm_tree "$tree"
    step "1 cold snap" converge "$CVG" -C "$tree" snap -m cold
    step "2 re-snap, unchanged" converge "$CVG" -C "$tree" snap -m same
    STEP_USES_SERVER=1 step "3 publish" converge "$CVG" -C "$tree" --json publish -m first
    set_bytes "$(json_field "$BENCH_WORK/last.out" bytes_sent)"
    pub=$(json_field "$BENCH_WORK/last.out" publication.id)
    fresh_cvg=$BENCH_WORK/fresh-converge-$round
    STEP_USES_SERVER=1 step "4 fetch + restore" converge \
      bash -c "$FETCH_RESTORE" _ "$CVG" "$fresh_cvg" "$CVG_URL" "$pub"
    same_tree "$fresh_cvg" "$want"
  done

  local load_after
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  local store_cvg store_git
  store_cvg=$(du -sb "$BENCH_WORK/converge-data" | cut -f1)
  store_git=$(du -sb "$BENCH_WORK/git-srv" | cut -f1)
  cleanup
  /usr/bin/python3 "$here/million_report.py" "$RESULTS_TSV" --size "$size" --files "$n" \
    --dirs "$dirs" --bytes "$corpus_bytes" --make-secs "$make_secs" \
    --load-before "$load_before" --load-after "$load_after" --commit "$commit" \
    --store-converge "$store_cvg" --store-git "$store_git" --out "$RESULTS_MD"
  echo "== $BENCH_WORK stays until the next run of $size" >&2
}

# make_tree SIZE: removes the last run's scratch dir of SIZE and makes its tree.
make_tree() {
  local size=$1 n dir=$work_base-$1
  n=$(files_in "$size")
  if [ -e "$dir" ]; then
    echo "== removing the last run's $dir" >&2
    rm -rf "$dir"
    REMOVED=1
  fi
  mkdir -p "$dir"
  echo "== $size: synthetic tree of $n files" >&2
  local t0
  t0=$(now_ns)
  /usr/bin/python3 "$here/corpus.py" synthetic "$n" "$dir/tree" >&2
  awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }' >"$dir/make-secs"
}

# need_room_beyond_trees: what the run makes besides the trees (made
# before it): about six more trees' worth (git's loose objects, three
# converge restores, git's clone), 7 inodes and 26 KB a file with the
# directories and some margin (the 1m run took ~30 GB and ~6.6M inodes).
need_room_beyond_trees() {
  local s files=0
  for s in "${sizes[@]}"; do
    files=$((files + $(files_in "$s")))
  done
  need_room "$(dirname "$work_base")" $((files * 26 / 1000000 + 1)) $((files * 7))
}

REMOVED=0
for s in "${sizes[@]}"; do make_tree "$s"; done
need_room_beyond_trees
sync  # the trees' own writes are not any step's
if [ "$REMOVED" = 1 ]; then
  echo "== waiting for the removed inodes to settle" >&2
  settle_deletes
fi
for s in "${sizes[@]}"; do run_size "$s"; done
