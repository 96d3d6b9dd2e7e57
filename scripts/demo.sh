#!/usr/bin/env bash
# The main job: repair the shipped small hybrid model after CoT fine-tuning, and measure both axes.
#
#   models/base    pre-trained Qwen3-Next-style hybrid (7.5M parameters, 12 layers, gated full attention at
#                  layers 3, 7 and 11; mid-trained to hold NIAH-S2 to 32K tokens; repro/ made it on one GPU)
#   models/cot     base after chain-of-thought SFT: reasoning up, recall down from 2K tokens (repro/RESULTS.md, v4)
#   OUT/restored   the paper's QK-Restore: W_Q/W_K of the three global layers from models/base
#   OUT/pick       the repair `qkrestore sweep` recommends: SFT, base, the one KV group `heads` ranks first,
#                  the paper's restore, and a search that adds base's early feed-forward layers (mlp@0-2, the
#                  site `qkrestore locate` names first on these models) at blend weights 0.25 / 0.5 / 1
#
# Every model runs in-process in the embedded CPU engine: recall is RULER NIAH-S2 (needle in prose, a
# length x depth grid), reasoning the held-out word problems of data/reasoning/ (`qkrestore eval`, the
# model's chat template, greedy, exact final answer); every score with its Wilson 95% interval, exact
# McNemar tests against CoT-SFT, one HTML report with the recall-vs-reasoning frontier.
# The sweep picks on the same samples it reports (a demo); to choose out of sample pass it
# --niah-select / --reasoning-select (data/reasoning/selection.jsonl and another NIAH seed; docs/locate.md).
# Everything from the repo: no network.
# Default sizes (about 8 minutes on 2 cores after the build): NIAH-S2 at 2K, 4K and 8K tokens x 3 depths x
# 2 samples (18 a model), 60 reasoning problems; repro/RESULTS.md has 200 samples per cell from the GPU.
# QK_DEMO_OUT (default demo-output/), QK_DEMO_LENGTHS (2K,4K,8K), QK_DEMO_DEPTHS (grid depths, 3),
# QK_DEMO_SAMPLES (per grid cell, 2), QK_DEMO_PROBLEMS (reasoning problems, 60) change them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target qkrestore
qk=build/qkrestore
out=${QK_DEMO_OUT:-demo-output}
lengths=${QK_DEMO_LENGTHS:-2K,4K,8K}
depths=${QK_DEMO_DEPTHS:-3}
samples=${QK_DEMO_SAMPLES:-2}
problems=${QK_DEMO_PROBLEMS:-60}
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

echo "== 4. sweep: retrieval heads ranked; SFT, base, the top-1 KV group and full restore; then a search from the"
echo "      top-1 group that adds base's MLPs 0-2 at weights 0.25 / 0.5 / 1. Each candidate applied in memory and"
echo "      measured on recall and on $problems reasoning problems"
$qk sweep --base models/base --sft models/cot --niah "$out/niah.jsonl" --reasoning data/reasoning/test.jsonl \
  --reasoning-limit "$problems" --max-tokens 176 --niah-max-tokens 16 --units mlp@0-2 --weights 0.25,0.5,1 --budget 7 \
  --out "$out/sweep" --write "$out/pick"
$qk verify --base models/base --sft models/cot --out "$out/pick"

echo "== results (recall: NIAH-S2 x 100; reasoning: exact final answer; [95% interval]; p: exact McNemar vs SFT)"
cat "$out/sweep/sweep.md"
echo "report: $out/sweep/report.html (recall vs reasoning, tables, heatmaps); demo took $((SECONDS - start)) s"
