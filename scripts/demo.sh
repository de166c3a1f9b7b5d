#!/usr/bin/env bash
# The whole loop, visibly: build, start a server on an embedded data dir in a
# temp folder, two users, snap, publish, fetch in a second workspace, restore,
# compare. Stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build-release Release -DCONVERGE_TESTS=OFF
bin="$PWD/build-release/converge"

demo=$(mktemp -d "${TMPDIR:-/tmp}/converge-demo.XXXXXX")
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$demo"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# Each user has a home of their own, so their logins do not mix; a token in
# the caller's environment must not stand in for theirs.
unset CONVERGE_TOKEN CONVERGE_URL
as() {
  local who=$1
  shift
  printf '[%s] $ %s\n' "$who" "$*"
  HOME="$demo/home-$who" XDG_CONFIG_HOME="$demo/home-$who/.config" "$@"
}
mkdir -p "$demo"/home-{admin,alice,bob}

step "Start the central authority on a fresh data dir"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$demo/data" 2>"$demo/server.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening" "$demo/server.log" 2>/dev/null && break
  sleep 0.1
done
cat "$demo/server.log"

step "The admin logs in with the one-time token and creates two users"
as admin "$bin" login --url "$url" <"$demo/data/initial-admin-token"
alice_token=$(as admin "$bin" --json user create alice | sed -n 's/.*"token": "\(cvg_[^"]*\)".*/\1/p')
bob_token=$(as admin "$bin" --json user create bob | sed -n 's/.*"token": "\(cvg_[^"]*\)".*/\1/p')
echo "(alice and bob each got a token, shown once)"

step "The admin creates a repo for alice; alice gives bob read access"
as admin "$bin" repo create web --admin alice
echo "$alice_token" | as alice "$bin" login --url "$url"
as alice "$bin" repo grant web bob --role read

step "Alice snaps a tree and publishes it"
ws1="$demo/alice-ws"
mkdir -p "$ws1/src/lib" "$ws1/empty"
printf 'hello, converge\n' >"$ws1/README"
printf '#!/bin/sh\necho built\n' >"$ws1/build.sh"
chmod +x "$ws1/build.sh"
printf 'int main() { return 0; }\n' >"$ws1/src/main.c"
: >"$ws1/src/lib/empty-file"
ln -s README "$ws1/link-to-readme"
head -c 5000000 /dev/urandom >"$ws1/blob.bin"
cd "$ws1"
as alice "$bin" init
as alice "$bin" snap -m "first cut"
as alice "$bin" remote set --url "$url" --repo web
as alice "$bin" publish -m "ready for review"
as alice "$bin" status

step "Bob, in a workspace of his own, fetches and restores it"
ws2="$demo/bob-ws"
echo "$bob_token" | as bob "$bin" login --url "$url"
as bob "$bin" init "$ws2"
cd "$ws2"
as bob "$bin" remote set --url "$url" --repo web
as bob "$bin" fetch
as bob "$bin" publications
pub=$(HOME="$demo/home-bob" "$bin" --json publications | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -1)
as bob "$bin" restore "${pub:0:8}" --to "$demo/restored"

step "The restored tree is byte for byte what alice snapped"
run diff -r --no-dereference --exclude=.converge "$ws1" "$demo/restored" && echo "identical"
[ -x "$demo/restored/build.sh" ] && echo "build.sh is still executable"
[ "$(readlink "$demo/restored/link-to-readme")" = README ] && echo "the symlink still points at README"

step "Or all of that in one step: bob clones the repo"
as bob "$bin" clone --url "$url" --repo web "$demo/bob-clone"
run diff -r --no-dereference --exclude=.converge "$ws1" "$demo/bob-clone" && echo "identical"

step "Bob may read but not publish"
as bob "$bin" snap -m "bob's change" >/dev/null
as bob "$bin" publish || echo "(refused, as it should be)"

step "The audit log shows the publication and bob's refused attempt"
cd "$ws1"
as alice "$bin" audit --limit 8

step "The web view"
echo "open $url/ in a browser and sign in with a token: the admin's is the one line of"
echo "  $demo/data/initial-admin-token"
echo "(alice's and bob's were printed above as they were made; the browser keeps only a session cookie)"
if [ "${CONVERGE_DEMO_KEEP:-}" = 1 ]; then
  echo "CONVERGE_DEMO_KEEP=1: the server keeps running; press Ctrl-C to stop it and remove the demo's files"
  wait "$server_pid" || true
else
  echo "(run with CONVERGE_DEMO_KEEP=1 to keep the server running and look)"
fi

step "Stop the server"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "done: the demo's files were in $demo (now removed)"
