# Helpers for bench/run.sh (sourced). Every measurement appends one line to
# $RESULTS_TSV: row, tool, seconds, client peak RSS (KiB), server peak RSS
# (KiB, 0 when no server took part), bytes sent (0 when not measured).

# Installs what the benchmark needs and the tests do not: GNU time (peak RSS)
# and lighttpd (a CGI-capable server for git http-backend).
bench_deps() {
  local missing=()
  [ -x /usr/bin/time ] || missing+=(time)
  command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || missing+=(lighttpd)
  command -v git >/dev/null || missing+=(git)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bench: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
    { $sudo apt-get update -q && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
}

# bench_home DIR: the tools get a home of their own under DIR: no user
# config, no stored logins, no token, URL or database from the caller's
# environment; git commits as "bench" and never repacks in the background in
# the middle of a timing.
bench_home() {
  export HOME=$1/home XDG_CONFIG_HOME=$1/home/.config
  unset CONVERGE_TOKEN CONVERGE_URL CONVERGE_DB
  mkdir -p "$HOME"
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
  export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
  git config --global init.defaultBranch main
  git config --global gc.auto 0
}

now_ns() { date +%s%N; }

# Waits (up to BENCH_MAX_WAIT seconds, default 1800) for the 1-minute load
# average to drop below BENCH_MAX_LOAD (default 1.5): others share the machine.
wait_for_quiet() {
  local max=${BENCH_MAX_LOAD:-1.5} waited=0 limit=${BENCH_MAX_WAIT:-1800}
  while :; do
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$max" 'BEGIN { exit !(l < m) }'; then break; fi
    if [ "$waited" -ge "$limit" ]; then
      echo "bench: load is still $load after ${waited}s; measuring anyway (recorded)" >&2
      break
    fi
    [ $((waited % 60)) -eq 0 ] && echo "bench: load $load, waiting for it to drop below $max" >&2
    sleep 10
    waited=$((waited + 10))
  done
}

# Peak RSS of a running server, reset before a step and read after it.
server_rss_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
server_rss_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# measure ROW TOOL CMD...: runs CMD under /usr/bin/time, records wall time and
# peak RSS; the server side is read by the caller (see measure_converge/git).
# CMD's stdout is kept in $BENCH_WORK/last.out.
measure_cmd() {
  local t0 t1
  # Writes still dirty from the step before (the other tool's) would be
  # flushed inside this one: converge's server makes a pack durable with
  # syncfs(2), which writes back every dirty page of the filesystem.
  sync
  t0=$(now_ns)
  if ! /usr/bin/time -f "%M" -o "$BENCH_WORK/time.out" "$@" >"$BENCH_WORK/last.out" \
    2>"$BENCH_WORK/last.err"; then
    echo "bench: command failed: $*" >&2
    tail -20 "$BENCH_WORK/last.err" >&2
    exit 1
  fi
  t1=$(now_ns)
  LAST_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  LAST_RSS=$(tail -1 "$BENCH_WORK/time.out")
}

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS_TSV"; }

# measure_converge ROW CMD...: a converge step; the server's peak RSS too.
measure_converge() {
  local row=$1
  shift
  server_rss_reset "$CVG_SERVER_PID"
  measure_cmd "$@"
  local srv
  srv=$(server_rss_kib "$CVG_SERVER_PID")
  [ "${STEP_USES_SERVER:-0}" = 1 ] || srv=0
  record "$row" converge "$LAST_SECS" "$LAST_RSS" "$srv" "${STEP_BYTES:-0}"
  echo "  converge  $row: ${LAST_SECS}s, client ${LAST_RSS} KiB, server ${srv} KiB" >&2
}

# measure_git ROW CMD...: a git step; the server side is every git
# http-backend CGI run during it (each under /usr/bin/time, see git_http_start).
measure_git() {
  local row=$1
  shift
  : >"$GIT_CGI_LOG"
  measure_cmd "$@"
  local srv=0
  if [ "${STEP_USES_SERVER:-0}" = 1 ]; then
    srv=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$GIT_CGI_LOG")
  fi
  record "$row" git "$LAST_SECS" "$LAST_RSS" "$srv" "${STEP_BYTES:-0}"
  echo "  git       $row: ${LAST_SECS}s, client ${LAST_RSS} KiB, server ${srv} KiB" >&2
}

# Starts lighttpd serving git smart HTTP (git http-backend as CGI) for the
# bare repos under $1 on 127.0.0.1:$2. Each CGI run is wrapped in
# /usr/bin/time so its peak RSS (with its children: receive-pack, index-pack,
# upload-pack, pack-objects) lands in $GIT_CGI_LOG.
git_http_start() {
  local root=$1 port=$2 dir=$BENCH_WORK/lighttpd
  mkdir -p "$dir/www"
  GIT_CGI_LOG=$dir/cgi-rss.log
  GIT_ACCESS_LOG=$dir/access.log
  GIT_BODY_LOG=$dir/bodies.log
  : >"$GIT_CGI_LOG"
  : >"$GIT_BODY_LOG"
  cat >"$dir/git-cgi.sh" <<EOF
#!/bin/sh
echo "\$REQUEST_METHOD \$PATH_INFO \${CONTENT_LENGTH:-0}" >>"$GIT_BODY_LOG"
exec /usr/bin/time -f "%e %M" -a -o "$GIT_CGI_LOG" /usr/lib/git-core/git-http-backend
EOF
  chmod +x "$dir/git-cgi.sh"
  # Responses stream through. Request bodies are spooled to a temp file
  # first: git sends large pushes chunked, and lighttpd answers 411 to a
  # chunked body it would stream to a CGI (which needs CONTENT_LENGTH).
  cat >"$dir/lighttpd.conf" <<EOF
server.modules = ("mod_alias", "mod_cgi", "mod_setenv", "mod_accesslog")
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$dir/error.log"
server.stream-request-body = 0
server.upload-dirs = ("$dir")
server.stream-response-body = 2
accesslog.filename = "$GIT_ACCESS_LOG"
accesslog.format = "%r %>s %I %O"
alias.url = ("/git" => "$dir/git-cgi.sh")
\$HTTP["url"] =~ "^/git" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$root", "GIT_HTTP_EXPORT_ALL" => "1")
}
EOF
  lighttpd -D -f "$dir/lighttpd.conf" 2>"$dir/stderr.log" &
  GIT_SERVER_PID=$!
  for _ in $(seq 50); do
    grep -q "server started" "$dir/error.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: lighttpd did not start:" >&2
  cat "$dir/stderr.log" "$dir/error.log" >&2
  exit 1
}

# Request body bytes the git client sent to receive-pack since the body log
# had $1 lines (the CGI wrapper logs CONTENT_LENGTH: lighttpd spools the body
# and always sets it).
git_bytes_sent_since() {
  tail -n +"$(($1 + 1))" "$GIT_BODY_LOG" |
    awk '$1 == "POST" && $2 ~ /git-receive-pack/ { s += $3 } END { print s + 0 }'
}

access_lines() { wc -l <"$GIT_BODY_LOG"; }

# converge serve on 127.0.0.1:$2 with data dir $1.
converge_start() {
  local data=$1 port=$2
  # Emptied here, not by the background redirection below: that may run after
  # the wait loop has already seen the last server's "listening".
  : >"$BENCH_WORK/converge-serve.log"
  "$CVG" serve --listen "127.0.0.1:$port" --data-dir "$data" --log-level warn \
    2>"$BENCH_WORK/converge-serve.log" &
  CVG_SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "listening" "$BENCH_WORK/converge-serve.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: converge serve did not start:" >&2
  cat "$BENCH_WORK/converge-serve.log" >&2
  exit 1
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

json_field() {  # json_field FILE KEY.KEY...: one value from a JSON document
  /usr/bin/python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$1" "$2"
}
