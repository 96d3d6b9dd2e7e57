#!/usr/bin/env bash
# ctest `layers_checker`: scripts/check_layers.sh passes on the tree as it is and fails, naming the
# arrow, on each way the layering of docs/architecture.md can break: an include of a folder the library
# does not link, a declared arrow up a floor or sideways, a folder without a floor, a ruled-out arrow.
# Each case edits a copy of CMakeLists.txt, docs/architecture.md and src/ in a temporary folder.
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/../.." && pwd)"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fresh_copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree/docs"
  cp "$root/CMakeLists.txt" "$work/tree/"
  cp "$root/docs/architecture.md" "$work/tree/docs/"
  cp -r "$root/src" "$work/tree/src"
}

# expect NAME STATUS TEXT: the checker exits STATUS on the edited copy, its output containing TEXT.
expect() {
  local name=$1 want=$2 text=$3 got=0
  "$root/scripts/check_layers.sh" "$work/tree" >"$work/out" 2>&1 || got=$?
  if [[ $got != "$want" ]] || ! grep -qF -- "$text" "$work/out"; then
    echo "FAIL $name: exit $got (expected $want), output:" >&2
    cat "$work/out" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

fresh_copy
: >"$work/out"
status=0
"$root/scripts/check_layers.sh" "$work/tree" >"$work/out" 2>&1 || status=$?
if ((status != 0)); then
  echo "FAIL the tree as it is: exit $status" >&2
  cat "$work/out" >&2
  failures=$((failures + 1))
else
  echo "ok   the tree as it is passes"
fi

fresh_copy  # the engine (floor 3) includes diagnose (floor 4), which it does not link
echo '#include "diagnose/diagnose.hpp"' >>"$work/tree/src/engine/kernels.cpp"
expect "an include up a floor" 1 "src/engine/kernels.cpp:"

fresh_copy  # ... and declares it too: no cycle, but the arrow points up
sed -i -E 's/^(qk_concern\(engine +DEPS )/\1qk_diagnose /' "$work/tree/CMakeLists.txt"
expect "a declared arrow up a floor" 1 "qk_engine (floor 3) links qk_diagnose (floor 4)"

fresh_copy  # sideways: tokenizer and jinja share floor 1
sed -i -E 's/^(qk_concern\(tokenizer +DEPS )/\1qk_jinja /' "$work/tree/CMakeLists.txt"
expect "a sideways arrow" 1 "qk_tokenizer (floor 1) links qk_jinja (floor 1)"

fresh_copy  # a new folder nobody placed
mkdir "$work/tree/src/newfolder"
echo 'qk_concern(newfolder DEPS qk_util)' >>"$work/tree/CMakeLists.txt"
expect "a folder without a floor" 1 "src/newfolder has no floor"

fresh_copy  # eval (floor 7) -> server (floor 6) points down, but the tasks and HTTP stay apart
sed -i -E 's/^(qk_concern\(eval +DEPS )/\1qk_server /' "$work/tree/CMakeLists.txt"
expect "a ruled-out arrow" 1 "qk_eval links qk_server"

if ((failures)); then
  echo "$failures case(s) failed" >&2
  exit 1
fi
