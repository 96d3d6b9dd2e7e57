#!/usr/bin/env bash
# Stage B on the GPU machine (< 9.5 min): pre-trains the base model with the length curriculum,
# saves it ($OUT/base.tar), then a quick recall/math probe on RULER-format files from niah_jsonl.py.
# device: run with carry ["repro/data"], timeout 590.
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks --lengths 1024 4096 8192 \
  --tasks niah_single_1 niah_single_2 --samples 50 > work/niah_gen.log 2>&1 &
gen=$!
python3 pretrain.py --tokenizer tokenizer.json --out work/base --steps ${STEPS:-520} --tokens-per-step 196608 \
  --lr 2e-3 --warmup 40 --minutes ${MINUTES:-7.6} --workers 12 2>&1 | grep -v "Writing model" | tee "$OUT/pretrain.log"
python3 -c "import common; common.tar_dir('work/base', '$OUT/base.tar')"
wait $gen; cat work/niah_gen.log
python3 evaluate.py --models base=work/base --tasks work/tasks --task-names niah_single_1 niah_single_2 \
  --lengths 1024 4096 8192 --samples 50 --math 100 --out "$OUT/base_quick_eval.json" 2>&1 | grep -v "Loading weights"
