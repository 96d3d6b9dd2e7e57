#!/usr/bin/env bash
# Stage A on the GPU machine (~2-3 min): trains the tokenizer and smoke-tests every piece.
# device: run with carry ["repro/data"];  outputs: $OUT/tokenizer.json, smoke_report.json, smoke.log
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
t=$(date +%s); python3 train_tokenizer.py --out "$OUT/tokenizer.json"; echo "tokenizer: $(( $(date +%s) - t ))s"
python3 smoke.py --tokenizer "$OUT/tokenizer.json" --out "$OUT" 2>&1 | tee "$OUT/smoke.log"
cp "$OUT/tasks/niah_single_2_1024.jsonl" "$OUT/sample_niah_single_2_1024.jsonl"
rm -rf "$OUT/smoke_model" "$OUT/tasks"
