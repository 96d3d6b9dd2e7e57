#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite under ctest, then the
# hardening stage (docs/hardening.md): the whole suite again built with ASan + UBSan
# (scripts/sanitize.sh), then a short fuzz of every parser on the same instrumented build
# (scripts/fuzz.sh, QK_FUZZ_SECONDS each, 20 here). QK_HARDENING=0 skips that stage for a quick local
# run. Extra arguments go to the plain suite's ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The npm packages tests run against (tests/npm: the official openai client for tests/server, and
# @huggingface/jinja, the reference for tests/jinja), pinned by
# the package-lock.json. An install made from the same lock file is kept, so a machine without network
# can rerun the suite.
npm_dir=tests/npm
if ! cmp -s "$npm_dir/package-lock.json" "$npm_dir/node_modules/.qk-installed-lock" 2>/dev/null; then
  if npm ci --prefix "$npm_dir" --no-audit --no-fund --prefer-offline; then
    cp "$npm_dir/package-lock.json" "$npm_dir/node_modules/.qk-installed-lock"
  else
    echo "test: npm ci in $npm_dir failed (no network?): the openai client test will fail" >&2
  fi
fi
# Ninja for new build trees (an existing one keeps its generator): it starts a target's compiles before
# the libraries it links are done, which keeps both cores busy.
export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}
build=${QK_BUILD_DIR:-build}
start=$SECONDS
# -O2 as shipped, with line tables only (-g1): enough for the file:line of a failure's backtrace, and
# about a fifth less compile time than full -g (measured on a sample of our files, gcc 12).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build "$build" -j"$(nproc)"
built=$SECONDS
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
echo "test: build $((built - start)) s, tests $((SECONDS - built)) s"
if [[ ${QK_HARDENING:-1} == 1 ]]; then
  scripts/sanitize.sh
  QK_FUZZ_SECONDS=${QK_FUZZ_SECONDS:-20} scripts/fuzz.sh
fi
