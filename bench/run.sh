#!/usr/bin/env bash
# bench/run.sh [small|large]: converge and git, side by side, on the same
# corpus in the same run. Prints a table and writes bench/RESULTS.md (see
# bench/README.md). Not part of the test suite.
#
# Environment: BENCH_WORK (scratch dir, default /tmp/converge-bench-SIZE),
# CONVERGE_BIN (skip the build and use this binary), BENCH_MAX_LOAD (wait for
# the 1-minute load to drop below it first, default 1.5), BENCH_MAX_WAIT
# (seconds to wait for that, default 1800), BENCH_RESULTS (output file).
set -euo pipefail
size=${1:-small}
case $size in small | large) ;; *) echo "usage: bench/run.sh [small|large]" >&2 && exit 2 ;; esac
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
rm -rf "$BENCH_WORK"
mkdir -p "$BENCH_WORK"
RESULTS_TSV=$BENCH_WORK/results.tsv
: >"$RESULTS_TSV"
tree=$BENCH_WORK/tree

cleanup() {
  [ -n "${CVG_SERVER_PID:-}" ] && kill "$CVG_SERVER_PID" 2>/dev/null && wait "$CVG_SERVER_PID" 2>/dev/null
  [ -n "${GIT_SERVER_PID:-}" ] && kill "$GIT_SERVER_PID" 2>/dev/null && wait "$GIT_SERVER_PID" 2>/dev/null
  true
}
trap cleanup EXIT

bench_home "$BENCH_WORK"

echo "== corpus ($size)" >&2
/usr/bin/python3 "$here/corpus.py" build "$size" "$tree" >&2
corpus_files=$(find "$tree" -type f | wc -l)
corpus_bytes=$(du -sb "$tree" | cut -f1)

echo "== waiting for a quiet machine" >&2
wait_for_quiet
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== machine limits" >&2
/usr/bin/python3 "$here/limits.py" "$BENCH_WORK" | tee "$BENCH_WORK/limits.txt" >&2

echo "== servers" >&2
cvg_port=$(free_port)
git_port=$(free_port)
converge_start "$BENCH_WORK/converge-data" "$cvg_port"
cvg_url=http://127.0.0.1:$cvg_port
"$CVG" login --url "$cvg_url" <"$BENCH_WORK/converge-data/initial-admin-token" >/dev/null
"$CVG" repo create bench >/dev/null
mkdir -p "$BENCH_WORK/git-srv"
git init -q --bare "$BENCH_WORK/git-srv/bench.git"
git -C "$BENCH_WORK/git-srv/bench.git" config http.receivepack true
git_http_start "$BENCH_WORK/git-srv" "$git_port"
git_url=http://127.0.0.1:$git_port/git/bench.git

# Both tools work in the same tree: each ignores the other's metadata.
printf '/.git/\n' >"$tree/.convergeignore"
"$CVG" init "$tree" >/dev/null
"$CVG" -C "$tree" remote set --url "$cvg_url" --repo bench >/dev/null
git -C "$tree" init -q
printf '/.converge/\n' >>"$tree/.git/info/exclude"
git -C "$tree" remote add origin "$git_url"

cvg() { "$CVG" -C "$tree" "$@"; }
commit_all() { git -C "$tree" add -A && git -C "$tree" commit -q --allow-empty -m "$1"; }
export -f commit_all
export tree

publish_converge() {  # ROW: publish the newest snap, recording bytes sent
  STEP_USES_SERVER=1 STEP_BYTES=0 measure_converge "$1" "$CVG" -C "$tree" --json publish -m "$1"
  local bytes
  # Every byte the client sent for it (negotiation, headers and packs, as
  # they went over the wire); bytes_uploaded is the objects' own size.
  bytes=$(json_field "$BENCH_WORK/last.out" bytes_sent)
  sed -i '$ s/\t0$/\t'"$bytes"'/' "$RESULTS_TSV"
  LAST_PUBLICATION=$(json_field "$BENCH_WORK/last.out" publication.id)
}
push_git() {  # ROW: git push, recording the receive-pack request bytes
  local before
  before=$(access_lines)
  STEP_USES_SERVER=1 measure_git "$1" git -C "$tree" push -q origin main
  local bytes
  bytes=$(git_bytes_sent_since "$before")
  sed -i '$ s/\t0$/\t'"$bytes"'/' "$RESULTS_TSV"
}

echo "== 1. cold snapshot" >&2
measure_converge "1 cold snap" "$CVG" -C "$tree" snap -m cold
measure_git "1 cold snap" bash -c 'commit_all cold'

echo "== 3a. first publish" >&2
publish_converge "3a publish, first"
push_git "3a publish, first"

echo "== 2a. re-snap, nothing changed" >&2
measure_converge "2a re-snap, unchanged" "$CVG" -C "$tree" snap -m same
measure_git "2a re-snap, unchanged" bash -c 'commit_all same'

echo "== 2b. re-snap after changing 1% of the files" >&2
edited=$(/usr/bin/python3 "$here/corpus.py" edit "$tree" 1)
echo "  ($edited files changed)" >&2
measure_converge "2b re-snap, 1% changed" "$CVG" -C "$tree" snap -m one-percent
measure_git "2b re-snap, 1% changed" bash -c 'commit_all one-percent'

echo "== 3b. publish after the 1% change" >&2
publish_converge "3b publish, 1% changed"
push_git "3b publish, 1% changed"

echo "== 4. fetch + restore into a fresh directory" >&2
fresh_cvg=$BENCH_WORK/fresh-converge
fresh_git=$BENCH_WORK/fresh-git
STEP_USES_SERVER=1 measure_converge "4 fetch + restore" bash -c \
  "'$CVG' init '$fresh_cvg' >/dev/null && cd '$fresh_cvg' &&
   '$CVG' remote set --url '$cvg_url' --repo bench >/dev/null &&
   '$CVG' fetch && '$CVG' restore '$LAST_PUBLICATION'"
STEP_USES_SERVER=1 measure_git "4 fetch + restore" git clone -q "$git_url" "$fresh_git"
if ! diff -r --no-dereference -x .git -x .converge "$fresh_cvg" "$fresh_git" >"$BENCH_WORK/diff.txt"; then
  echo "bench: the two fresh trees differ (see $BENCH_WORK/diff.txt)" >&2
  exit 1
fi
rm -rf "$fresh_cvg" "$fresh_git"

binary=$tree/assets/blob-200m.bin
if [ ! -f "$binary" ]; then
  echo "== 5. (small corpus) add a 200 MiB binary first" >&2
  /usr/bin/python3 "$here/corpus.py" binary "$binary" 200 3
  measure_converge "5a add 200 MiB binary: snap" "$CVG" -C "$tree" snap -m binary
  measure_git "5a add 200 MiB binary: snap" bash -c 'commit_all binary'
  publish_converge "5b add 200 MiB binary: publish"
  push_git "5b add 200 MiB binary: publish"
fi
echo "== 5. one byte changed in the middle of the 200 MiB binary" >&2
/usr/bin/python3 "$here/corpus.py" flip "$binary"
measure_converge "5c 1-byte change in binary: snap" "$CVG" -C "$tree" snap -m flip
measure_git "5c 1-byte change in binary: snap" bash -c 'commit_all flip'
publish_converge "5d 1-byte change in binary: publish"
push_git "5d 1-byte change in binary: publish"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 "$here/report.py" "$RESULTS_TSV" "$BENCH_WORK/limits.txt" \
  --size "$size" --files "$corpus_files" --bytes "$corpus_bytes" \
  --load-before "$load_before" --load-after "$load_after" \
  --commit "$(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet -- src || echo ' (with uncommitted changes in src/)')" \
  --out "$RESULTS_MD"
