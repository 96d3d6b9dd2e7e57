#!/usr/bin/env bash
# Issue 23's speed target on this machine: a 20-candidate `qkrestore sweep` search at 8K, with 50 NIAH
# samples and 100 problems, in <= 60 minutes on 2 cores, on the workload a user would run:
#   recall:    RULER NIAH-S2 at LENGTHS (default 8K) x SAMPLES (default 50) random depths (seed 5151, the
#              models' ChatML), 24 answer tokens;
#   reasoning: the first PROBLEMS (default 100) of data/reasoning/selection.jsonl, the model's chat template,
#              176 tokens (as the demo);
#   search:    `heads` ranks the KV groups (its time counts), then SFT, base, the one-group repair and the
#              paper's restore, then greedy forward selection over UNITS (default: the early feed-forward
#              and linear-attention units first, then the later ones) at weights 0.25/0.5/1 until BUDGET
#              (default 20) candidates are measured.
# With --baseline N the first N candidates are measured again with the prefill reuse off (sweep
# --no-prefill-reuse, same answers), right after, for the ratio; the two runs' answers are compared.
# Usage: bench/search_bench.sh [--base DIR] [--sft DIR] [--lengths L] [--samples S] [--problems P]
#                              [--budget B] [--units LIST] [--baseline N] [--work DIR]
#        (QKRESTORE=BIN: the binary to time, default build/qkrestore)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=$here/models/base sft=$here/models/cot lengths=8K samples=50 problems=100 budget=20 baseline=0 work=""
units=mlp@0-2,linear@0-2,norm@0-2,mlp@3-5,linear@4-5,mlp@6-8,linear@6-8,mlp@9-11,linear@9-10,attn@7,attn@11,embed
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=$2 ;; --sft) sft=$2 ;; --lengths) lengths=$2 ;; --samples) samples=$2 ;; --problems) problems=$2 ;;
    --budget) budget=$2 ;; --units) units=$2 ;; --baseline) baseline=$2 ;; --work) work=$2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
qk=${QKRESTORE:-$here/build/qkrestore}
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"
source "$here/bench/timing.sh"   # load, timed

"$qk" niah generate -q --tokenizer "$sft" --tasks niah_single_2 --lengths "$lengths" --samples "$samples" --seed 5151 \
  --template chatml --out "$work/niah.jsonl"
echo "workload: $(wc -l <"$work/niah.jsonl") NIAH-S2 prompts at $lengths tokens; $problems problems; budget $budget; $(nproc) cores"
args=(--base "$base" --sft "$sft" --niah "$work/niah.jsonl" --reasoning "$here/data/reasoning/selection.jsonl"
      --reasoning-limit "$problems" --max-tokens 176 --niah-max-tokens 24 --units "$units" --budget "$budget")
echo "load before the search: $(load)"
timed search "$qk" sweep "${args[@]}" --out "$work/search"
echo "load after the search: $(load)"
if [ "$baseline" -gt 0 ]; then
  timed baseline "$qk" sweep "${args[@]}" --budget "$baseline" --no-prefill-reuse --out "$work/baseline"
  echo "load after the baseline: $(load)"
fi

python3 - "$work" "$baseline" "$here/bench" <<'PY'
import json, re, sys
sys.path.insert(0, sys.argv[3])
from sweep_timing import answers, per_candidate, times as run_times  # bench/sweep_timing.py
work, baseline = sys.argv[1], int(sys.argv[2])
wall, cpu, rss = run_times(work, "search")
measured = per_candidate(f"{work}/search.log")
heads = next((float(m.group(1)) for m in re.finditer(r"heads ranked in (\d+) s", open(f"{work}/search.log").read())), 0)
print(f"search ({len(measured)} candidates, heads {heads:.0f} s): {wall:.0f} s wall, {cpu:.0f} s CPU, peak RSS {rss:.0f} MiB; "
      f"target <= 3600 s with 20 candidates: {'PASS' if wall <= 3600 and len(measured) >= 20 else 'FAIL'}")
for line in open(f"{work}/search.log"):
    if line.startswith("sweep: prefill reuse"): print(" ", line.strip())
print("| candidate | seconds |\n|---|---:|")
for name, seconds in measured: print(f"| {name} | {seconds} |")
if baseline:
    b_wall, b_cpu, _ = run_times(work, "baseline")
    before = per_candidate(f"{work}/baseline.log")
    same = sum(answers(f"{work}/search", n) == answers(f"{work}/baseline", n) for n, _ in before)
    now = sum(s for n, s in measured[:len(before)])
    print(f"baseline (prefill reuse off), the first {len(before)} candidates: {b_wall:.0f} s wall, {b_cpu:.0f} s CPU; "
          f"the same candidates with it: {now} s; ratio {sum(s for _, s in before) / max(now, 1):.2f} x; "
          f"answers identical for {same} of {len(before)} candidates")
print(next((l.strip() for l in open(f"{work}/search.log") if l.startswith("pick: ")), "pick: -"))
PY
