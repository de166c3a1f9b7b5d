# Helpers for the bench scripts (sourced). run.sh and ab.sh append one line
# per measurement to $RESULTS_TSV (record): row, tool, seconds, client peak
# RSS (KiB), server peak RSS (KiB, 0 when no server took part), bytes sent (0
# when not measured), and for run.sh the round.

bench_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Installs what the benchmark needs and the tests do not: GNU time (the peak
# RSS of git's server side, see git_http_start) and lighttpd (a CGI-capable
# server for git http-backend).
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

# settle_deletes: after removing many files, waits until the filesystem hands
# their inodes out again. ext4 without a journal (this machine's /tmp, mounted
# with discard) will not reuse an inode freed less than 60 s ago, or 360 s
# while its inode table block is dirty, which creating files next to it makes
# it, and scans past each such inode on every create: a step that makes
# thousands of files within minutes of a big rm ran several times slower
# (restoring the small corpus: 0.19 s settled, 0.4-1.6 s after an rm).
# BENCH_SETTLE (seconds, default 361). Within a run nothing is removed: see
# bury.
settle_deletes() {
  sync
  sleep "${BENCH_SETTLE:-361}"
}

# need_room DIR GB INODES: exits unless DIR's filesystem has GB gigabytes and
# INODES inodes free. A disk that fills midway fails the run and everything
# else writing there, and ext4 searches longer for a free inode as they run
# out (with 4 % free a 1m restore spent 182 s in the kernel, 47-78 s on a
# less full disk). df's size is no guide on a thinly provisioned disk (this
# machine's says 252 GB and holds ~97): what counts is what is free.
need_room() {
  local dir=$1 gb=$2 inodes=$3 free_gb free_inodes
  free_gb=$(($(df --output=avail -k "$dir" | tail -1) / 1024 / 1024))
  free_inodes=$(df --output=iavail "$dir" | tail -1 | tr -d ' ')
  if [ "$free_gb" -lt "$gb" ] || [ "$free_inodes" -lt "$inodes" ]; then
    echo "bench: $dir has $free_gb GB and $free_inodes inodes free; this run needs about" \
      "$gb GB and $inodes inodes: remove old scratch (other BENCH_WORK dirs," \
      "/tmp/converge-million-*) and run again" >&2
    exit 1
  fi
  echo "== $free_gb GB and $free_inodes inodes free (about $gb GB and $inodes needed)" >&2
}

# bury PATH...: moves each PATH (under $BENCH_WORK) into $BENCH_WORK/buried
# instead of removing it, so that no step of the run meets freshly freed
# inodes (settle_deletes); the next run's start removes the lot.
bury() {
  local p
  mkdir -p "$BENCH_WORK/buried"
  for p in "$@"; do
    [ -e "$p" ] || continue
    BURIED=$((${BURIED:-0} + 1))
    mv "$p" "$BENCH_WORK/buried/$BURIED"
  done
}

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

# measure_cmd CMD...: runs CMD under bench/timed.c (compiled into
# $BENCH_WORK on first use), setting LAST_SECS (wall time from its fork to its
# exit) and LAST_RSS (its peak RSS, KiB); the server side is read by the
# caller (see measure_tool). CMD's stdout is kept in $BENCH_WORK/last.out.
measure_cmd() {
  local ns timed=$BENCH_WORK/timed
  [ -x "$timed" ] || cc -O2 -Wall -o "$timed" "$bench_lib_dir/timed.c" ||
    { echo "bench: cannot compile bench/timed.c" >&2 && exit 1; }
  # Writes still dirty from the step before (the other tool's) would compete
  # with this one for the disk, and its own syncs could wait behind them.
  sync
  if ! "$timed" "$BENCH_WORK/time.out" "$@" >"$BENCH_WORK/last.out" 2>"$BENCH_WORK/last.err"; then
    echo "bench: command failed: $*" >&2
    tail -20 "$BENCH_WORK/last.err" >&2
    exit 1
  fi
  read -r ns LAST_RSS <"$BENCH_WORK/time.out"
  LAST_SECS=$(awk -v n="$ns" 'BEGIN { printf "%.3f", n / 1e9 }')
}

# record FIELD...: one line of $RESULTS_TSV, the fields tab-separated.
record() {
  local IFS=$'\t'
  printf '%s\n' "$*" >>"$RESULTS_TSV"
}

# measure_tool converge|git CMD...: one timed step of that tool (measure_cmd),
# and LAST_SRV the server side's peak RSS in KiB when STEP_USES_SERVER=1 (0
# otherwise): for converge the `serve` process, its peak reset before the
# step; for git every git http-backend CGI run during it (each under
# /usr/bin/time, see git_http_start).
measure_tool() {
  local tool=$1
  shift
  if [ "$tool" = converge ]; then server_rss_reset "$CVG_SERVER_PID"; else : >"$GIT_CGI_LOG"; fi
  measure_cmd "$@"
  LAST_SRV=0
  if [ "${STEP_USES_SERVER:-0}" = 1 ]; then
    if [ "$tool" = converge ]; then
      LAST_SRV=$(server_rss_kib "$CVG_SERVER_PID")
    else
      LAST_SRV=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$GIT_CGI_LOG")
    fi
  fi
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

# converge_label TOP: the converge a results block names: the commit the
# binary says it was built from (`converge --version`; "-dirty": with
# uncommitted changes), or for a binary too old to say, the checkout's commit
# (noting uncommitted changes in src/); and, when $CVG is not the checkout's
# build-release/converge, that binary's path.
converge_label() {
  local top=$1 label
  label=$("$CVG" --version 2>/dev/null | sed -n 's/.*(commit \([0-9a-f]*\(-dirty\)\{0,1\}\))$/\1/p')
  [ -n "$label" ] ||
    label="$(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet -- src ||
      echo ' (with uncommitted changes in src/)')"
  [ "$CVG" = "$top/build-release/converge" ] || label="$label, binary $CVG"
  echo "$label"
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

# converge_stop: stops the converge server converge_start started, if any.
converge_stop() {
  [ -n "${CVG_SERVER_PID:-}" ] || return 0
  kill "$CVG_SERVER_PID" 2>/dev/null && wait "$CVG_SERVER_PID" 2>/dev/null || true
  CVG_SERVER_PID=
}

# converge_fresh DATA TREE: converge starting from nothing: a server of its
# own on the new data dir DATA (CVG_SERVER_PID, CVG_PORT, CVG_URL), logged in,
# with an empty repository "bench"; TREE a new workspace (its .converge
# removed first) whose remote is that repository.
converge_fresh() {
  local data=$1 tree=$2
  rm -rf "$data" "$tree/.converge"
  CVG_PORT=$(free_port)
  converge_start "$data" "$CVG_PORT"
  CVG_URL=http://127.0.0.1:$CVG_PORT
  "$CVG" login --url "$CVG_URL" <"$data/initial-admin-token" >/dev/null
  "$CVG" repo create bench >/dev/null
  "$CVG" init "$tree" >/dev/null
  "$CVG" -C "$tree" remote set --url "$CVG_URL" --repo bench >/dev/null
}

# git_fresh BARE TREE URL: git starting from nothing: a new bare repository
# BARE that accepts pushes over smart HTTP (served by git_http_start), and
# TREE a new repository (its .git removed first) with origin URL and
# converge's .converge/ excluded.
git_fresh() {
  local bare=$1 tree=$2 url=$3
  rm -rf "$bare" "$tree/.git"
  git init -q --bare "$bare"
  git -C "$bare" config http.receivepack true
  git -C "$tree" init -q
  printf '/.converge/\n' >>"$tree/.git/info/exclude"
  git -C "$tree" remote add origin "$url"
}

# round_order ROUND TOOL...: the tools in the order they run in round ROUND
# (0-based): rotated by one each round, so that each goes first in turn
# (whoever goes first meets the cold dentries and inodes).
round_order() {
  local r=$1
  shift
  local tools=("$@") k out=()
  for ((k = 0; k < ${#tools[@]}; k++)); do
    out+=("${tools[$(((r + k) % ${#tools[@]}))]}")
  done
  echo "${out[@]}"
}
