#!/usr/bin/env bash
# The test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer in its own build
# directory (QK_SANITIZE=ON, build-asan). Any sanitizer report fails the test that triggered it.
# Which test programs: QK_SANITIZE_CONCERNS (default, what CI runs: the parsers, checkpoint I/O and
# staging, "util io arch tokenizer", none of which needs the qkrestore binary, so the engine, server
# and CLI are not built sanitized; adding "surgery" costs ~4 more minutes of CI, which the suite's
# 30-minute budget does not leave); QK_SANITIZE_CONCERNS="util io arch surgery tokenizer niah faults"
# adds the fault injection against a sanitized qkrestore; QK_SANITIZE_ALL=1 builds and runs every
# test program. docs/hardening.md has the time of each on a 2-core machine. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${QK_SANITIZE_BUILD_DIR:-build-asan}
start=$SECONDS
cmake -S . -B "$build" -DQK_SANITIZE=ON -DQK_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
read -r -a concerns <<<"${QK_SANITIZE_CONCERNS:-util io arch tokenizer}"
needs_binary=" niah server cli faults "  # test programs that run the qkrestore executable
if [[ ${QK_SANITIZE_ALL:-0} == 1 ]]; then
  cmake --build "$build" -j"$(nproc)"
  labels=()
else
  targets=()
  for c in "${concerns[@]}"; do
    [[ -n $(find "tests/$c" -name '*.cpp' 2>/dev/null) ]] && targets+=("test_$c")
    [[ $needs_binary == *" $c "* && " ${targets[*]} " != *" qkrestore "* ]] && targets+=(qkrestore)
  done
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
  labels=(-L "^($(IFS='|'; echo "${concerns[*]}"))\$")
fi
built=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "${labels[@]}" "$@"
echo "sanitize: build $((built - start)) s, tests $((SECONDS - built)) s"
