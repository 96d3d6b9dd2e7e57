#!/usr/bin/env bash
# The main job: QK-Restore on the shipped small hybrid model, and recall measured before and after.
#
#   models/base    pre-trained Qwen3-Next-style hybrid (6.3M parameters; repro/ made it on one GPU)
#   models/cot     base after chain-of-thought SFT: its long-context recall is broken
#   OUT/restored   models/cot with W_Q/W_K of the two global attention layers from models/base
#
# Then RULER NIAH-S2 (needle in prose) at 1K/2K/4K tokens for all three, run in-process by the embedded
# CPU engine, scored RULER's way, with a side-by-side HTML report. Everything from the repo: no network.
# QK_DEMO_OUT (default demo-output/), QK_DEMO_SAMPLES (default 20 per length), QK_DEMO_LENGTHS.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target qkrestore
qk=build/qkrestore
out=${QK_DEMO_OUT:-demo-output}
samples=${QK_DEMO_SAMPLES:-20}
lengths=${QK_DEMO_LENGTHS:-1K,2K,4K}
rm -rf "$out"
mkdir -p "$out"

echo "== 1. what restore will do"
$qk plan --base models/base --sft models/cot

echo "== 2. restore and verify"
$qk restore --base models/base --sft models/cot --out "$out/restored"
$qk verify --base models/base --sft models/cot --out "$out/restored"

echo "== 3. NIAH-S2 tasks ($samples per length at $lengths tokens, seed 1, ChatML as the models were trained, the model's own tokenizer)"
$qk niah generate --tokenizer models/base --tasks niah_single_2 --lengths "$lengths" --samples "$samples" \
  --seed 1 --template chatml --out "$out/tasks.jsonl"

echo "== 4. recall of base, CoT-SFT and restored (embedded CPU engine, greedy, RULER scoring)"
# 48 new tokens hold the 7-digit answer many times over (RULER's 128 only adds decode time here).
for model in base cot restored; do
  dir=models/$model
  [ "$model" = restored ] && dir=$out/restored
  $qk niah run --engine embedded --model "$dir" --tasks "$out/tasks.jsonl" --max-tokens 48 \
    --out "$out/results/$model/predictions.jsonl"
  $qk niah score "$out/results/$model/predictions.jsonl" --title "$model" --out "$out/results/$model" >/dev/null
done
$qk niah report --run base="$out/results/base" --run cot-sft="$out/results/cot" --run restored="$out/results/restored" \
  --title "QK-Restore on the shipped hybrid model" --out "$out/report.html"

echo "== results (NIAH-S2 score, RULER string_match_all x 100)"
for model in base cot restored; do
  echo "-- $model"
  cat "$out/results/$model/summary.md"
done
echo "report: $out/report.html"
