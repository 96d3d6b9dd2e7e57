#!/usr/bin/env bash
# Configures and builds the one instrumented build that scripts/sanitize.sh (the whole test suite under
# ASan + UBSan) and scripts/fuzz.sh (the libFuzzer harnesses) share: clang, -DQK_FUZZ=ON (AddressSanitizer,
# UndefinedBehaviorSanitizer and fuzzer coverage on every library), -O1 with line tables (what the
# sanitizer documentation recommends for reasonable speed and usable stacks), assertions on,
# and a unity build (CMake merges each target's sources into a few translation units, so the heavy
# headers are parsed and their templates instantiated a few times instead of once per file; the plain
# build in scripts/test.sh stays one unit per file, so a file that misses an include still fails there).
# Arguments: the targets to build (all when none). Build directory: QK_SANITIZE_BUILD_DIR (build-sanitize).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QK_SANITIZE_BUILD_DIR:-build-sanitize}
CC=clang CXX=clang++ cmake -S . -B "$build" -DQK_FUZZ=ON -DQK_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
if (($#)); then
  cmake --build "$build" -j"$(nproc)" --target "$@"
else
  cmake --build "$build" -j"$(nproc)"
fi
