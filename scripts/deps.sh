#!/usr/bin/env bash
# Installs the Debian 12 packages converge builds and tests with, when missing.
# Idempotent, no prompts; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  libsqlite3-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libzstd-dev  # store/compress.h: objects at rest in packs
  libgtest-dev googletest
  openssl
  nginx-light  # tests/support/nginx.h: the reverse-proxy tests run through a real nginx
)
# Fuzzers (libFuzzer) and the sanitizer runtimes come with clang.
packages+=(clang libclang-rt-14-dev)
# The server's PostgreSQL engine (libpq) and the throwaway cluster the tests
# start (scripts/pg-cluster.sh); nginx for the reverse-proxy tests.
packages+=(libpq-dev postgresql nginx-light)
# The web view's end-to-end test (tests/browser/) drives a real headless
# Chromium over the DevTools protocol; fonts so its screenshots show text.
packages+=(chromium fonts-dejavu-core)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update -q
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
