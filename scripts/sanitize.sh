#!/usr/bin/env bash
# The whole test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/sanitized-build.sh: the build the fuzzers share). Every test program and the qkrestore binary
# the CLI, NIAH, server and fault-injection tests run are instrumented; any sanitizer report, leak
# included, fails the test that triggered it. Extra arguments go to ctest (e.g. -L surgery).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QK_SANITIZE_BUILD_DIR:-build-sanitize}
start=$SECONDS
scripts/sanitized-build.sh
built=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1}
# Fault tests repeat their property a quarter as many times here (tests/faults/fault_support.hpp says why)
export QK_FAULT_ROUNDS_DIVISOR=${QK_FAULT_ROUNDS_DIVISOR:-4}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
echo "sanitize: build $((built - start)) s, tests $((SECONDS - built)) s"
