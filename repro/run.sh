#!/usr/bin/env bash
# The reproduction pipeline (issue 15): `repro/run.sh STAGE`, each stage resumable from what it left in
# $REPRO_WORK (default repro/work). Stages and where they run:
#   data       NIAH task files (RULER S2 at 1K-8K, 200 samples; selection set S2 2K, seed 7) + reasoning set
#   tokenizer  byte-level BPE 4096 (repro/tokenizer.json is reused unless REPRO_RETRAIN_TOKENIZER=1)
#   smoke      the PyTorch chunked delta rule checked against transformers' fallback; chooses the kernel
#   pretrain   base model: retrieval + prose + arithmetic + short QA (latent skill), length curriculum
#   sft        CoT-SFT, direct-answer control (same lr, same tokens), CoT with global W_Q/W_K frozen, 2 lrs
#   repairs    patches: QK-Restore of the global layers, Q-only, K-only, V-only (repair.py)
#   eval       NIAH-S2 1K-8K x 200 (greedy, RULER string_match_all) + 1,000 held-out problems (evaluate.py)
#   mechanism  attention-gradient vs distance, attention distance per global head (mechanism.py; not run in v2)
#   refs       engine reference logits of the shipped models (tools/refgen/engine) + cohere2 fixture
#   plots      v1's figures (CPU)
# GPU stages need torch + transformers (the device machine); data/plots run anywhere with tokenizers.
set -euo pipefail
export PYTHONUNBUFFERED=1
root=$(cd "$(dirname "$0")/.." && pwd)
W=${REPRO_WORK:-$root/repro/work}
mkdir -p "$W"
cd "$root/repro"
stage=${1:?stage: data tokenizer smoke pretrain sft repairs eval mechanism refs plots}
SFT_STEPS=${REPRO_SFT_STEPS:-400}
LRS=${REPRO_LRS:-"1e-4 2e-4"}

kernel_env() {   # the delta-rule kernel the smoke stage chose
  if [ -f "$W/delta_check.json" ]; then
    python3 -c "import json; c=json.load(open('$W/delta_check.json'))['chosen']; print(f\"export REPRO_FAST_DELTA={int(c['fast'])} REPRO_DELTA_CHUNK={c['chunk']}\")"
  fi
}

case "$stage" in
data)
  python3 "$root/data/reasoning/make_reasoning_set.py" "$W/reasoning"
  for spec in "tasks|1024 2048 4096 8192|200|42" "tasks_sel|2048|100|7"; do
    IFS='|' read -r dir lengths n seed <<< "$spec"
    [ -s "$W/$dir/niah_single_2_${lengths##* }.jsonl" ] && continue
    python3 niah_jsonl.py --tokenizer tokenizer.json --out "$W/$dir.tmp" --lengths $lengths --tasks niah_single_2 \
      --samples "$n" --seed "$seed" --workers 4 --haystack ../data/niah/haystack-kjv.txt --keys-dir ../data/niah
    rm -rf "$W/$dir"; mv "$W/$dir.tmp" "$W/$dir"
  done ;;
tokenizer)
  if [ "${REPRO_RETRAIN_TOKENIZER:-0}" = 1 ]; then python3 train_tokenizer.py --out tokenizer.json; fi
  cp tokenizer.json "$W/tokenizer.json" ;;
smoke)
  [ -s "$W/delta_check.json" ] || python3 smoke.py --out "$W/delta_check.json" ;;
pretrain)
  [ -s "$W/base/model.safetensors" ] && exit 0
  eval "$(kernel_env)"
  python3 pretrain.py --tokenizer tokenizer.json --out "$W/base" --steps 3000 --minutes "${REPRO_PRETRAIN_MIN:-8.5}" --workers 11 ;;
sft)
  eval "$(kernel_env)"
  pids=()
  for lr in $LRS; do
    for spec in "cot|--style cot" "direct|--style direct" "cotfrozen|--style cot --freeze-global-qk"; do
      name=${spec%%|*}_lr$lr; args=${spec#*|}
      [ -s "$W/sft/$name/model.safetensors" ] && continue
      mkdir -p "$W/sft"
      python3 sft.py --base "$W/base" --out "$W/sft/$name" --steps "$SFT_STEPS" --lr "$lr" $args > "$W/sft/$name.log" 2>&1 &
      pids+=($!)
    done
  done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
  grep -h "steps," "$W"/sft/*.log || true
  exit $rc ;;
repairs)
  # What v2 ran (RESULTS.md): QK-Restore of the three global layers and the Q-only / K-only / V-only
  # ablations for the CoT models, QK-Restore for the direct-answer controls. Per-layer and per-KV-group
  # patches were NOT run in v2 (the device budget ran out; RESULTS.md says what remains).
  mkdir -p "$W/v1p"
  for lr in $LRS; do
    python3 repair.py --base "$W/base" --sft "$W/sft/cot_lr$lr" --out "$W/v1p/cot_lr$lr" --variants restore q_only k_only v_only
    python3 repair.py --base "$W/base" --sft "$W/sft/direct_lr$lr" --out "$W/v1p/direct_lr$lr" --variants restore
  done ;;
eval)
  # NIAH-S2 at 1K-8K x 200 (greedy, RULER string_match_all) and the 1,000 held-out problems, five
  # evaluations side by side on the GPU (300K prompt tokens per batch each: 400K ran out of memory).
  eval "$(kernel_env)"
  mkdir -p "$W/ev"
  S=$W/sft; P=$W/v1p
  E="--tasks $W/tasks --task-names niah_single_2 --lengths 1024 2048 4096 8192 --samples 200 --math 1000 --batch-tokens 300000"
  models=()
  models+=("a|base=$W/base cot1=$S/cot_lr1e-4 cot2=$S/cot_lr2e-4")
  models+=("b|cot1+restore=$S/cot_lr1e-4+$P/cot_lr1e-4_restore.safetensors cot2+restore=$S/cot_lr2e-4+$P/cot_lr2e-4_restore.safetensors direct1=$S/direct_lr1e-4")
  models+=("c|direct2=$S/direct_lr2e-4 frozen1=$S/cotfrozen_lr1e-4 frozen2=$S/cotfrozen_lr2e-4")
  models+=("d|cot1+q=$S/cot_lr1e-4+$P/cot_lr1e-4_q_only.safetensors cot1+k=$S/cot_lr1e-4+$P/cot_lr1e-4_k_only.safetensors cot1+v=$S/cot_lr1e-4+$P/cot_lr1e-4_v_only.safetensors direct1+restore=$S/direct_lr1e-4+$P/direct_lr1e-4_restore.safetensors")
  models+=("e|cot2+q=$S/cot_lr2e-4+$P/cot_lr2e-4_q_only.safetensors cot2+k=$S/cot_lr2e-4+$P/cot_lr2e-4_k_only.safetensors cot2+v=$S/cot_lr2e-4+$P/cot_lr2e-4_v_only.safetensors direct2+restore=$S/direct_lr2e-4+$P/direct_lr2e-4_restore.safetensors")
  pids=()
  for m in "${models[@]}"; do
    part=${m%%|*}; specs=${m#*|}
    python3 evaluate.py --models $specs $E --out "$W/ev/$part.json" > "$W/ev/$part.log" 2>&1 &
    pids+=($!)
  done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
  exit $rc ;;
mechanism)
  # v1's measurements (attention-gradient vs distance, attention distance per global head); not run in v2.
  eval "$(kernel_env)"
  python3 mechanism.py --models base="$W/base" cot="$W/sft/cot_lr2e-4" \
    "cot+restore=$W/sft/cot_lr2e-4+$W/v1p/cot_lr2e-4_restore.safetensors" \
    --niah "$W/tasks/niah_single_2_4096.jsonl" --grad-models base --out "$W/mech.json" ;;
refs)
  # Engine parity references of the shipped models (the test resolves model_dir against the repo root,
  # so the copies are named as they ship) and the cohere2 reference checkpoint pair.
  mkdir -p "$W/refs/models"
  cp -r "$W/base" "$W/refs/models/base"
  cp -r "$W/sft/cot_lr2e-4" "$W/refs/models/cot"
  (cd "$W/refs" && for m in base cot; do
     python3 "$root/tools/refgen/engine/make_reference.py" engine --from-dir "models/$m" "shipped_$m"
   done)
  python3 "$root/tools/refgen/checkpoints/make_checkpoints.py" "$W/refs/checkpoints" cohere2 ;;
plots)
  python3 plots.py ;;   # v1's figures; v2 has tables only (RESULTS.md)
*) echo "unknown stage $stage" >&2; exit 2 ;;
esac
