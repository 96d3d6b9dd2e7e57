#!/usr/bin/env bash
# The main job: repair the shipped small hybrid model after CoT fine-tuning, and measure both axes.
#
#   models/base    pre-trained Qwen3-Next-style hybrid (7.5M parameters, 12 layers, gated full attention at
#                  layers 3, 7 and 11; repro/ made it on one GPU)
#   models/cot     base after chain-of-thought SFT: reasoning up (1.9 -> 37.2%), recall down from 1K tokens
#   OUT/restored   the paper's QK-Restore: W_Q/W_K of the three global layers from models/base
#   OUT/pick       the repair `qkrestore sweep` recommends among per-head repairs and restore
#
# Every model runs in-process in the embedded CPU engine: recall is RULER NIAH-S2 (needle in prose, a
# length x depth grid), reasoning the held-out word problems of data/reasoning/ (`qkrestore eval`, the
# model's chat template, greedy, exact final answer); every score with its Wilson 95% interval, exact
# McNemar tests against CoT-SFT, one HTML report with the recall-vs-reasoning frontier.
# The sweep picks on the same samples it reports (a demo); to choose out of sample pass it
# data/reasoning/selection.jsonl and another NIAH seed. Everything from the repo: no network.
# Default sizes (about 6 minutes on 2 cores): NIAH-S2 at 1K and 2K tokens x 3 depths x 5 samples (30 a model),
# 100 reasoning problems; repro/RESULTS.md has 200 samples per cell and 1,000 problems from the GPU.
# QK_DEMO_OUT (default demo-output/), QK_DEMO_LENGTHS (1K,2K), QK_DEMO_DEPTHS (grid depths, 3),
# QK_DEMO_SAMPLES (per grid cell, 5), QK_DEMO_PROBLEMS (reasoning problems, 100) change them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target qkrestore
qk=build/qkrestore
out=${QK_DEMO_OUT:-demo-output}
lengths=${QK_DEMO_LENGTHS:-1K,2K}
depths=${QK_DEMO_DEPTHS:-3}
samples=${QK_DEMO_SAMPLES:-5}
problems=${QK_DEMO_PROBLEMS:-100}
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS

echo "== 1. what restore will do"
$qk plan --base models/base --sft models/cot

echo "== 2. the paper's QK-Restore, verified byte for byte"
$qk restore -q --base models/base --sft models/cot --out "$out/restored"
$qk verify --base models/base --sft models/cot --out "$out/restored"

echo "== 3. NIAH-S2 grid: $lengths tokens x $depths depths x $samples samples (seed 1, the models' ChatML, their tokenizer)"
$qk niah generate -q --tokenizer models/base --tasks niah_single_2 --lengths "$lengths" --grid-depths "$depths" \
  --samples "$samples" --seed 1 --template chatml --out "$out/niah.jsonl"

echo "== 4. sweep: retrieval heads ranked, then SFT, base, the top-1 and top-2 KV groups and full restore,"
echo "      each applied in memory and measured on recall and on $problems reasoning problems"
$qk sweep --base models/base --sft models/cot --niah "$out/niah.jsonl" --reasoning data/reasoning/test.jsonl \
  --reasoning-limit "$problems" --max-tokens 176 --niah-max-tokens 24 --top-k 2 --no-per-layer --blend '' --qkpro '' \
  --out "$out/sweep" --write "$out/pick"
$qk verify --base models/base --sft models/cot --out "$out/pick"

echo "== results (recall: NIAH-S2 x 100; reasoning: exact final answer; [95% interval]; p: exact McNemar vs SFT)"
cat "$out/sweep/sweep.md"
echo "report: $out/sweep/report.html (recall vs reasoning, tables, heatmaps); demo took $((SECONDS - start)) s"
