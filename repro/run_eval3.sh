#!/usr/bin/env bash
# Stage G on the GPU machine (< 6 min): the cells stage F's time limit cut (its task generation at
# 16K took 266 s), at 1K-4K only: S2 and reasoning of the single-projection ablations and blends,
# S3/MK1 of CoT-SFT + restore.
# device: run with carry ["repro/data"], timeout 400.
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work/tasks3 work/patches work/eval3
start=$(date +%s)
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks3 --samples 100 --workers 12 --lengths 1024 2048 4096 \
  --tasks niah_single_2 niah_single_3 niah_multikey_1 --haystack ../data/niah/haystack-kjv.txt --keys-dir ../data/niah > work/eval3/niah_gen.log 2>&1 &
python3 repair.py --base ../models/base --sft ../models/cot --out work/patches/cot > work/eval3/repair.log 2>&1
wait
echo "[$(( $(date +%s) - start )) s] tasks ready"
P=work/patches
ev() {
  local name=$1; shift
  timeout $(( 330 - ($(date +%s) - start) )) python3 evaluate.py --tasks work/tasks3 --batch-tokens 262144 --out work/eval3/$name.json \
    --lengths 1024 2048 4096 "$@" 2>&1 | grep -v -E "Loading weights|falling back" > work/eval3/$name.log
}
for v in q_only k_only v_only blend_0.25 blend_0.5 blend_0.75; do
  ev $v --models cot+$v=../models/cot+$P/cot_$v.safetensors --math 300 --task-names niah_single_2 &
done
ev restore_other --models cot+restore=../models/cot+$P/cot_restore.safetensors --math 0 --task-names niah_single_3 niah_multikey_1 &
wait
echo "[$(( $(date +%s) - start )) s] done"
cat work/eval3/*.log | grep -v -E "^\s|Traceback|^torch\."
tar -cf "$OUT/eval3.tar" -C work/eval3 .
