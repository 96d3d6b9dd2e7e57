#!/usr/bin/env bash
# The reproduction pipeline (issue 15): `repro/run.sh STAGE`, each stage resumable from what it left in
# $REPRO_WORK (default repro/work). Stages and where they run:
#   data       NIAH task files: repro/tasks/*.jsonl.xz, made by `qkrestore niah generate` (regenerated and
#              compared; needs build/qkrestore), checked disjoint; the reasoning set data/reasoning/ (seed 12345)
#   tokenizer  byte-level BPE 4096 (repro/tokenizer.json is reused unless REPRO_RETRAIN_TOKENIZER=1)
#   smoke      the PyTorch chunked delta rule checked against transformers' fallback; chooses the kernel
#   pretrain   v2's base from scratch: retrieval + prose + arithmetic + short QA, length curriculum
#              (REPRO_BASE_FROM=DIR copies an existing pre-trained base instead: v3 started from v2's base)
#   midtrain   v3: the latent skill: 2-4 event problems worked in plain text, chat turns answered directly,
#              retrieval kept in the mixture (pretrain.py --init)
#   longctx    v4: long context from v3's base (REPRO_BASE_FROM=models/base): retrieval, prose and the
#              latent-skill documents at 2K-32K tokens, so that the base holds NIAH at 16K-32K
#   seed       v4 on a new machine: the shipped pair as base and cot_lr4e-4 (REPRO_STAGES="seed sft select ...")
#   longprobe  v4: a quick look at the long base (RULER NIAH-S2 on held-out prose at 8K-32K, 40 samples; 300
#              selection problems in chat and plain text) before SFT is spent on it
#   sft        CoT-SFT (one problem per sequence), the direct-answer control (same problems, steps and
#              sequences) and CoT with the global W_Q/W_K frozen, at each of $REPRO_LRS, side by side
#   select     per-layer / per-KV-group restore of each CoT model on the SELECTION set (NIAH-S2 2K/4K x 100,
#              seed 7; 300 problems, seed 777), then choose.py picks the learning rate and the group
#   repairs    patches (repair.py): QK-Restore, Q-only, K-only, V-only, the chosen layer and KV group
#   eval       NIAH-S2 1K-8K x 200 (greedy, RULER string_match_all, per-sample) + 1,000 held-out problems
#              for every model, and heads_eval.py (teacher-forced) on the chosen model, side by side
#   refs       engine reference logits of the models to ship (tools/refgen/engine) + cohere2 fixture
#   mechanism  attention-gradient vs distance, attention distance per global head (mechanism.py)
#   tables     v4: RESULTS.md's tables and the recall-vs-length plot from eval's files (tables_v4.py; CPU)
#   plots      v1's figures (CPU)
# GPU stages need torch + transformers (the device machine); data/plots run anywhere with tokenizers.
set -euo pipefail
export PYTHONUNBUFFERED=1
root=$(cd "$(dirname "$0")/.." && pwd)
W=${REPRO_WORK:-$root/repro/work}
mkdir -p "$W"
# Run from a snapshot of the code: on the device machine each call replaces the carried code folder, which
# would pull the working directory from under a stage that is still running.
if [ -z "${REPRO_SNAPSHOT:-}" ] && [ -n "${REPRO_DEVICE:-}" ]; then
  snap=$W/code.$$; rm -rf "$snap"; mkdir -p "$snap"; cp -r "$root/repro" "$root/data" "$root/tools" "$snap"/
  REPRO_SNAPSHOT=1 exec bash "$snap/repro/run.sh" "$@"
fi
cd "$root/repro"
stage=${1:?stage: data tokenizer smoke pretrain midtrain sft select repairs eval refs mechanism plots}
LRS=${REPRO_LRS:-"1e-4 2e-4 4e-4"}
SFT_STEPS=${REPRO_SFT_STEPS:-800}
T=$root/repro/tasks

kernel_env() {   # the delta-rule kernel the smoke stage chose
  if [ -f "$W/delta_check.json" ]; then
    python3 -c "import json; c=json.load(open('$W/delta_check.json'))['chosen']; print(f\"export REPRO_FAST_DELTA={int(c['fast'])} REPRO_DELTA_CHUNK={c['chunk']}\")"
  fi
}
chosen() { python3 -c "import json; print(json.load(open('$W/choice.json'))['$1'])"; }

case "$stage" in
data)
  python3 "$root/data/reasoning/make_reasoning_set.py" "$W/reasoning"
  # The committed task files are exactly what the product generates (generator version 2: seeds that no
  # longer collide), and the selection set shares no prompt with the reported set.
  if [ ! -x "$root/build/qkrestore" ]; then
    echo "data: build/qkrestore is missing: build it (scripts/test.sh or cmake) to regenerate and check repro/tasks" >&2
    exit 1
  fi
  for spec in "s2_eval|1K,2K,4K,8K,16K,32K|200|42" "s2_sel|2K,4K,8K,16K,32K|100|7"; do
    IFS='|' read -r name lengths n seed <<< "$spec"
    "$root/build/qkrestore" niah generate -q --tokenizer "$root/models/base" --tasks niah_single_2 --lengths "$lengths" \
      --samples "$n" --seed "$seed" --template chatml --out "$W/$name.jsonl"
    if [ -f "$T/$name.jsonl.xz" ]; then
      cmp "$W/$name.jsonl" <(xz -dc "$T/$name.jsonl.xz") && echo "$name: identical to repro/tasks"
    else
      xz -9e -T1 -k -c "$W/$name.jsonl" > "$T/$name.jsonl.xz" && echo "$name: written to repro/tasks"
    fi
  done
  python3 "$root/repro/disjoint.py" "$W/s2_sel.jsonl" "$W/s2_eval.jsonl" ;;
tokenizer)
  if [ "${REPRO_RETRAIN_TOKENIZER:-0}" = 1 ]; then python3 train_tokenizer.py --out tokenizer.json; fi
  cp tokenizer.json "$W/tokenizer.json" ;;
smoke)
  [ -s "$W/delta_check.json" ] || python3 smoke.py --out "$W/delta_check.json" ;;
pretrain)
  [ -s "$W/pretrained/model.safetensors" ] && exit 0
  if [ -n "${REPRO_BASE_FROM:-}" ]; then cp -r "$REPRO_BASE_FROM" "$W/pretrained"; exit 0; fi
  eval "$(kernel_env)"
  python3 pretrain.py --tokenizer tokenizer.json --out "$W/pretrained" --steps 3000 --minutes "${REPRO_PRETRAIN_MIN:-8.5}" --workers 11 ;;
midtrain)
  [ -s "$W/base/model.safetensors" ] && exit 0
  eval "$(kernel_env)"
  python3 pretrain.py --init "$W/pretrained" --tokenizer tokenizer.json --out "$W/base" --steps 600 \
    --minutes "${REPRO_MIDTRAIN_MIN:-4}" --lr 5e-4 --warmup 20 --stages '[[1.01, 512, 6144]]' --workers 11 \
    --retrieval-share 0.5 --qa-share 0.6 0.6 --mid-start 0 --qa-style latent ;;
seed)
  # v4 on a fresh machine: the shipped pair is the long base and its CoT-SFT at lr 4e-4; the controls (direct
  # answers, frozen W_Q/W_K; not shipped: 32 MB budget) are trained again by `sft` from the same base and seeds.
  # What earlier machines measured travels back in (sync_carry.sh copies results/v4): the kernel choice, the
  # CPU-side choice of learning rate and group, and every evaluation cell already done (evaluate.py resumes).
  M=${REPRO_MODELS:-$root/models}   # the checkout's models/ (the carried code folder has none)
  [ -s "$W/base/model.safetensors" ] || cp -r "$M/base" "$W/base"
  mkdir -p "$W/sft" "$W/ev"
  [ -s "$W/sft/cot_lr4e-4/model.safetensors" ] || cp -r "$M/cot" "$W/sft/cot_lr4e-4"
  R=$root/repro/results/v4
  for f in delta_check.json choice.json; do [ -s "$W/$f" ] || [ ! -s "$R/$f" ] || cp "$R/$f" "$W/$f"; done
  for f in "$R"/ev/*.json; do [ -e "$f" ] && [ ! -s "$W/ev/${f##*/}" ] && cp "$f" "$W/ev/"; done
  true ;;
longctx)
  [ -s "$W/base/model.safetensors" ] && exit 0
  eval "$(kernel_env)"
  python3 pretrain.py --init "$W/pretrained" --tokenizer tokenizer.json --out "$W/base" --steps 500 \
    --minutes "${REPRO_LONGCTX_MIN:-7}" --lr "${REPRO_LONGCTX_LR:-3e-4}" --warmup 20 \
    --stages '[[0.3, 2048, 16384], [1.01, 8192, 32768]]' --workers 14 \
    --retrieval-share 0.5 --qa-share 0.6 0.6 --mid-start 0 --qa-style latent ;;
longprobe)
  # A probe, not a reported number: RULER NIAH-S2 from niah_jsonl.py on prose held out of training, 40 samples
  # at 8K/16K/32K, and 300 selection-set problems in chat and plain text, before SFT is spent on the base.
  [ -s "$W/longprobe.json" ] && exit 0
  eval "$(kernel_env)"
  python3 niah_jsonl.py --tokenizer tokenizer.json --out "$W/probe_tasks" --tasks niah_single_2 \
    --lengths 8192 16384 32768 --samples 40 --seed 4242 --workers 3
  python3 evaluate.py --models base="$W/base" --tasks "$W/probe_tasks" --task-names niah_single_2 \
    --lengths 8192 16384 32768 --samples 40 --math 300 --math-plain 300 --math-seed 777 --out "$W/longprobe.json.tmp" \
    && mv "$W/longprobe.json.tmp" "$W/longprobe.json" ;;
sft)
  eval "$(kernel_env)"
  pids=()
  for lr in $LRS; do
    for spec in "cot|--style cot" "direct|--style direct" "cotfrozen|--style cot --freeze-global-qk"; do
      name=${spec%%|*}_lr$lr; args=${spec#*|}
      [[ " ${REPRO_SFT_VARIANTS:-cot direct cotfrozen} " == *" ${spec%%|*} "* ]] || continue
      [ -s "$W/sft/$name/model.safetensors" ] && continue
      mkdir -p "$W/sft"
      python3 sft.py --base "$W/base" --out "$W/sft/$name" --no-pack --batch 64 --steps "$SFT_STEPS" \
        --minutes "${REPRO_SFT_MIN:-4.5}" --lr "$lr" $args > "$W/sft/$name.log" 2>&1 &
      pids+=($!)
    done
  done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
  grep -h "steps," "$W"/sft/*.log || true
  exit $rc ;;
select)
  eval "$(kernel_env)"
  mkdir -p "$W/select"
  pids=()
  for lr in $LRS; do
    [ -s "$W/select/cot_lr$lr.json" ] && continue
    python3 heads_eval.py --base "$W/base" --sft "$W/sft/cot_lr$lr" --tasks "$T/s2_sel.jsonl.xz" --lengths 2048 4096 8192 16384 32768 \
      --samples 100 --math 300 --math-seed 777 --reasoning-top 2 --out "$W/select/cot_lr$lr.json.tmp" \
      > "$W/select/cot_lr$lr.log" 2>&1 && mv "$W/select/cot_lr$lr.json.tmp" "$W/select/cot_lr$lr.json" &
    pids+=($!)
  done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ $rc = 0 ] && python3 choose.py --select "$W/select" --out "$W/choice.json"
  exit $rc ;;
repairs)
  lr=$(chosen lr); g=$(chosen group); l=$(chosen layer)
  mkdir -p "$W/v1p"
  python3 repair.py --base "$W/base" --sft "$W/sft/cot_lr$lr" --out "$W/v1p/cot_lr$lr" \
    --variants restore q_only k_only v_only "group_$g" "layer_$l" > "$W/v1p/repairs.log"
  for x in $LRS; do
    [ "$x" = "$lr" ] || [ ! -d "$W/sft/cot_lr$x" ] || python3 repair.py --base "$W/base" --sft "$W/sft/cot_lr$x" --out "$W/v1p/cot_lr$x" --variants restore >> "$W/v1p/repairs.log"
    [ -d "$W/sft/direct_lr$x" ] || continue
    python3 repair.py --base "$W/base" --sft "$W/sft/direct_lr$x" --out "$W/v1p/direct_lr$x" --variants restore >> "$W/v1p/repairs.log"
  done ;;
eval)
  # Every model's NIAH-S2 at 1K-32K (200 samples a cell, greedy, per-sample outcomes) and reasoning on the
  # 1,000 test problems, all by evaluate.py (one harness for every reasoning number, v4), one process per model
  # ($REPRO_EVAL_JOBS at a time on the one GPU; REPRO_EVAL_MODELS picks and orders them), each into
  # ev/NAME.json, saved after every cell and resumed from it. The class-aware repair that `qkrestore sweep`
  # picked on the selection sets travels as repro/picks/v4_pick.safetensors (make_patch.py).
  # REPRO_EVAL_HEADS=1 adds heads_eval.py's per-group teacher-forced table (no reasoning).
  eval "$(kernel_env)"
  lr=$(chosen lr); g=$(chosen group); l=$(chosen layer)
  mkdir -p "$W/ev"
  S=$W/sft; P=$W/v1p/cot_lr$lr; D=$W/v1p/direct_lr$lr; C=$S/cot_lr$lr
  E="--tasks $T/s2_eval.jsonl.xz --task-names niah_single_2 --lengths 1024 2048 4096 8192 16384 32768 --samples 200 --math 1000 --batch-tokens ${REPRO_BATCH_TOKENS:-1000000}"
  declare -A spec=([base]="$W/base" [cot]="$C" [restore]="$C+${P}_restore.safetensors"
    [group]="$C+${P}_group_$g.safetensors" [pick]="$C+$root/repro/picks/v4_pick.safetensors"
    [direct]="$S/direct_lr$lr" [frozen]="$S/cotfrozen_lr$lr" [direct+restore]="$S/direct_lr$lr+${D}_restore.safetensors"
    [layer]="$C+${P}_layer_$l.safetensors" [q_only]="$C+${P}_q_only.safetensors" [k_only]="$C+${P}_k_only.safetensors"
    [v_only]="$C+${P}_v_only.safetensors")
  pids=()
  if [ "${REPRO_EVAL_HEADS:-0}" = 1 ] && [ ! -s "$W/ev/heads.json" ]; then
    python3 heads_eval.py --base "$W/base" --sft "$C" --tasks "$T/s2_eval.jsonl.xz" --lengths 1024 2048 4096 8192 16384 32768 \
      --samples 200 --math 0 --out "$W/ev/heads.json.tmp" > "$W/ev/heads.log" 2>&1 \
      && mv "$W/ev/heads.json.tmp" "$W/ev/heads.json" &
    pids+=($!)
  fi
  rc=0
  for name in ${REPRO_EVAL_MODELS:-base cot restore group pick direct frozen direct+restore layer q_only k_only v_only}; do
    [ -n "${spec[$name]:-}" ] || { echo "eval: unknown model $name" >&2; exit 2; }
    extra=""; [ "$name" = base ] && extra="--math-plain 1000"
    while [ "$(jobs -rp | wc -l)" -ge "${REPRO_EVAL_JOBS:-5}" ]; do wait -n || rc=1; done
    # evaluate.py resumes per cell: what ev/NAME.json holds is skipped
    python3 evaluate.py --models "$name=${spec[$name]}" $E $extra --out "$W/ev/$name.json" > "$W/ev/$name.log" 2>&1 &
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || rc=1; done
  exit $rc ;;
tables)
  # RESULTS.md's v4 tables and plot from what eval wrote (CPU, pure Python)
  python3 tables_v4.py "$W" --svg "$W/recall_vs_length.svg" | tee "$W/tables.md" ;;
mechanism)
  eval "$(kernel_env)"
  lr=$(chosen lr)
  python3 mechanism.py --models base="$W/base" cot="$W/sft/cot_lr$lr" \
    "cot+restore=$W/sft/cot_lr$lr+$W/v1p/cot_lr${lr}_restore.safetensors" \
    --niah "$T/s2_eval.jsonl.xz" --niah-length 4096 --grad-models base cot --out "$W/mech.json" ;;
refs)
  # Engine parity references of the models to ship (the test resolves model_dir against the repo root,
  # so the copies are named as they ship) and the cohere2 reference checkpoint pair.
  lr=$(chosen lr)
  rm -rf "$W/refs"; mkdir -p "$W/refs/models"
  cp -r "$W/base" "$W/refs/models/base"
  cp -r "$W/sft/cot_lr$lr" "$W/refs/models/cot"
  (cd "$W/refs" && for m in base cot; do
     python3 "$root/tools/refgen/engine/make_reference.py" engine --from-dir "models/$m" "shipped_$m"
   done)
  [ "${REPRO_REFS_COHERE2:-0}" = 1 ] && python3 "$root/tools/refgen/checkpoints/make_checkpoints.py" "$W/refs/checkpoints" cohere2
  true ;;
plots)
  python3 plots.py ;;   # v1's figures; v2 and v3 have tables (RESULTS.md)
*) echo "unknown stage $stage" >&2; exit 2 ;;
esac
