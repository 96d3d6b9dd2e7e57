#!/usr/bin/env bash
# Long prompts on two builds of the engine, side by side: build/bench/prompt_bench of this tree and of an
# older one (its source builds against the engine before bf16 weights too), alternated round by round so the
# machine's load hits both alike. Default workload: the shipped models' regime (models/base: hidden 256, bf16
# on disk) at 1K, 8K and 32K prompt tokens with 24 greedy tokens (a NIAH answer's length); each ratio is
# new / old within one round, wall clock and per CPU-second.
#   bench/prompt_ab.sh OLD_PROMPT_BENCH [--model DIR] [--lengths 1024,8192,32768] [--decode 24] [--rounds 3]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
old=$1; shift
new=${PROMPT_BENCH:-$here/build/bench/prompt_bench}
model=$here/models/base lengths=1024,8192,32768 decode=24 rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2 ;; --lengths) lengths=$2 ;; --decode) decode=$2 ;; --rounds) rounds=$2 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift 2
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "$model, $(nproc) cores"
for round in $(seq "$rounds"); do
  for tokens in ${lengths//,/ }; do
    for side in new old; do
      bin=$new; [ "$side" = old ] && bin=$old
      "$bin" "$model" --tokens "$tokens" --decode "$decode" |
        sed "s/^{/{\"round\":$round,\"side\":\"$side\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",/" >>"$out"
    done
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| prompt | new prefill s (tok/s) | old prefill s (tok/s) | new / old speed, wall | per CPU-s | decode tok/s new / old | greedy tokens equal | load |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sorted({r["prompt_tokens"] for r in rows}):
    for rnd in sorted({r["round"] for r in rows}):
        new = next(r for r in rows if r["prompt_tokens"] == n and r["round"] == rnd and r["side"] == "new")
        old = next(r for r in rows if r["prompt_tokens"] == n and r["round"] == rnd and r["side"] == "old")
        print(f"| {n} | {new['prefill_s']:.2f} ({new['prefill_tok_s']:.0f}) | {old['prefill_s']:.2f} ({old['prefill_tok_s']:.0f}) | "
              f"{old['prefill_s'] / new['prefill_s']:.2f} x | {old['prefill_cpu_s'] / new['prefill_cpu_s']:.2f} x | "
              f"{new['decode_tok_s']:.1f} / {old['decode_tok_s']:.1f} | {sum(a == b for a, b in zip(new['tokens'], old['tokens']))} of {len(new['tokens'])} | "
              f"{new['load']} / {old['load']} |")
PY
