#!/usr/bin/env bash
# Stage C on the GPU machine (< 9.5 min): SFT runs from models/base, each saved to $OUT as soon as it
# is done, then a quick probe of each (math accuracy on 300 held-out problems, NIAH S1/S2 at 50
# samples). CoT-SFT at three learning rates; non-CoT control at the token budget of the lr 1e-4 run.
# device: run with carry ["repro/data"], timeout 590.
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks --lengths 1024 4096 8192 \
  --tasks niah_single_2 --samples 50 > work/niah_gen.log 2>&1 &
sft() {  # name, then sft.py arguments
  local name=$1; shift
  python3 sft.py --base ../models/base --out work/$name "$@" 2>&1 | grep -v -E "Writing model|Loading weights|falling back" | tee -a "$OUT/sft.log"
  python3 -c "import common; common.tar_dir('work/$name', '$OUT/$name.tar')"
}
sft cot_lr1e-4 --style cot --lr 1e-4 --epochs 3
steps=$(python3 -c "import json; print(json.load(open('work/cot_lr1e-4/train_log.json'))['steps'])")
sft direct_lr1e-4 --style direct --lr 1e-4 --steps $steps
sft cot_lr3e-5 --style cot --lr 3e-5 --epochs 3
sft cot_lr3e-4 --style cot --lr 3e-4 --epochs 3
wait
python3 evaluate.py --models cot_lr1e-4=work/cot_lr1e-4 direct_lr1e-4=work/direct_lr1e-4 cot_lr3e-5=work/cot_lr3e-5 \
  cot_lr3e-4=work/cot_lr3e-4 --tasks work/tasks --task-names niah_single_2 --lengths 1024 4096 8192 \
  --samples 50 --math 300 --out "$OUT/sft_quick_eval.json" 2>&1 | grep -v -E "Loading weights|falling back"
