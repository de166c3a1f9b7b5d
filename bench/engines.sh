#!/usr/bin/env bash
# bench/engines.sh [small|large]: the server's two metadata engines side by
# side: publish and fetch of the same corpus through a `converge serve` on
# SQLite and one on PostgreSQL (`--db`), three runs each, the median written
# into bench/RESULTS.md between <!-- engines:begin --> and <!-- engines:end -->
# (see bench/README.md). Not part of the test suite.
#
# Environment: as bench/run.sh (BENCH_WORK, default /tmp/converge-engines-SIZE;
# CONVERGE_BIN; BENCH_MAX_LOAD; BENCH_MAX_WAIT; BENCH_RESULTS), plus
# BENCH_RUNS (default 3).
set -euo pipefail
size=${1:-small}
case $size in small | large) ;; *) echo "usage: bench/engines.sh [small|large]" >&2 && exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

[ -x /usr/bin/time ] || bench_deps
if [ -z "${CONVERGE_BIN:-}" ]; then
  (cd "$top" && scripts/deps.sh && scripts/build.sh build-release Release -DCONVERGE_TESTS=OFF)
  CONVERGE_BIN=$top/build-release/converge
fi
CVG=$CONVERGE_BIN
runs=${BENCH_RUNS:-3}
BENCH_WORK=${BENCH_WORK:-/tmp/converge-engines-$size}
RESULTS_MD=${BENCH_RESULTS:-$here/RESULTS.md}
rm -rf "$BENCH_WORK"
mkdir -p "$BENCH_WORK"
# One line per measurement: run, row, engine, seconds, server peak RSS (KiB),
# server CPU seconds, PostgreSQL CPU seconds (0 on SQLite), server seconds
# (the step's requests, summed from the access log).
TSV=$BENCH_WORK/engines.tsv
: >"$TSV"
tree=$BENCH_WORK/tree

# The throwaway cluster lives in a directory of its own (as root, its server
# runs as `postgres`, which must reach it: mode 0755).
pgdir=$(mktemp -d /tmp/converge-engines-pg.XXXXXX)
chmod 755 "$pgdir"
declare -A SERVER_PID=()
cleanup() {
  for pid in "${SERVER_PID[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  "$top/scripts/pg-cluster.sh" stop "$pgdir" || true
  rm -rf "$pgdir"
}
trap cleanup EXIT

export HOME=$BENCH_WORK/home XDG_CONFIG_HOME=$BENCH_WORK/home/.config
unset CONVERGE_TOKEN CONVERGE_URL CONVERGE_DB
mkdir -p "$HOME"

echo "== corpus ($size)" >&2
/usr/bin/python3 "$here/corpus.py" build "$size" "$tree" >&2
corpus_files=$(find "$tree" -type f | wc -l)
corpus_bytes=$(du -sb "$tree" | cut -f1)
"$CVG" init "$tree" >/dev/null

echo "== PostgreSQL cluster in $pgdir" >&2
pg_url=$("$top/scripts/pg-cluster.sh" start "$pgdir")
pg_version=$(psql "$pg_url" -tAc 'SHOW server_version')
postmaster=$(head -1 "$pgdir/data/postmaster.pid")

# CPU seconds (user + system) of the cluster: the postmaster, its reaped
# children and the live ones (the backends of the server's pooled connections).
pg_cpu() {
  local tck total=0 p
  tck=$(getconf CLK_TCK)
  for p in /proc/[0-9]*; do
    [ -r "$p/stat" ] || continue
    local s
    s=$(sed 's/.*) //' "$p/stat" 2>/dev/null) || continue
    # fields after the command: 1 state, 2 ppid, ... 12 utime, 13 stime, 14 cutime, 15 cstime
    set -- $s
    if [ "${p#/proc/}" = "$postmaster" ]; then
      total=$((total + ${12} + ${13} + ${14} + ${15}))
    elif [ "$2" = "$postmaster" ]; then
      total=$((total + ${12} + ${13}))
    fi
  done
  awk -v t="$total" -v h="$tck" 'BEGIN { printf "%.2f", t / h }'
}
proc_cpu() {  # proc_cpu PID: user + system CPU seconds of one process
  local s tck
  tck=$(getconf CLK_TCK)
  s=$(sed 's/.*) //' "/proc/$1/stat")
  set -- $s
  awk -v t="$((${12} + ${13}))" -v h="$tck" 'BEGIN { printf "%.2f", t / h }'
}

# serve ENGINE RUN: a fresh server (data dir, and for PostgreSQL a database
# of its own) on a free port; sets URL[ENGINE] and SERVER_PID[ENGINE].
declare -A URL=() SERVER_LOG=()
serve() {
  local engine=$1 run=$2 data=$BENCH_WORK/r$2-$1 port log
  port=$(free_port)
  log=$BENCH_WORK/serve-r$run-$engine.log
  local db=()
  if [ "$engine" = postgresql ]; then
    psql "$pg_url" -qc "CREATE DATABASE bench_r$run" >/dev/null
    db=(--db "${pg_url/\/converge_test\?//bench_r$run?}")
  fi
  # The access log (info) gives each request's time in the server.
  "$CVG" serve --listen "127.0.0.1:$port" --data-dir "$data" --log-level info "${db[@]}" \
    2>"$log" &
  SERVER_PID[$engine]=$!
  SERVER_LOG[$engine]=$log
  URL[$engine]=http://127.0.0.1:$port
  for _ in $(seq 100); do
    if grep -q "listening" "$log" 2>/dev/null; then
      "$CVG" login --url "${URL[$engine]}" <"$data/initial-admin-token" >/dev/null
      "$CVG" repo create "bench-r$run" --url "${URL[$engine]}" >/dev/null
      return 0
    fi
    sleep 0.1
  done
  echo "bench: converge serve ($engine) did not start:" >&2
  cat "$log" >&2
  exit 1
}
stop_servers() {
  for engine in "${!SERVER_PID[@]}"; do
    kill "${SERVER_PID[$engine]}" && wait "${SERVER_PID[$engine]}" || true
  done
  SERVER_PID=()
}

# step RUN ROW ENGINE CMD...: one timed step against ENGINE's server.
step() {
  local run=$1 row=$2 engine=$3 pid cpu0 pg0
  shift 3
  pid=${SERVER_PID[$engine]}
  local log=${SERVER_LOG[$engine]} lines
  lines=$(wc -l <"$log")
  server_rss_reset "$pid"
  cpu0=$(proc_cpu "$pid")
  pg0=$(pg_cpu)
  measure_cmd "$@"
  local rss cpu pg srv
  rss=$(server_rss_kib "$pid")
  cpu=$(awk -v a="$cpu0" -v b="$(proc_cpu "$pid")" 'BEGIN { printf "%.2f", b - a }')
  pg=$(awk -v a="$pg0" -v b="$(pg_cpu)" 'BEGIN { printf "%.2f", b - a }')
  [ "$engine" = postgresql ] || pg=0
  # Access lines end "... STATUS BYTES NNNms USER".
  srv=$(tail -n +$((lines + 1)) "$log" | awk '$3 == "access" {
      for (i = NF; i > 0; i--) if ($i ~ /^[0-9]+ms$/) { s += substr($i, 1, length($i) - 2); break } }
    END { printf "%.3f", s / 1000 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$row" "$engine" "$LAST_SECS" "$rss" "$cpu" \
    "$pg" "$srv" >>"$TSV"
  printf '  run %s  %-11s %s: %ss (server %ss), RSS %s KiB, CPU server %ss, PostgreSQL %ss\n' \
    "$run" "$engine" "$row" "$LAST_SECS" "$srv" "$rss" "$cpu" "$pg" >&2
}

# engines_in_order N: both engines, the first alternating with N.
engines_in_order() {
  if [ $(($1 % 2)) -eq 0 ]; then echo sqlite postgresql; else echo postgresql sqlite; fi
}

publish_to() {  # publish_to RUN ROW ENGINE
  "$CVG" -C "$tree" remote set --url "${URL[$3]}" --repo "bench-r$1" >/dev/null
  step "$1" "$2" "$3" "$CVG" -C "$tree" --json publish -m "$2"
  LAST_PUB[$3]=$(json_field "$BENCH_WORK/last.out" publication.id)
}

fetch_from() {  # fetch_from RUN ROW ENGINE: fetch + restore into a fresh dir
  local fresh=$BENCH_WORK/fresh-$3
  rm -rf "$fresh"
  step "$1" "$2" "$3" bash -c \
    "'$CVG' init '$fresh' >/dev/null && cd '$fresh' &&
     '$CVG' remote set --url '${URL[$3]}' --repo 'bench-r$1' >/dev/null &&
     '$CVG' fetch && '$CVG' restore '${LAST_PUB[$3]}'"
  if ! diff -r --no-dereference -x .converge "$tree" "$fresh" >"$BENCH_WORK/diff.txt"; then
    echo "bench: the tree restored from $3 differs from the original (see $BENCH_WORK/diff.txt)" >&2
    exit 1
  fi
}

declare -A LAST_PUB=()
loads=()
for run in $(seq "$runs"); do
  echo "== run $run of $runs: waiting for a quiet machine" >&2
  wait_for_quiet
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  serve sqlite "$run"
  serve postgresql "$run"
  "$CVG" -C "$tree" snap -m "run $run" >/dev/null
  for engine in $(engines_in_order "$run"); do publish_to "$run" "3a publish, first" "$engine"; done
  edited=$(/usr/bin/python3 "$here/corpus.py" edit "$tree" 1)
  echo "  ($edited files changed)" >&2
  "$CVG" -C "$tree" snap -m "run $run, 1%" >/dev/null
  for engine in $(engines_in_order $((run + 1))); do
    publish_to "$run" "3b publish, 1% changed" "$engine"
  done
  for engine in $(engines_in_order "$run"); do fetch_from "$run" "4 fetch + restore" "$engine"; done
  stop_servers
  # Deleted only now, all at once: on ext4 a burst of deletions makes the
  # next minute's file creations slower (the allocator skips the inodes just
  # freed), which would fall on the other engine's step.
  rm -rf "$BENCH_WORK/r$run-sqlite" "$BENCH_WORK/r$run-postgresql" "$BENCH_WORK"/fresh-*
  psql "$pg_url" -qc "DROP DATABASE bench_r$run" >/dev/null
  loads+=("run $run: $before -> $(cut -d' ' -f1-3 /proc/loadavg)")
done

load_text=$(printf '%s; ' "${loads[@]}")
commit=$(converge_label "$top")
/usr/bin/python3 "$here/engines_report.py" "$TSV" --size "$size" --files "$corpus_files" \
  --bytes "$corpus_bytes" --loads "${load_text%; }" --postgres "$pg_version" \
  --commit "$commit" \
  --out "$RESULTS_MD"
