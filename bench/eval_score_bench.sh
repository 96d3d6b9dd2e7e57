#!/usr/bin/env bash
# `eval score` on 1M predictions (issue 13's target: under 10 s on one core). Writes a predictions JSONL
# of N lines shaped like a real GSM8K run (an 8-shot-sized prompt, a worked reply in one of the answer
# formats, a tenth of them sampled wrong), then times, in one run and on one core (taskset):
#   read floor: `cat FILE > /dev/null` (the bytes alone)
#   qkrestore eval score FILE
# and prints the ratio. Usage: bench/eval_score_bench.sh [N=1000000] [QKRESTORE=build/qkrestore]
set -euo pipefail
n=${1:-1000000}
qk=${2:-build/qkrestore}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$n" "$work/preds.jsonl" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(0)
shot = "Question: A farmer has 3 pens with 1,250 chickens each. How many chickens?\nAnswer: 3 * 1,250 = 3,750.\n#### 3750\n\n"
formats = ["The answer is {}.", "#### {}", "so we get \\boxed{{{}}}", "She has {} apples left.", "<think>hmm</think>The answer is ${}$."]
with open(path, "w") as f:
    for i in range(n):
        gold = random.randint(1, 99999)
        said = gold if random.random() > 0.1 else gold + 1
        pred = f"First {random.randint(2,9)} * {random.randint(2,99)} = {random.randint(10,999)}. " + random.choice(formats).format(f"{said:,}")
        f.write(json.dumps({"id": str(i), "prompt": shot * 8 + f"Question: problem {i}\nAnswer:", "pred": pred,
                            "extracted": "", "rule": "", "gold": str(gold), "correct": False, "think": False,
                            "finish_reason": "stop", "truncated": False, "completion_tokens": 40}) + "\n")
PY
size=$(du -m "$work/preds.jsonl" | cut -f1)
echo "predictions: $n lines, $size MB"
cat "$work/preds.jsonl" > /dev/null  # warm the page cache for both
t0=$(date +%s.%N); taskset -c 0 cat "$work/preds.jsonl" > /dev/null; t1=$(date +%s.%N)
taskset -c 0 "$qk" eval score "$work/preds.jsonl" --out "$work/summary" | head -1
t2=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$n" "$size" <<'PY'
import sys
t0, t1, t2, n, size = map(float, sys.argv[1:])
cat, score = t1 - t0, t2 - t1
print(f"read floor (cat): {cat:.2f} s; eval score: {score:.2f} s = {n / score / 1e6:.2f} M predictions/s, "
      f"{size / score:.0f} MB/s; target < 10 s for 1M: {'met' if score * 1e6 / n < 10 else 'MISSED'}")
PY
