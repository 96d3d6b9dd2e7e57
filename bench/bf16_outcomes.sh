#!/usr/bin/env bash
# Do the engine's bf16 weights and flushed denormals change what the shipped models answer? Runs the same 100
# NIAH-S2 prompts (1K and 2K tokens, 5 depths, 10 samples) and 100 reasoning problems (data/reasoning/test.jsonl)
# through models/base and models/cot with this build's qkrestore and with an older one (--old BIN: the engine
# that decoded bf16 to f32 at load and kept denormals), all greedy, and counts per model and set the answers
# whose text differs and the outcomes (correct / wrong) that differ, with McNemar's exact test on the outcomes.
#   bench/bf16_outcomes.sh --old OLD_QKRESTORE [--work DIR] [--problems 100]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
old="" work="" problems=100
while [ $# -gt 0 ]; do
  case $1 in
    --old) old=$2 ;; --work) work=$2 ;; --problems) problems=$2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$old" ] || { echo "--old BIN is required" >&2; exit 2; }
qk=${QKRESTORE:-$here/build/qkrestore}
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"
"$qk" niah generate -q --tokenizer "$here/models/cot" --tasks niah_single_2 --lengths 1K,2K --grid-depths 5 --samples 10 \
  --seed 1 --template chatml --out "$work/niah.jsonl"
head -n "$problems" "$here/data/reasoning/test.jsonl" >"$work/problems.jsonl"
for model in base cot; do
  for side in new old; do
    bin=$qk; [ "$side" = old ] && bin=$old
    start=$(date +%s.%N)
    "$bin" niah run -q --engine embedded --model "$here/models/$model" --tasks "$work/niah.jsonl" --max-tokens 24 \
      --out "$work/$model.$side.niah.jsonl"
    "$bin" eval run -q --engine embedded --model "$here/models/$model" --tasks "$work/problems.jsonl" --template chatml \
      --max-tokens 176 --out "$work/$model.$side.eval.jsonl"
    echo "$model, $side binary: $(echo "$(date +%s.%N) - $start" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done
/usr/bin/python3 - "$work" <<'PY'
import json, math, sys
work = sys.argv[1]
def rows(path):
    return {r["id"]: r for r in map(json.loads, open(path))}
def correct(r):
    if "outputs" in r:  # NIAH: every needle value in the reply (RULER's string match)
        return all(o in r["pred"] for o in r["outputs"])
    return bool(r["correct"])
def mcnemar(b, c):  # exact two-sided binomial test on the discordant pairs
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(0, min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)
print("| model | set | items | answers differing | outcomes differing (new right / old right) | McNemar p |")
print("|---|---|---:|---:|---:|---:|")
for model in ("base", "cot"):
    for kind in ("niah", "eval"):
        new, old = rows(f"{work}/{model}.new.{kind}.jsonl"), rows(f"{work}/{model}.old.{kind}.jsonl")
        ids = sorted(set(new) & set(old))
        text = sum(new[i]["pred"] != old[i]["pred"] for i in ids)
        b = sum(bool(correct(new[i])) and not correct(old[i]) for i in ids)
        c = sum(bool(correct(old[i])) and not correct(new[i]) for i in ids)
        print(f"| {model} | {kind} | {len(ids)} | {text} | {b + c} ({b} / {c}) | {mcnemar(b, c):.3g} |")
PY
