#!/usr/bin/env bash
# Issue 14's speed targets on this machine: `qkrestore heads` on the shipped models under 2 minutes, and a
# 10-candidate `qkrestore sweep` with the embedded engine under 15 minutes, on a workload a user would run:
#   recall:    RULER NIAH-S2 where the shipped CoT model loses its recall: LENGTHS (default 1K,2K) x a grid
#              of DEPTHS depths x SAMPLES samples (default 3 x 5: 30 prompts, seed 1, the models' ChatML),
#              24 answer tokens: the sizes of scripts/demo.sh;
#   reasoning: the first PROBLEMS (default 100) of the selection set data/reasoning/selection.jsonl (the
#              set to choose on, not the test set), the model's chat template, 176 tokens (as the demo);
#   candidates: SFT, base, the top-1..3 KV groups of `heads`, each global layer alone, the paper's restore,
#              one blend (alpha 0.5) = 10 for the shipped 3-global-layer models.
# Intervals at these sizes: 30 NIAH prompts give recall to about +-17 points (Wilson), enough to tell the
# demo's 76.7 [59.1, 88.2] from SFT's collapse; with 100 problems the exact McNemar test of the rule
# separates a 10-point reasoning loss (the v2 demo's restore: p = 1e-6; v3's: p = 1e-7) from noise.
# With --old BIN (a qkrestore built before a change) the same sweep and heads run with it too, right after,
# and the bench prints the time ratios and checks that every candidate answered every prompt identically.
# Usage: bench/sweep_bench.sh [--base DIR] [--sft DIR] [--old BIN] [--lengths L] [--depths D] [--samples S]
#                             [--problems P] [--work DIR]
#        (defaults: models/base, models/cot, none, 1K,2K, 3, 5, 100, a temp dir; QKRESTORE=BIN: the new binary)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=$here/models/base sft=$here/models/cot old="" lengths=1K,2K depths=3 samples=5 problems=100 work=""
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=$2 ;; --sft) sft=$2 ;; --old) old=$2 ;; --lengths) lengths=$2 ;; --depths) depths=$2 ;; --samples) samples=$2 ;;
    --problems) problems=$2 ;; --work) work=$2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
if [ -z "${QKRESTORE:-}" ]; then
  cmake --build "$here/build" -j"$(nproc)" --target qkrestore >/dev/null
  qk=$here/build/qkrestore
else
  qk=$QKRESTORE
fi
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"
source "$here/bench/timing.sh"   # load, timed

"$qk" niah generate -q --tokenizer "$sft" --tasks niah_single_2 --lengths "$lengths" --grid-depths "$depths" --samples "$samples" \
  --seed 1 --template chatml --out "$work/niah.jsonl"
echo "workload: $(wc -l <"$work/niah.jsonl") NIAH-S2 prompts at $lengths tokens; $problems problems of data/reasoning/selection.jsonl; $(nproc) cores"

echo "load before heads: $(load)"
timed heads "$qk" heads --base "$base" --sft "$sft" --engine embedded --out "$work/heads"
sweep_args=(--base "$base" --sft "$sft" --niah "$work/niah.jsonl" --reasoning "$here/data/reasoning/selection.jsonl"
            --reasoning-limit "$problems" --max-tokens 176 --niah-max-tokens 24 --heads-file "$work/heads/heads.json"
            --top-k 3 --blend 0.5 --qkpro '')
echo "load before sweep: $(load)"
timed sweep "$qk" sweep "${sweep_args[@]}" --out "$work/sweep"
echo "load after sweep: $(load)"
if [ -n "$old" ]; then
  timed sweep_old "$old" sweep "${sweep_args[@]}" --out "$work/sweep_old"
  echo "load after the old binary's sweep: $(load)"
  timed heads_old "$old" heads --base "$base" --sft "$sft" --engine embedded --out "$work/heads_old"
  echo "load after the old binary's heads: $(load)"
fi

python3 - "$work" "$old" "$here/bench" <<'PY'
import json, os, re, sys
sys.path.insert(0, sys.argv[3])
from sweep_timing import answers, per_candidate, times as run_times  # bench/sweep_timing.py
work, old = sys.argv[1], sys.argv[2]

h_wall, h_cpu, h_rss = run_times(work, "heads")
s_wall, s_cpu, s_rss = run_times(work, "sweep")
new = per_candidate(f"{work}/sweep.log")
print(f"heads: {h_wall:.1f} s wall, {h_cpu:.1f} s CPU, peak RSS {h_rss:.0f} MiB; target < 120 s: {'PASS' if h_wall < 120 else 'FAIL'}")
print(f"sweep ({len(new)} candidates): {s_wall:.1f} s wall, {s_cpu:.1f} s CPU, peak RSS {s_rss:.0f} MiB; "
      f"target < 900 s: {'PASS' if s_wall < 900 and len(new) == 10 else 'FAIL'}")
for line in open(f"{work}/sweep.log"):
    if line.startswith("sweep: prefill reuse"): print(" ", line.strip())
if old:
    ho_wall, ho_cpu, _ = run_times(work, "heads_old")
    same = open(f"{work}/heads/heads.json").read() == open(f"{work}/heads_old/heads.json").read()
    print(f"old binary's heads: {ho_wall:.1f} s wall, {ho_cpu:.1f} s CPU; old / new: {ho_wall / h_wall:.2f} x wall, "
          f"{ho_cpu / h_cpu:.2f} x CPU; heads.json {'identical' if same else 'DIFFERS'}")
    o_wall, o_cpu, o_rss = run_times(work, "sweep_old")
    before = dict(per_candidate(f"{work}/sweep_old.log"))
    print(f"old binary's sweep: {o_wall:.1f} s wall, {o_cpu:.1f} s CPU, peak RSS {o_rss:.0f} MiB; "
          f"old / new: {o_wall / s_wall:.2f} x wall, {o_cpu / s_cpu:.2f} x CPU")
    print("| candidate | new (s) | old (s) | old / new | answers differing |")
    print("|---|---:|---:|---:|---:|")
    differing = 0
    for name, seconds in new:
        a, b = answers(f"{work}/sweep", name), answers(f"{work}/sweep_old", name)
        d = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
        differing += d
        print(f"| {name} | {seconds} | {before.get(name, '-')} | {before[name] / seconds if seconds else float('nan'):.2f} | {d} of {len(a)} |")
    print(f"answers identical to the old binary's: {'yes' if differing == 0 else f'NO, {differing} differ'}")
else:
    print("| candidate | seconds |")
    print("|---|---:|")
    for name, seconds in new: print(f"| {name} | {seconds} |")
print("pick:", next((l.split('pick: ', 1)[1].strip() for l in open(f"{work}/sweep.log") if l.startswith("pick: ")), "-"))
PY
