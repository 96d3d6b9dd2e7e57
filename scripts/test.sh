#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${QK_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
# Hardening (docs/hardening.md), opt-in with QK_HARDENING=1: the parser and I/O tests again under
# ASan + UBSan (scripts/sanitize.sh), then a short fuzz of every parser (scripts/fuzz.sh,
# QK_FUZZ_SECONDS each, 20 here). Measured from a fresh clone on the 2-core machine: the plain build and
# tests take 13.5 min, the sanitized build and tests 11 min, the fuzz build and run ~6 min: ~31 min in
# all, over the 30 minutes the suite may take, so CI runs the plain suite.
if [[ ${QK_HARDENING:-0} == 1 ]]; then
  scripts/sanitize.sh
  QK_FUZZ_SECONDS=${QK_FUZZ_SECONDS:-20} scripts/fuzz.sh
fi
