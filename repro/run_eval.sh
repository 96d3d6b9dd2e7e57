#!/usr/bin/env bash
# Stage D on the GPU machine: NIAH task files (RULER templates, the qkrestore KJV haystack and key
# lists), reference repairs as patches, evaluation of every model, mechanism measurements.
# Ordered by priority: results are written after each model, so a cut-off run still returns them.
# device: run with carry ["repro/data"], timeout <= 590.
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work/tasks work/patches
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks --samples 100 --workers 16 \
  --haystack ../data/niah/haystack-kjv.txt --keys-dir ../data/niah > work/niah_gen.log 2>&1 &
gen=$!
python3 repair.py --base ../models/base --sft ../models/cot --out work/patches/cot 2>&1 | tee "$OUT/repair.log"
python3 repair.py --base ../models/base --sft ../models/noncot --out work/patches/noncot --variants restore 2>&1 | tee -a "$OUT/repair.log"
tar -cf "$OUT/patches.tar" -C work patches
P=work/patches
ALL="base=../models/base cot=../models/cot cot+restore=../models/cot+$P/cot_restore.safetensors
 noncot=../models/noncot noncot+restore=../models/noncot+$P/noncot_restore.safetensors
 cot+qkpro=../models/cot+$P/cot_qkpro.safetensors cot+blend_0.5=../models/cot+$P/cot_blend_0.5.safetensors
 cot+v_only=../models/cot+$P/cot_v_only.safetensors cot+q_only=../models/cot+$P/cot_q_only.safetensors
 cot+k_only=../models/cot+$P/cot_k_only.safetensors cot+blend_0.25=../models/cot+$P/cot_blend_0.25.safetensors
 cot+blend_0.75=../models/cot+$P/cot_blend_0.75.safetensors"
ev() { python3 evaluate.py --tasks work/tasks --out "$OUT/eval.json" "$@" 2>&1 | grep -v -E "Loading weights|falling back" | tee -a "$OUT/eval.log"; }
KEY=$(echo $ALL | tr ' ' '\n' | head -6)       # base cot cot+restore noncot noncot+restore cot+qkpro
REST=$(echo $ALL | tr ' ' '\n' | tail -n +7)
ev --models $KEY --task-names none --math 300          # reasoning accuracy, while the task files are made
wait $gen; tail -3 work/niah_gen.log
ev --models $KEY --math 0 --task-names niah_single_2
ev --models $REST --math 0 --task-names niah_single_2 --lengths 1024 4096 16384
python3 mechanism.py --models base=../models/base cot=../models/cot cot+restore=../models/cot+$P/cot_restore.safetensors \
  --grad-models base cot --niah work/tasks/niah_single_2_4096.jsonl --out "$OUT/mech.json" 2>&1 | grep -v -E "Loading weights|falling back" | tail -8
ev --models $(echo $ALL | tr ' ' '\n' | head -3) --math 0 --task-names niah_single_1 niah_single_3 niah_multikey_1
ev --models $REST --task-names none --math 300
ev --models $REST --math 0 --task-names niah_single_2 --lengths 2048 8192
