#!/usr/bin/env bash
# bench/ab.sh OLD_BIN NEW_BIN [small|large] [ROUNDS]: two converge builds and
# git, side by side on one corpus, for the rows a store or transfer change
# moves: 1 cold snap, 3a first publish, 3b publish after a 1% change, 4 fetch
# + restore. Each round starts every tool from nothing (a fresh workspace or
# repository, a fresh server); the order of the three rotates from round to
# round (cold dentries cost the first); every timed step starts with a `sync`
# (lib.sh). After the timed rounds, one more round per tool, untimed, sends
# the publishes through bench/count_proxy.py, which counts every byte the
# client sends (request lines, headers and bodies, for converge and git
# alike). Prints the median of ROUNDS (default 3) per row and tool, each run,
# and the bytes, to stdout; writes nothing into the repository. Not part of
# the test suite; bench/run.sh is the full bench.
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
[ -e "$BENCH_WORK" ] && rm -rf "$BENCH_WORK" && settle_deletes
mkdir -p "$BENCH_WORK"
RESULTS_TSV=$BENCH_WORK/results.tsv
: >"$RESULTS_TSV"
tree=$BENCH_WORK/tree
bench_home "$BENCH_WORK"

cleanup() {
  converge_stop
  [ -n "${GIT_SERVER_PID:-}" ] && kill "$GIT_SERVER_PID" 2>/dev/null && wait "$GIT_SERVER_PID" 2>/dev/null
  [ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
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

# The bytes clients sent through the count proxy so far, once no connection
# is open any more.
proxy_sent() {
  local total open
  for _ in $(seq 100); do
    read -r total open <"$BENCH_WORK/proxy.count"
    [ "$open" = 0 ] && break
    sleep 0.05
  done
  echo "$total"
}

proxy_start() {  # TARGET_PORT
  rm -f "$BENCH_WORK/proxy.port" "$BENCH_WORK/proxy.count"
  /usr/bin/python3 "$here/count_proxy.py" "$1" "$BENCH_WORK/proxy.port" \
    "$BENCH_WORK/proxy.count" &
  PROXY_PID=$!
  for _ in $(seq 100); do
    [ -s "$BENCH_WORK/proxy.port" ] && break
    sleep 0.05
  done
  PROXY_PORT=$(cat "$BENCH_WORK/proxy.port")
}

proxy_stop() {
  kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=
}

# A step of MODE: "time" measures and records it; "bytes" runs it and records
# the bytes the client sent through the proxy.
step() {  # MODE ROW TOOL CMD...
  local mode=$1 row=$2 tool=$3
  shift 3
  if [ "$mode" = time ]; then
    measure_cmd "$@"
    record "$row" "$tool" "$LAST_SECS" "$LAST_RSS" 0 0
  else
    local before
    before=$(proxy_sent)
    "$@" >"$BENCH_WORK/last.out" 2>"$BENCH_WORK/last.err" ||
      { echo "bench: command failed: $*" >&2 && tail -20 "$BENCH_WORK/last.err" >&2 && exit 1; }
    record "$row" "$tool-bytes" 0 0 0 $(($(proxy_sent) - before))
  fi
}

run_converge() {  # TOOL BIN ROUND MODE
  local tool=$1 round=$3 mode=$4
  CVG=$2
  local data=$BENCH_WORK/data-$tool-$round fresh=$BENCH_WORK/fresh-$tool url
  rm -rf "$fresh"
  converge_fresh "$data" "$tree"
  url=$CVG_URL
  if [ "$mode" = bytes ]; then
    proxy_start "$CVG_PORT"
    url=http://127.0.0.1:$PROXY_PORT
    "$CVG" login --url "$url" <"$data/initial-admin-token" >/dev/null
    "$CVG" -C "$tree" remote set --url "$url" --repo bench >/dev/null
  fi
  if [ "$mode" = time ]; then
    step time "1 cold snap" "$tool" "$CVG" -C "$tree" snap -m cold
  else
    "$CVG" -C "$tree" snap -m cold >/dev/null
  fi
  step "$mode" "3a publish, first" "$tool" "$CVG" -C "$tree" --json publish -m first
  local pub
  pub=$(json_field "$BENCH_WORK/last.out" publication.id)
  /usr/bin/python3 "$here/corpus.py" edit "$tree" 1 >/dev/null
  "$CVG" -C "$tree" snap -m edit >/dev/null
  step "$mode" "3b publish, 1% changed" "$tool" "$CVG" -C "$tree" --json publish -m edit
  /usr/bin/python3 "$here/corpus.py" unedit "$tree" 1 >/dev/null
  if [ "$mode" = time ]; then
    step time "4 fetch + restore" "$tool" bash -c "'$CVG' init '$fresh' >/dev/null && cd '$fresh' &&
      '$CVG' remote set --url '$CVG_URL' --repo bench >/dev/null &&
      '$CVG' fetch >/dev/null && '$CVG' restore '$pub'"
    { du -sb "$data/objects" "$data/packs" 2>/dev/null || true; } |
      awk -v t="$tool" '{ s += $1 } END { print t " server store bytes: " s }'
  else
    proxy_stop
  fi
  converge_stop
  bury "$tree/.converge" "$fresh" "$data"
}

run_git() {  # ROUND MODE
  local mode=$2 bare=$BENCH_WORK/git-srv/bench.git fresh=$BENCH_WORK/fresh-git port=$git_port
  rm -rf "$fresh"
  if [ "$mode" = bytes ]; then
    proxy_start "$git_port"
    port=$PROXY_PORT
  fi
  git_fresh "$bare" "$tree" "http://127.0.0.1:$port/git/bench.git"
  if [ "$mode" = time ]; then
    step time "1 cold snap" git bash -c "git -C '$tree' add -A && git -C '$tree' commit -q -m cold"
  else
    git -C "$tree" add -A && git -C "$tree" commit -q -m cold
  fi
  step "$mode" "3a publish, first" git git -C "$tree" push -q origin main
  /usr/bin/python3 "$here/corpus.py" edit "$tree" 1 >/dev/null
  git -C "$tree" add -A && git -C "$tree" commit -q -m edit
  step "$mode" "3b publish, 1% changed" git git -C "$tree" push -q origin main
  /usr/bin/python3 "$here/corpus.py" unedit "$tree" 1 >/dev/null
  if [ "$mode" = time ]; then
    step time "4 fetch + restore" git git clone -q "http://127.0.0.1:$git_port/git/bench.git" "$fresh"
  else
    proxy_stop
  fi
  bury "$tree/.git" "$bare" "$fresh"
}

for ((r = 0; r <= rounds; r++)); do
  mode="time"
  [ "$r" = "$rounds" ] && mode=bytes  # the last round counts bytes, untimed
  for t in $(round_order "$r" old new git); do
    echo "== round $r ($mode): $t" >&2
    case $t in
      old) run_converge old "$OLD" "$r" "$mode" ;;
      new) run_converge new "$NEW" "$r" "$mode" ;;
      git) run_git "$r" "$mode" ;;
    esac
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$RESULTS_TSV" <<'EOF'
import statistics, sys
runs, sent = {}, {}
for line in open(sys.argv[1]):
    row, tool, secs, rss, _srv, nbytes = line.rstrip("\n").split("\t")
    if tool.endswith("-bytes"):
        sent.setdefault(row, {})[tool[:-6]] = int(nbytes)
    else:
        runs.setdefault(row, {}).setdefault(tool, []).append((float(secs), int(rss)))
def size(n):
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"
print("| step | old | new | git | new/old | new/git | runs old / new / git (s) | client RSS MiB old / new | bytes sent old / new / git | new/git bytes |")
print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
for row, by in runs.items():
    med = {t: statistics.median(s for s, _ in by.get(t, [(0, 0)])) for t in ("old", "new", "git")}
    rss = {t: max(m for _, m in by.get(t, [(0, 0)])) // 1024 for t in ("old", "new")}
    each = " / ".join(",".join(f"{s:.2f}" for s, _ in by.get(t, [])) for t in ("old", "new", "git"))
    b = sent.get(row, {})
    sent_txt = " / ".join(size(b.get(t, 0)) for t in ("old", "new", "git")) if b else ""
    ratio = f"{b['new'] / b['git']:.2f}" if b.get("git") else ""
    print(f"| {row} | {med['old']:.3f} s | {med['new']:.3f} s | {med['git']:.3f} s | "
          f"{med['new'] / med['old']:.2f} | {med['new'] / med['git']:.2f} | {each} | "
          f"{rss['old']} / {rss['new']} | {sent_txt} | {ratio} |")
EOF
