#!/usr/bin/env bash
# Stage B2 on the GPU machine (< 9.5 min): continues pre-training from stage B's checkpoint
# (retrieval had begun to form: first digits of the needle copied, 0% exact after 520 steps),
# fresh AdamW, lower peak rate, longer sequences. Then a quick recall/math probe.
# device: run with carry ["repro/data", "repro/work/base_stage1"], timeout 590.
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work
for t in niah_single_1 niah_single_2; do
  python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks --lengths 1024 4096 8192 16384 \
    --tasks $t --samples 50 > work/niah_gen_$t.log 2>&1 &
done
python3 pretrain.py --tokenizer tokenizer.json --init work/base_stage1 --out work/base --steps ${STEPS:-700} \
  --tokens-per-step 196608 --lr 1e-3 --warmup 30 --minutes ${MINUTES:-7.8} --workers 12 \
  --stages '[[0.25, 512, 2048], [1.01, 1024, 6144]]' 2>&1 | grep -v "Writing model" | tee "$OUT/pretrain2.log"
python3 -c "import common; common.tar_dir('work/base', '$OUT/base.tar')"
wait
python3 evaluate.py --models base=work/base --tasks work/tasks --task-names niah_single_1 niah_single_2 \
  --lengths 1024 4096 8192 16384 --samples 50 --math 100 --out "$OUT/base_quick_eval.json" 2>&1 | grep -v "Loading weights"
