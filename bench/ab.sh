#!/usr/bin/env bash
# bench/ab.sh OLD_BIN NEW_BIN [small|large] [ROUNDS]: two converge builds and
# git, side by side on one corpus, for the rows a store change moves: 1 cold
# snap, 3a first publish, 4 fetch + restore. Each round starts every tool
# from nothing (a fresh workspace or repository, a fresh server); the order
# of the three rotates from round to round (cold dentries cost the first);
# every timed step starts with a `sync` (lib.sh). Prints the median of ROUNDS
# (default 3) per row and tool, and each run, to stdout; writes nothing into
# the repository. Not part of the test suite; bench/run.sh is the full bench.
#
# Environment: BENCH_WORK (scratch dir, default /tmp/converge-ab-SIZE),
# BENCH_MAX_LOAD, BENCH_MAX_WAIT (as bench/run.sh).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_BIN NEW_BIN [small|large] [ROUNDS]" >&2 && exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2") size=${3:-small} rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
bench_deps
BENCH_WORK=${BENCH_WORK:-/tmp/converge-ab-$size}
rm -rf "$BENCH_WORK"
mkdir -p "$BENCH_WORK"
RESULTS_TSV=$BENCH_WORK/results.tsv
: >"$RESULTS_TSV"
tree=$BENCH_WORK/tree
export HOME=$BENCH_WORK/home XDG_CONFIG_HOME=$BENCH_WORK/home/.config
unset CONVERGE_TOKEN CONVERGE_URL
mkdir -p "$HOME"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
git config --global init.defaultBranch main
git config --global gc.auto 0

cleanup() {
  [ -n "${CVG_SERVER_PID:-}" ] && kill "$CVG_SERVER_PID" 2>/dev/null && wait "$CVG_SERVER_PID" 2>/dev/null
  [ -n "${GIT_SERVER_PID:-}" ] && kill "$GIT_SERVER_PID" 2>/dev/null && wait "$GIT_SERVER_PID" 2>/dev/null
  true
}
trap cleanup EXIT

echo "== corpus ($size)" >&2
/usr/bin/python3 "$here/corpus.py" build "$size" "$tree" >&2
printf '/.git/\n' >"$tree/.convergeignore"
git_port=$(free_port)
mkdir -p "$BENCH_WORK/git-srv"
git_http_start "$BENCH_WORK/git-srv" "$git_port"
echo "== waiting for a quiet machine" >&2
wait_for_quiet
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

run_converge() {  # TOOL BIN ROUND
  local tool=$1 round=$3
  CVG=$2
  local data=$BENCH_WORK/data-$tool-$round fresh=$BENCH_WORK/fresh-$tool port
  rm -rf "$tree/.converge" "$fresh"
  port=$(free_port)
  converge_start "$data" "$port"
  "$CVG" login --url "http://127.0.0.1:$port" <"$data/initial-admin-token" >/dev/null
  "$CVG" repo create bench >/dev/null
  "$CVG" init "$tree" >/dev/null
  "$CVG" -C "$tree" remote set --url "http://127.0.0.1:$port" --repo bench >/dev/null
  measure_cmd "$CVG" -C "$tree" snap -m cold
  record "1 cold snap" "$tool" "$LAST_SECS" "$LAST_RSS" 0 0
  measure_cmd "$CVG" -C "$tree" --json publish -m first
  record "3a publish, first" "$tool" "$LAST_SECS" "$LAST_RSS" 0 \
    "$(json_field "$BENCH_WORK/last.out" bytes_uploaded)"
  local pub
  pub=$(json_field "$BENCH_WORK/last.out" publication.id)
  measure_cmd bash -c "'$CVG' init '$fresh' >/dev/null && cd '$fresh' &&
    '$CVG' remote set --url 'http://127.0.0.1:$port' --repo bench >/dev/null &&
    '$CVG' fetch >/dev/null && '$CVG' restore '$pub'"
  record "4 fetch + restore" "$tool" "$LAST_SECS" "$LAST_RSS" 0 0
  { du -sb "$data/objects" "$data/packs" 2>/dev/null || true; } |
    awk -v t="$tool" '{ s += $1 } END { print t " server store bytes: " s }'
  kill "$CVG_SERVER_PID" && wait "$CVG_SERVER_PID" 2>/dev/null || true
  CVG_SERVER_PID=
  rm -rf "$tree/.converge" "$fresh" "$data"
}

run_git() {  # ROUND
  local bare=$BENCH_WORK/git-srv/bench.git fresh=$BENCH_WORK/fresh-git
  rm -rf "$tree/.git" "$bare" "$fresh"
  git init -q --bare "$bare"
  git -C "$bare" config http.receivepack true
  git -C "$tree" init -q
  printf '/.converge/\n' >>"$tree/.git/info/exclude"
  git -C "$tree" remote add origin "http://127.0.0.1:$git_port/git/bench.git"
  measure_cmd bash -c "git -C '$tree' add -A && git -C '$tree' commit -q -m cold"
  record "1 cold snap" git "$LAST_SECS" "$LAST_RSS" 0 0
  local before
  before=$(access_lines)
  measure_cmd git -C "$tree" push -q origin main
  record "3a publish, first" git "$LAST_SECS" "$LAST_RSS" 0 "$(git_bytes_sent_since "$before")"
  measure_cmd git clone -q "http://127.0.0.1:$git_port/git/bench.git" "$fresh"
  record "4 fetch + restore" git "$LAST_SECS" "$LAST_RSS" 0 0
  rm -rf "$tree/.git" "$bare" "$fresh"
}

tools=(old new git)
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    t=${tools[$(((r + k) % 3))]}
    echo "== round $r: $t" >&2
    case $t in
      old) run_converge old "$OLD" "$r" ;;
      new) run_converge new "$NEW" "$r" ;;
      git) run_git "$r" ;;
    esac
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$RESULTS_TSV" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    row, tool, secs, rss, _srv, sent = line.rstrip("\n").split("\t")
    runs.setdefault(row, {}).setdefault(tool, []).append((float(secs), int(rss), int(sent)))
print("| step | old | new | git | new/old | new/git | runs old / new / git (s) | client RSS MiB old / new | bytes sent old / new / git |")
print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
for row, by in runs.items():
    med = {t: statistics.median(s for s, _, _ in by.get(t, [(0, 0, 0)])) for t in ("old", "new", "git")}
    rss = {t: max(m for _, m, _ in by.get(t, [(0, 0, 0)])) // 1024 for t in ("old", "new")}
    sent = {t: statistics.median(b for _, _, b in by.get(t, [(0, 0, 0)])) for t in ("old", "new", "git")}
    each = " / ".join(",".join(f"{s:.2f}" for s, _, _ in by.get(t, [])) for t in ("old", "new", "git"))
    sent_txt = "" if not any(sent.values()) else " / ".join(f"{sent[t] / 2**20:.1f} MiB" for t in ("old", "new", "git"))
    print(f"| {row} | {med['old']:.3f} s | {med['new']:.3f} s | {med['git']:.3f} s | "
          f"{med['new'] / med['old']:.2f} | {med['new'] / med['git']:.2f} | {each} | "
          f"{rss['old']} / {rss['new']} | {sent_txt} |")
EOF
