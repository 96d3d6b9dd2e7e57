#!/usr/bin/env bash
# Writes the shipped model pair of an earlier commit (models/base, models/cot) into DIR/base and DIR/cot,
# without touching the working tree: e.g. v3, the pair pilot 5 measured, is at 283f847.
# Usage: repro/checkout_models.sh COMMIT DIR
set -euo pipefail
commit=${1:?usage: repro/checkout_models.sh COMMIT DIR}; dir=${2:?usage: repro/checkout_models.sh COMMIT DIR}
cd "$(dirname "$0")/.."
for m in base cot; do
  mkdir -p "$dir/$m"
  for f in $(git ls-tree --name-only "$commit" "models/$m/"); do git show "$commit:$f" > "$dir/$m/$(basename "$f")"; done
done
ls -l "$dir/base" "$dir/cot"
