#!/usr/bin/env bash
# bench/server_db.sh BIN LABEL: publish and fetch + restore of a corpus (CORPUS,
# default /tmp/binids-100k: `python3 bench/corpus.py synthetic 100000 DIR`) on a
# fresh SQLite server: wall times, peak RSS of the client, the server's VmHWM,
# RssAnon and RssFile, and the server database's size per object. Works in
# /tmp/converge-server-db-LABEL (removed at the end). Not part of the test suite; quoted
# in bench/RESULTS.md, "Binary object IDs in the server schema". With PG_URL
# (a PostgreSQL URL with a query part, e.g. scripts/pg-cluster.sh's), the
# server runs with --db on a fresh schema there, and the sizes are
# PostgreSQL's (pg_total_relation_size of the two object tables).
set -euo pipefail
BIN=$1 label=$2 corpus=${CORPUS:-/tmp/binids-100k}
W=/tmp/converge-server-db-$label
rm -rf "$W"; mkdir -p "$W"
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config
mkdir -p "$HOME"
unset CONVERGE_TOKEN CONVERGE_URL CONVERGE_DB
tree=$W/tree
cp -a "$corpus" "$tree"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dbargs=()
if [ -n "${PG_URL:-}" ]; then
  schema=bench_${label}_$$
  psql "$PG_URL" -qc "CREATE SCHEMA $schema"
  dburl="$PG_URL&options=-csearch_path%3D$schema"
  dbargs=(--db "$dburl")
fi
start() {
  : >"$W/serve.log"
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$W/data" "${dbargs[@]}" --log-level warn \
    2>"$W/serve.log" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$W/serve.log" && return 0; sleep 0.1; done
  cat "$W/serve.log"; exit 1
}
hwm() {
  awk '/^VmHWM|^RssFile|^RssAnon/ { printf "%s %s ", $1, $2 }' /proc/$pid/status
  awk -v hz="$(getconf CLK_TCK)" '{ printf "cpu %.2f s", ($14 + $15) / hz }' /proc/$pid/stat
}
start
"$BIN" login --url "http://127.0.0.1:$port" <"$W/data/initial-admin-token" >/dev/null
"$BIN" repo create bench >/dev/null
"$BIN" init "$tree" >/dev/null
"$BIN" -C "$tree" remote set --url "http://127.0.0.1:$port" --repo bench >/dev/null
"$BIN" -C "$tree" snap -m cold >/dev/null
echo 5 >/proc/$pid/clear_refs
sync
t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$W/time.out" "$BIN" -C "$tree" --json publish -m first >"$W/pub.json"
t1=$(date +%s.%N)
echo "$label publish: $(echo "$t1 - $t0" | bc) s client $(cat "$W/time.out") KiB server $(hwm)"
pub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["publication"]["id"])' "$W/pub.json")
kill $pid; wait $pid || true
if [ -n "${PG_URL:-}" ]; then
  psql "$dburl" -Atc "SELECT COUNT(*), pg_total_relation_size('objects'),
    pg_total_relation_size('repo_objects') FROM objects" | awk -F'|' '{
    printf "postgres: %d objects; objects %d B, repo_objects %d B: %.1f B per object\n",
      $1, $2, $3, ($2 + $3) / $1 }'
else
python3 - "$W/data/converge.db" <<'PY'
import sqlite3, sys, os
p = sys.argv[1]
c = sqlite3.connect(p)
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
n = c.execute("SELECT COUNT(*) FROM objects").fetchone()[0]
links = c.execute("SELECT COUNT(*) FROM repo_objects").fetchone()[0]
pages = {}
try:
    for name, size in c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
        pages[name] = size
except Exception as e:
    pages = {"dbstat": str(e)}
c.close()
size = os.path.getsize(p)
print(f"db {size} bytes, {n} objects, {links} links, {size / n:.1f} B/object; tables {pages}")
PY
fi
start
echo 5 >/proc/$pid/clear_refs
fresh=$W/fresh
sync
t0=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$W/time.out" bash -c "'$BIN' init '$fresh' >/dev/null && cd '$fresh' &&
  '$BIN' remote set --url 'http://127.0.0.1:$port' --repo bench >/dev/null && '$BIN' fetch >/dev/null && '$BIN' restore '$pub' >/dev/null"
t1=$(date +%s.%N)
echo "$label fetch+restore: $(echo "$t1 - $t0" | bc) s client $(cat "$W/time.out") KiB server $(hwm)"
kill $pid; wait $pid || true
[ -n "${PG_URL:-}" ] && psql "$PG_URL" -qc "DROP SCHEMA $schema CASCADE"
rm -rf "$W"
