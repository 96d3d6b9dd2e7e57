#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${QK_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
# Hardening (docs/hardening.md): the parser and restore tests again under ASan + UBSan, then a short
# fuzz of every parser (45 s each).
scripts/sanitize.sh
scripts/fuzz.sh
