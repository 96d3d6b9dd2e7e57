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
# fuzz of every parser. Opt-in (QK_HARDENING=1) until its time on a 2-core CI machine is measured:
# the sanitized build roughly doubles the suite's build time.
if [[ ${QK_HARDENING:-0} == 1 ]]; then
  scripts/sanitize.sh
  scripts/fuzz.sh
fi
