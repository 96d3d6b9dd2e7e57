#!/usr/bin/env bash
# Stage E on the GPU machine (< 9.5 min): the SFT sweep that separates output-format capture from lost
# routing. Stage D's SFT answers ended "The answer is N.", the shape of NIAH's answer prefix ("... is
# N"); here the answers end "#### N" (--answer-format hash), at the rates and lengths the pilot says
# drive the effect, plus the gentle original-format run and the non-CoT control at equal steps.
# The tiny models leave the H100 mostly idle, so the runs train side by side, then each SFT model and
# its `restore` repair are evaluated side by side (NIAH-S2 at 1K/4K/8K x 50, reasoning on 300 problems).
# Also writes the transformers reference logits of the shipped models for the engine's parity test.
# device: run with carry ["repro/data"], timeout 590.
set -uo pipefail
export PYTHONUNBUFFERED=1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/repro"
mkdir -p work/sweep "$OUT"
start=$(date +%s)
elapsed() { echo "[$(( $(date +%s) - start )) s] $*"; }

(cd "$root" && for m in base cot; do
   python3 tools/refgen/engine/make_reference.py work_engine_ref --from-dir models/$m $m || echo "engine reference $m FAILED"
 done; tar -cf "$OUT/engine_ref.tar" -C work_engine_ref .) > work/sweep/engine_ref.log 2>&1 &
python3 niah_jsonl.py --tokenizer tokenizer.json --out work/tasks_s2 --lengths 1024 4096 8192 --tasks niah_single_2 \
  --samples 50 --workers 3 --haystack ../data/niah/haystack-kjv.txt --keys-dir ../data/niah > work/sweep/niah_gen.log 2>&1 &

# name | sft.py arguments
VARIANTS=(
  "hash_lr3e-5_3ep|--style cot --answer-format hash --lr 3e-5 --epochs 3"
  "hash_lr1e-4_1ep|--style cot --answer-format hash --lr 1e-4 --epochs 1"
  "hash_lr1e-4_3ep|--style cot --answer-format hash --lr 1e-4 --epochs 3"
  "hash_lr3e-4_1ep|--style cot --answer-format hash --lr 3e-4 --epochs 1"
  "hashdirect_lr1e-4|--style direct --answer-format hash --lr 1e-4 --steps 597"
  "is_lr1e-5_3ep|--style cot --answer-format is --lr 1e-5 --epochs 3"
)
pids=()
for v in "${VARIANTS[@]}"; do
  name=${v%%|*}; args=${v#*|}
  python3 sft.py --base ../models/base --out work/sweep/$name $args > work/sweep/$name.sft.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
elapsed "SFT done"; grep -h "steps," work/sweep/*.sft.log

pids=()
for v in "${VARIANTS[@]}"; do
  name=${v%%|*}
  (python3 repair.py --base ../models/base --sft work/sweep/$name --out work/sweep/${name}_patch --variants restore >/dev/null 2>&1
   while [ ! -s work/tasks_s2/niah_single_2_8192.jsonl ]; do sleep 2; done; sleep 2
   python3 evaluate.py --models $name=work/sweep/$name "$name+restore=work/sweep/$name+work/sweep/${name}_patch_restore.safetensors" \
     --tasks work/tasks_s2 --task-names niah_single_2 --lengths 1024 4096 8192 --samples 50 --math 300 \
     --out work/sweep/$name.eval.json 2>&1 | grep -v -E "Loading weights|falling back" > work/sweep/$name.eval.log) &
  pids+=($!)
done
# Whatever is evaluated by 530 s comes back (evaluate.py writes its JSON after each model).
( sleep $(( 530 - ($(date +%s) - start) )); pkill -f evaluate.py ) 2>/dev/null &
watchdog=$!
for p in "${pids[@]}"; do wait $p; done
kill $watchdog 2>/dev/null
elapsed "evaluation done"; cat work/sweep/*.eval.log
python3 - <<'PY'
import json, glob, os
out = {}
for f in sorted(glob.glob("work/sweep/*.eval.json")):
    out.update(json.load(open(f)))
for f in sorted(glob.glob("work/sweep/*/train_log.json")):
    out.setdefault("train_logs", {})[f.split("/")[-2]] = json.load(open(f))
json.dump(out, open("work/sweep/sweep_eval.json", "w"), indent=1)
PY
tar -cf "$OUT/sweep_logs.tar" -C work/sweep sweep_eval.json $(cd work/sweep && ls *.log)
for v in "${VARIANTS[@]}"; do
  name=${v%%|*}
  python3 -c "import common; common.tar_dir('work/sweep/$name', '$OUT/$name.tar')" 2>/dev/null || true
done
cat work/sweep/engine_ref.log | tail -3
ls -la "$OUT"; elapsed "all done"
