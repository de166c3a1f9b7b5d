#!/usr/bin/env bash
# Installs what is missing, starts a throwaway PostgreSQL cluster
# (scripts/pg-cluster.sh; its URL in CONVERGE_TEST_PG for the PostgreSQL
# engine's tests, stopped at the end even on failure), builds, and runs every
# test through ctest:
#   1. a normal (RelWithDebInfo) build: every test, the contract suite and
#      the e2e suites that start a server once per metadata engine (ctest
#      labels sqlite and postgres: tests/CMakeLists.txt);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: every test again
#      (the load test at its short size only; the contract and e2e suites on
#      SQLite only: PostgreSQL's own code is under ASan through the unit tests
#      on both engines and tests/nodes);
#   3. a ThreadSanitizer build of the server: its concurrency, restart, limits,
#      stalled-client, connection-cap, framing and backoff contract tests
#      (where threads share state), and the unit tests of the library's own
#      threads (`threaded_tests`: the parallel capture, index folds beside
#      writers, the HTTP server's pool, restore's file queue;
#      tests/CMakeLists.txt);
#   4. every libFuzzer target for 5 s on its seed corpus (scripts/fuzz.sh),
#      one a core at once.
# CONVERGE_SKIP_SANITIZERS=1 skips 2-4, CONVERGE_SKIP_FUZZ=1 skips 4 (quick
# local loops only; CI runs everything).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# deps.sh installs Chromium: the browser tests (tests/browser/) must run
# here, so a missing browser fails them instead of skipping them.
export CONVERGE_REQUIRE_BROWSER=1

jobs=$(nproc)
# Tests run one more at once than there are cores: they wait on fsync, on
# servers starting and on each other's processes, and at -j2 on two cores the
# CPUs were idle 30 % (normal) and 13 % (ASan) of the time. Measured on one
# 2-core machine: normal pass 152 -> 123 s, ASan pass 233 -> 195 s.
test_jobs=$((jobs + 1))
# Each target compiles as one unity translation unit: the quickest build from
# clean (see CONVERGE_UNITY_BATCH in CMakeLists.txt).
unity=-DCONVERGE_UNITY_BATCH=0
# Line tables only (-g1): reports keep file:line; the builds take a third less.
lines=-DCONVERGE_LINE_TABLES=ON
step() { echo "== $1 (at ${SECONDS}s)"; }

step "layer check (docs/architecture.md)"
scripts/check-layers.sh
scripts/check-thin-commands.sh

# A throwaway PostgreSQL cluster for the PostgreSQL engine's tests, stopped
# (and its directory removed) however this script ends. Its parent must be
# reachable by the `postgres` user when we run as root.
step "PostgreSQL test cluster"
pg_dir=$(mktemp -d /tmp/converge-pg.XXXXXX)
chmod 0755 "$pg_dir"
trap 'scripts/pg-cluster.sh stop "$pg_dir/cluster"; rm -rf "$pg_dir"' EXIT
CONVERGE_TEST_PG=$(scripts/pg-cluster.sh start "$pg_dir/cluster")
export CONVERGE_TEST_PG

step "build (RelWithDebInfo)"
scripts/build.sh build RelWithDebInfo "$unity" "$lines"
step "tests"
(cd build && ctest --output-on-failure -j "$test_jobs")

if [ "${CONVERGE_SKIP_SANITIZERS:-0}" != 1 ]; then
  step "build (ASan + UBSan)"
  # GCC, the compiler of every other build. Clang 14 compiled this one with a
  # quarter less CPU (converge_core's unit 196 s against 257 s), but in its
  # second CI run its LeakSanitizer crashed at one test's exit ("Tracer caught
  # signal 11"), which GCC's runtime never did: a flaky CI costs more.
  scripts/build.sh build-asan Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCONVERGE_SANITIZE=ON "$unity" "$lines"
  step "tests under ASan + UBSan"
  # The PostgreSQL runs of the contract and e2e suites repeat the SQLite
  # runs' server code; PostgreSQL's own code stays under ASan through the
  # unit tests on both engines and tests/nodes. Leaving them out keeps CI
  # well under its 15 minutes.
  (cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$test_jobs" -E '^(load\.full|e2e-pg\..*|contract-pg\..*)$')

  step "build (TSan: the server, the contract tests and the threaded unit tests)"
  BUILD_TARGETS="converge contract_tests threaded_tests" \
    scripts/build.sh build-tsan Debug -DCONVERGE_TSAN=ON "$unity" "$lines"
  step "concurrency tests under TSan"
  # A race makes the server exit at once (halt_on_error), which fails the test.
  (cd build-tsan &&
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --output-on-failure -j "$jobs" \
      -R '^(contract\.(Concurrency|Restart|Limits|Stalled|Connections|Framing|Backoff)|threaded\.)')

  # One target a core at once (libFuzzer runs on one).
  # 5 s: the seed corpus (every input that ever broke a target) replays in
  # well under a second; the rest is a brief search for new paths, which
  # longer runs by hand do better (docs/fuzzing.md). 10 s cost CI 25 s more.
  [ "${CONVERGE_SKIP_FUZZ:-0}" = 1 ] || { step "fuzz (5 s a target, $jobs at once)"; FUZZ_JOBS=$jobs scripts/fuzz.sh 5; }
fi
step "all passed"
