#!/usr/bin/env bash
# The test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer in its own build
# directory (QK_SANITIZE=ON, build-asan). Any sanitizer report fails the test that triggered it.
# By default the programs of the parsers and the restore path (util io arch surgery tokenizer niah
# faults) and the qkrestore binary they run; QK_SANITIZE_ALL=1 builds and runs every test program
# (engine and server too: several times slower). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QK_SANITIZE_BUILD_DIR:-build-asan}
start=$SECONDS
cmake -S . -B "$build" -DQK_SANITIZE=ON -DQK_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
concerns=(util io arch surgery tokenizer niah faults)
if [[ ${QK_SANITIZE_ALL:-0} == 1 ]]; then
  cmake --build "$build" -j"$(nproc)"
  labels=()
else
  targets=(qkrestore)
  for c in "${concerns[@]}"; do
    [[ -n $(find "tests/$c" -name '*.cpp' 2>/dev/null) ]] && targets+=("test_$c")
  done
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
  labels=(-L "^($(IFS='|'; echo "${concerns[*]}"))\$")
fi
built=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "${labels[@]}" "$@"
echo "sanitize: build $((built - start)) s, tests $((SECONDS - built)) s"
