#!/usr/bin/env bash
# The layering of src/ (docs/architecture.md), checked by ctest (test "layers"):
#  - a folder includes only the folders its library links, as CMakeLists.txt declares them once
#    (qk_concern(NAME DEPS qk_a ...)), directly or through them; src/cli (the executable) may include any;
#  - the declared dependencies have no cycle, and each points to a lower floor than its folder's, the
#    floors read from the table of docs/architecture.md (rows "| FLOOR | folder, folder |"); every folder
#    of src/ sits on one;
#  - the arrows below never exist, whatever CMake declares: the tasks and HTTP sit on the backend wing
#    side by side, so eval does not reach into server, server not into niah, and the wing reaches up
#    into none of them.
# Usage: scripts/check_layers.sh [REPOSITORY_ROOT]. Exit 0: clean; 1: every offending include listed.
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
forbidden=(eval:server server:niah server:eval backend:niah backend:eval backend:server engine:engine_service)

declare -A deps=()
while read -r name rest; do
  deps[$name]=$(grep -oE '\bqk_[a-z_0-9]+' <<<"$rest" | sed 's/^qk_//' | tr '\n' ' ' || true)
done < <(sed -nE 's/^qk_concern\(([a-z_0-9]+)[[:space:]]+DEPS[[:space:]]+([^)]*)\).*/\1 \2/p' "$root/CMakeLists.txt")
if ((${#deps[@]} == 0)); then
  echo "layers: no qk_concern(...) lines found in $root/CMakeLists.txt" >&2
  exit 1
fi

declare -A floor=()
while IFS='|' read -r _ number folders _; do
  for folder in ${folders//,/ }; do floor[$folder]=$((number)); done
done < <(grep -E '^\| [0-9]+ \| [a-z_, ]+ \|$' "$root/docs/architecture.md")
if ((${#floor[@]} == 0)); then
  echo "layers: no floors table (| FLOOR | folders |) found in $root/docs/architecture.md" >&2
  exit 1
fi

# Everything a concern links, directly or through its dependencies.
closure() {
  local -A seen=()
  local stack=(${deps[$1]:-}) next
  while ((${#stack[@]})); do
    next=${stack[-1]}
    unset 'stack[-1]'
    [[ -n ${seen[$next]:-} ]] && continue
    seen[$next]=1
    stack+=(${deps[$next]:-})
  done
  echo "${!seen[@]}"
}

status=0
declare -A reach=()
for name in "${!deps[@]}"; do
  reach[$name]=" $(closure "$name") "
  if [[ ${reach[$name]} == *" $name "* ]]; then
    echo "layers: CMakeLists.txt: qk_$name depends on itself through its DEPS (a cycle)" >&2
    status=1
  fi
done
for name in "${!deps[@]}"; do
  [[ -z ${floor[$name]+x} ]] && continue  # reported below, with the folders of src/
  for dep in ${deps[$name]}; do
    if [[ -z ${floor[$dep]+x} ]]; then
      echo "layers: CMakeLists.txt: qk_$name links qk_$dep, which has no floor in docs/architecture.md" >&2
      status=1
    elif ((floor[$dep] >= floor[$name])); then
      echo "layers: CMakeLists.txt: qk_$name (floor ${floor[$name]}) links qk_$dep (floor ${floor[$dep]}): an arrow that does not point down (docs/architecture.md)" >&2
      status=1
    fi
  done
done
for pair in "${forbidden[@]}"; do
  from=${pair%%:*} to=${pair#*:}
  if [[ ${reach[$from]:-} == *" $to "* ]]; then
    echo "layers: CMakeLists.txt: qk_$from links qk_$to, an arrow docs/architecture.md rules out" >&2
    status=1
  fi
done

for dir in "$root"/src/*/; do
  folder=$(basename "$dir")
  if [[ -z ${floor[$folder]+x} ]]; then
    echo "layers: src/$folder has no floor in the table of docs/architecture.md" >&2
    status=1
  fi
  [[ $folder == cli ]] && continue
  if [[ -z ${reach[$folder]+x} ]]; then
    echo "layers: src/$folder has no qk_concern($folder ...) in CMakeLists.txt" >&2
    status=1
    continue
  fi
  while IFS=: read -r file line target; do
    [[ $target == "$folder" || ! -d $root/src/$target ]] && continue
    if [[ ${reach[$folder]} != *" $target "* ]]; then
      echo "layers: ${file#"$root"/}:$line includes $target/, which qk_$folder does not link (CMakeLists.txt)" >&2
      status=1
    fi
  done < <(grep -rnoE '^#include "[a-z_0-9]+/' --include='*.hpp' --include='*.cpp' "$dir" |
           sed -E 's/#include "([a-z_0-9]+)\/$/\1/')
done
exit $status
