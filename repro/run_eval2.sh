#!/usr/bin/env bash
# Stage F on the GPU machine (< 9.5 min): what stage D's cut-off left unmeasured, run side by side
# (the tiny models leave the H100 mostly idle): NIAH S1/S3/MK1 at 1K-16K for base, CoT-SFT and
# CoT-SFT + restore; S2 and reasoning for the ablations (Q-only, K-only, V-only) and blends; the
# mechanism (attention-gradient magnitude vs distance, mean attention distance per global head).
# Each evaluation writes its JSON after every model, so whatever finished by 540 s comes back.
# device: run with carry ["repro/data"], timeout 590.
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
mkdir -p work/tasks work/patches work/eval2
start=$(date +%s)
elapsed() { echo "[$(( $(date +%s) - start )) s] $*"; }
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks --samples 100 --workers 16 \
  --haystack ../data/niah/haystack-kjv.txt --keys-dir ../data/niah > work/eval2/niah_gen.log 2>&1 &
gen=$!
python3 repair.py --base ../models/base --sft ../models/cot --out work/patches/cot > work/eval2/repair.log 2>&1
P=work/patches
wait $gen; elapsed "tasks and patches ready"; tail -2 work/eval2/niah_gen.log

ev() {  # output name, then evaluate.py arguments
  local name=$1; shift
  python3 evaluate.py --tasks work/tasks --batch-tokens 262144 --out work/eval2/$name.json "$@" 2>&1 \
    | grep -v -E "Loading weights|falling back" > work/eval2/$name.log
}
OTHER="niah_single_1 niah_single_3 niah_multikey_1"
ev base_other --models base=../models/base --math 0 --task-names $OTHER &
ev cot_other --models cot=../models/cot --math 0 --task-names $OTHER &
ev restore_other --models cot+restore=../models/cot+$P/cot_restore.safetensors --math 0 --task-names $OTHER &
ev single_proj --models cot+q_only=../models/cot+$P/cot_q_only.safetensors cot+k_only=../models/cot+$P/cot_k_only.safetensors \
  cot+v_only=../models/cot+$P/cot_v_only.safetensors --math 300 --task-names niah_single_2 --lengths 1024 2048 4096 8192 &
ev blends --models cot+blend_0.25=../models/cot+$P/cot_blend_0.25.safetensors cot+blend_0.5=../models/cot+$P/cot_blend_0.5.safetensors \
  cot+blend_0.75=../models/cot+$P/cot_blend_0.75.safetensors --math 300 --task-names niah_single_2 --lengths 1024 2048 4096 8192 &
python3 mechanism.py --models base=../models/base cot=../models/cot cot+restore=../models/cot+$P/cot_restore.safetensors \
  --grad-models base cot --niah work/tasks/niah_single_2_4096.jsonl --out work/eval2/mech.json 2>&1 \
  | grep -v -E "Loading weights|falling back" > work/eval2/mech.log &
( sleep $(( 540 - ($(date +%s) - start) )); pkill -f evaluate.py; pkill -f mechanism.py ) 2>/dev/null &
watchdog=$!
wait $(jobs -p | grep -v "^$watchdog$") 2>/dev/null
kill $watchdog 2>/dev/null
elapsed "done"
for f in work/eval2/*.log; do echo "== $f"; grep -v -E "^\s|Traceback|^torch\." "$f" | tail -40; done
tar -cf "$OUT/eval2.tar" -C work/eval2 .
