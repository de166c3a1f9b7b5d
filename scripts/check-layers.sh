#!/usr/bin/env bash
# scripts/check-layers.sh: fails when a file under src/ includes a layer it
# may not (docs/architecture.md). Layers point one way:
#   base <- store <- workspace;  base, store <- api <- net;
#   server: base, store, api, net;  client: base, store, workspace, api, net;
#   cmd and main.cpp: anything.
set -euo pipefail
cd "$(dirname "$0")/../src"

allowed() {
  case $1 in
    base) echo "base" ;;
    store) echo "base store" ;;
    workspace) echo "base store workspace" ;;
    api) echo "base store api" ;;
    net) echo "base api net" ;;
    server) echo "base store api net server" ;;
    client) echo "base store workspace api net client" ;;
    cmd) echo "base store workspace api net server client cmd" ;;
    *) return 1 ;;
  esac
}

bad=0
for dir in */; do
  layer=${dir%/}
  if ! ok=$(allowed "$layer"); then
    echo "check-layers: src/$layer/ is not a known layer (add it to scripts/check-layers.sh and docs/architecture.md)" >&2
    bad=1
    continue
  fi
  while IFS=: read -r file line target; do
    [[ " $ok " == *" $target "* ]] && continue
    echo "src/$file:$line: layer '$layer' may not include '$target/' (it may include: $ok)" >&2
    bad=1
  done < <(grep -rnoE '^#include "[a-z_]+/' "$layer" | sed -E 's|#include "([a-z_]+)/$|\1|')
done
if [ "$bad" != 0 ]; then
  echo "check-layers: wrong-way includes (see docs/architecture.md)" >&2
  exit 1
fi
echo "check-layers: every include points down the layers"
