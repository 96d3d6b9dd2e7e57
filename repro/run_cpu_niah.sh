#!/usr/bin/env bash
# NIAH through the project's own tools end to end, on the CPU: `qkrestore niah generate` (RULER
# templates, ChatML, shipped KJV haystack), `qkrestore restore`, `qkrestore serve` (C++ engine),
# `qkrestore niah run` (RULER-exact prompt: input + answer prefix, greedy) and `niah score`.
# usage: repro/run_cpu_niah.sh [qkrestore] [task] [length] [samples]   (S2 at 1K, 100: ~6 min a model on 2 busy cores)
# Results go to repro/results/<version of the shipped models>/cpu_engine (the version from models/README.md's
# title); a result already there is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
Q=${1:-build/qkrestore}; TASK=${2:-niah_single_2}; LEN=${3:-1K}; N=${4:-100}
version=$(sed -n '1s/.*reproduction \(v[0-9]*\).*/\1/p' models/README.md)
[ -n "$version" ] || { echo "run_cpu_niah: models/README.md's title names no reproduction version" >&2; exit 1; }
w=repro/work/cpu_niah; mkdir -p "$w"; out=repro/results/$version/cpu_engine; mkdir -p "$out"
for name in base cot cot_restore; do
  if [ -e "$out/${name}_${TASK}_${LEN}.csv" ]; then
    echo "run_cpu_niah: $out/${name}_${TASK}_${LEN}.csv exists: remove it to measure again" >&2; exit 1
  fi
done
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
