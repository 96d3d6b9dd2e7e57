#!/usr/bin/env bash
# Times restore vs procrustes on the synthetic Qwen3-Next-80B-shaped pair, in one run, and prints
# the ratio (target: procrustes <= 2x restore). Inputs are read once first so both see a warm page
# cache; each method runs REPEAT times, interleaved, and the fastest run of each counts.
#   bench/procrustes_bench.sh QKRESTORE_BINARY [WORK_DIR] [REPEAT]
set -euo pipefail
bin=$(realpath "$1")
work=${2:-/tmp/qkrestore-procrustes-bench}
repeat=${3:-3}
here=$(dirname "$(realpath "$0")")
if [[ ! -f $work/sft/model.safetensors ]]; then
  python3 "$here/procrustes_bench_gen.py" "$work"
fi
cat "$work"/base/model.safetensors "$work"/sft/model.safetensors > /dev/null

seconds() {  # seconds one command takes
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
best_restore=999999 best_procrustes=999999
for ((i = 0; i < repeat; i++)); do
  t=$(seconds "$bin" restore --base "$work/base" --sft "$work/sft" --out "$work/out-restore" --force -q)
  best_restore=$(echo "if ($t < $best_restore) $t else $best_restore" | bc -l)
  t=$(seconds "$bin" procrustes --base "$work/base" --sft "$work/sft" --out "$work/out-procrustes" --force -q)
  best_procrustes=$(echo "if ($t < $best_procrustes) $t else $best_procrustes" | bc -l)
  printf "run %d: best so far restore %.3f s, procrustes %.3f s\n" "$i" "$best_restore" "$best_procrustes"
done
rm -rf "$work/out-restore" "$work/out-procrustes"
ratio=$(echo "$best_procrustes / $best_restore" | bc -l)
printf 'restore %.3f s, procrustes %.3f s, ratio %.2f (target <= 2)\n' "$best_restore" "$best_procrustes" "$ratio"
