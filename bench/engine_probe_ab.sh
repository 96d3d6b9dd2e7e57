#!/bin/bash
# The engine with and without the heads changes (attention probe, mutable tensors, residual capture),
# no probe set: `qkrestore generate` on the shipped CoT model, the two binaries alternated so that the
# machine's load hits both alike. Usage: bench/engine_probe_ab.sh OLD_QKRESTORE NEW_QKRESTORE [ROUNDS]
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
prompt="$(head -c 3000 "$root/data/niah/haystack-kjv.txt")"
for round in $(seq "$rounds"); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    /usr/bin/time -f "$which round $round: wall %e s, user %U s" "$bin" generate --model "$root/models/cot" --prompt "$prompt" \
      --max-tokens 400 2>&1 >/dev/null | grep -v '^\['
  done
done
