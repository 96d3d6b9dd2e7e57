#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${QK_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
# Hardening (docs/hardening.md), on by default: the parser and surgery tests again under ASan + UBSan
# (scripts/sanitize.sh), then a short fuzz of every parser (scripts/fuzz.sh, QK_FUZZ_SECONDS each,
# 20 here). Both together take ~17 minutes on 2 free cores, estimated from measured CPU time (the numbers
# are in docs/hardening.md). QK_HARDENING=0 skips them.
if [[ ${QK_HARDENING:-1} == 1 ]]; then
  scripts/sanitize.sh
  QK_FUZZ_SECONDS=${QK_FUZZ_SECONDS:-20} scripts/fuzz.sh
fi
