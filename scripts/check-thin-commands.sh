#!/usr/bin/env bash
# scripts/check-thin-commands.sh [SRC]: fails when a subcommand in src/cmd/
# is more than flags, one library call and printing (docs/architecture.md,
# "How to add a command"): a file over 120 lines, or SQL (a database
# include, or a string that starts a statement) in it.
set -euo pipefail
cd "${1:-$(dirname "$0")/../src}"
max=120
bad=0
for f in cmd/*.cpp cmd/*.h; do
  n=$(wc -l < "$f")
  if [ "$n" -gt "$max" ]; then
    echo "src/$f: $n lines (a command file stays under $max: move its logic into a library)" >&2
    bad=1
  fi
done
while IFS= read -r hit; do
  echo "src/$hit: SQL in cmd/ (it belongs in a records class in store/)" >&2
  bad=1
done < <(grep -nE '#include "store/db\.h"|#include <sqlite3\.h>|"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|BEGIN|COMMIT|ROLLBACK|CREATE|PRAGMA)[[:space:]]' cmd/*.cpp cmd/*.h || true)
if [ "$bad" != 0 ]; then
  echo "check-thin-commands: cmd/ holds library logic" >&2
  exit 1
fi
echo "check-thin-commands: every command is flags, a library call and printing"
