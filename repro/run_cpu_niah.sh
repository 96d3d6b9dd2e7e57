#!/usr/bin/env bash
# NIAH through the project's own tools end to end, on the CPU: `qkrestore niah generate` (RULER
# templates, ChatML, shipped KJV haystack), `qkrestore restore`, `qkrestore serve` (C++ engine),
# `qkrestore niah run` (RULER-exact prompt: input + answer prefix, greedy) and `niah score`.
# usage: repro/run_cpu_niah.sh [qkrestore] [task] [length] [samples]   (S2 at 1K, 100: ~6 min a model on 2 busy cores)
set -euo pipefail
cd "$(dirname "$0")/.."
Q=${1:-build-repro/qkrestore}; TASK=${2:-niah_single_2}; LEN=${3:-1K}; N=${4:-100}
w=repro/work/cpu_niah; mkdir -p "$w"; out=repro/results/cpu_engine; mkdir -p "$out"
"$Q" niah generate --tokenizer models/base --tasks "$TASK" --lengths "$LEN" --samples "$N" --seed 42 \
  --template chatml --out "$w/tasks.jsonl"
rm -rf "$w/cot_restore"
"$Q" restore --base models/base --sft models/cot --out "$w/cot_restore" -q || true   # see RESULTS.md: exit 139 after writing
port=8021
for m in base=models/base cot=models/cot cot_restore=$w/cot_restore; do
  name=${m%%=*}; dir=${m#*=}
  "$Q" serve --model "$dir" --port $port --served-model-name "$name" > "$w/serve_$name.log" 2>&1 &
  pid=$!; sleep 2
  rm -f "$w/$name.jsonl"
  "$Q" niah run --tasks "$w/tasks.jsonl" --server http://127.0.0.1:$port --model "$name" -j 8 --max-tokens 48 \
    --out "$w/$name.jsonl" -q
  kill $pid
  "$Q" niah score "$w/$name.jsonl" --out "$w/score_$name" > /dev/null
  cp "$w/score_$name/summary.csv" "$out/${name}_${TASK}_${LEN}.csv"
  port=$((port + 1))
done
tail -n +1 "$out"/*_${TASK}_${LEN}.csv
