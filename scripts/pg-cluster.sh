#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (scripts/test.sh).
#   scripts/pg-cluster.sh start DIR   initdb into DIR/data, start it listening only
#                                     on a Unix socket in DIR/sock (no TCP port to
#                                     collide with), create the database
#                                     `converge_test`, print its libpq URI on stdout
#   scripts/pg-cluster.sh stop DIR    stop it (fast); harmless when it is not running
# DIR must be empty or missing, and (as root) its parents reachable by `postgres`. PostgreSQL refuses to run as root, so as root the
# server runs as the `postgres` user the Debian package makes (DIR is made
# reachable by it); as anyone else it runs as you. Authentication is `trust`:
# only whoever can reach DIR/sock can connect.
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ -x "$bin/pg_ctl" ] || { echo "pg-cluster: no $bin/pg_ctl: run scripts/deps.sh (package postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    mkdir -p "$dir/data" "$dir/sock"
    if [ "$(id -u)" -eq 0 ]; then
      chmod 0755 "$dir"
      chown postgres: "$dir/data" "$dir/sock"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; echo "pg-cluster: initdb failed" >&2; exit 1; }
    # fsync off: a test cluster is thrown away, and syncing costs more than the tests.
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-c listen_addresses='' -k $dir/sock -p 5432 -c fsync=off -c max_connections=200" \
        start >/dev/null; then
      cat "$dir/data/server.log" >&2 || true
      echo "pg-cluster: the server did not start (log above)" >&2
      exit 1
    fi
    "$bin/psql" -h "$dir/sock" -p 5432 -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE converge_test" >/dev/null
    echo "postgresql://postgres@/converge_test?host=$dir/sock&port=5432"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
