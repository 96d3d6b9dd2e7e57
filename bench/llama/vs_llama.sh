#!/usr/bin/env bash
# Issue 26's targets, side by side in one run: the embedded engine on a bf16 checkpoint against llama.cpp on
# the BF16 GGUF of the same weights (llama.cpp's prebuilt CPU binaries from node-llama-cpp; the GGUF written
# by llama.cpp's own gguf-py, taken from the llama.cpp sources that package ships), both at --threads (2):
#   prefill tok/s of a 2048-token prompt, decode tok/s (greedy), load (process start to ready), peak RSS,
#   greedy tokens compared; rounds alternate the two programs, ratios are taken within a round. After each
#   engine run, on the same threads: read bandwidth and the engine's bf16 GEMM rate (prompt_bench --yardsticks),
#   so that decode is also given as bytes of weights per token / time against that bandwidth, and prefill as the
#   products' FLOPs (2 per active weight per prompt token; attention and the delta rule not counted) / time
#   against that GEMM rate.
# The model: bench/llama/make_moe_checkpoint.py (397M-parameter qwen3_next MoE, random bf16 weights).
#   bench/llama/vs_llama.sh [--work DIR] [--rounds 3] [--tokens 2048] [--decode 64] [--threads 2] [--f32] [--old PROMPT_BENCH]
# On a machine other processes load, llama.cpp's threads busy-wait at each barrier for threads that are not
# running, and its decode falls apart; --threads 1 compares the two without barriers.
# --f32 adds llama.cpp on the F32 GGUF (whose greedy tokens must equal the engine's: same values, f32 math).
# --old adds an older build's prompt_bench to each round ("engine old"), for a change's effect beside llama.cpp.
# Needs: build/bench/prompt_bench, node + npm (npm ci here), python3-numpy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=/tmp/qk-llama-bench rounds=3 tokens=2048 decode=64 threads=2 f32=0 old=
while [ $# -gt 0 ]; do
  case $1 in
    --work) work=$2; shift ;; --rounds) rounds=$2; shift ;; --tokens) tokens=$2; shift ;; --decode) decode=$2; shift ;;
    --threads) threads=$2; shift ;; --old) old=$2; shift ;;
    --f32) f32=1 ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$work"
engine=${PROMPT_BENCH:-$repo/build/bench/prompt_bench}
[ -x "$engine" ] || cmake --build "$repo/build" --target prompt_bench >/dev/null
[ -d "$here/node_modules/node-llama-cpp" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
if [ ! -d "$work/gguf-py" ]; then
  # llama.cpp's sources, as node-llama-cpp ships them (a git bundle); gguf-py is its GGUF library
  git clone -q "$here/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$work/llama.cpp" 2>/dev/null
  mv "$work/llama.cpp/gguf-py" "$work/gguf-py" && rm -rf "$work/llama.cpp"
fi
model=$work/moe397m
[ -f "$model/model.safetensors" ] || /usr/bin/python3 "$here/make_moe_checkpoint.py" "$model"
[ -f "$work/moe397m-bf16.gguf" ] || /usr/bin/python3 "$here/safetensors_to_gguf.py" "$model" "$work/moe397m-bf16.gguf" --gguf-py "$work/gguf-py"
if [ "$f32" = 1 ] && [ ! -f "$work/moe397m-f32.gguf" ]; then
  /usr/bin/python3 "$here/safetensors_to_gguf.py" "$model" "$work/moe397m-f32.gguf" --gguf-py "$work/gguf-py" --outtype f32
fi
/usr/bin/python3 -c "import random; r = random.Random(1); print(' '.join(str(r.randrange(3, 4096)) for _ in range($tokens)))" >"$work/prompt.txt"

results=$work/results-$threads-threads.jsonl
: >"$results"
echo "$(nproc) cores, $threads threads each; checkpoint $(du -m "$model/model.safetensors" | cut -f1) MB; $tokens-token prompt, $decode greedy tokens, $rounds rounds"
for round in $(seq 1 "$rounds"); do
  # The files come from the page cache in every run (both programs map them), as a read from the disk leaves
  # them (2 MiB pages for both programs alike)
  "$here/read_as_from_disk.sh" "$model/model.safetensors" "$work"/moe397m-*.gguf
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  load=$(cut -d' ' -f1 /proc/loadavg)
  QK_THREADS=$threads "$engine" "$model" --prompt-file "$work/prompt.txt" --decode "$decode" --yardsticks | sed "s/^{/{\"round\":$round,\"load\":$load,\"run\":\"engine\",/" >>"$results"
  (cd "$here" && node llama_bench.mjs "$work/moe397m-bf16.gguf" --prompt-file "$work/prompt.txt" --decode "$decode" --threads "$threads") |
    sed "s/^{/{\"round\":$round,\"run\":\"llama.cpp BF16\",/" >>"$results"
  if [ -n "$old" ]; then
    QK_THREADS=$threads "$old" "$model" --prompt-file "$work/prompt.txt" --decode "$decode" | sed "s/^{/{\"round\":$round,\"run\":\"engine old\",/" >>"$results"
  fi
  if [ "$f32" = 1 ]; then
    (cd "$here" && node llama_bench.mjs "$work/moe397m-f32.gguf" --prompt-file "$work/prompt.txt" --decode "$decode" --threads "$threads") |
      sed "s/^{/{\"round\":$round,\"run\":\"llama.cpp F32\",/" >>"$results"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$results" "$(stat -c %s "$model/model.safetensors")" "$model/config.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
config = json.load(open(sys.argv[3]))
checkpoint_mb = int(sys.argv[2]) / 2**20
runs = sorted({r["run"] for r in rows}, key=lambda r: (r != "engine", r))
def med(run, key):
    return statistics.median(r[key] for r in rows if r["run"] == run)
print("| run | prefill tok/s | decode tok/s | prefill tok/CPU-s | decode tok/CPU-s | load s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for run in runs:
    sel = [r for r in rows if r["run"] == run]
    n = sel[0]["prompt_tokens"]
    pc = statistics.median(n / r["prefill_cpu_s"] for r in sel)
    dc = statistics.median((len(r["tokens"]) - 1) / r["decode_cpu_s"] for r in sel)
    print(f"| {run} | {med(run, 'prefill_tok_s'):.1f} | {med(run, 'decode_tok_s'):.2f} | {pc:.1f} | {dc:.2f} | "
          f"{med(run, 'load_s'):.2f} | {med(run, 'peak_rss_mb'):.0f} |")
engine = {r["round"]: r for r in rows if r["run"] == "engine"}
print("| round (load) | run | prefill tok/s | prefill CPU s | decode tok/s | decode CPU s |")
print("|---|---|---:|---:|---:|---:|")
for r in sorted(rows, key=lambda r: (r["round"], r["run"] != "engine", r["run"])):
    print(f"| {r['round']} ({engine[r['round']]['load']}) | {r['run']} | {r['prefill_tok_s']:.1f} | {r['prefill_cpu_s']:.2f} | "
          f"{r['decode_tok_s']:.2f} | {r['decode_cpu_s']:.2f} |")
for run in runs[1:]:
    ratios_p = [engine[r["round"]]["prefill_tok_s"] / r["prefill_tok_s"] for r in rows if r["run"] == run]
    ratios_d = [engine[r["round"]]["decode_tok_s"] / r["decode_tok_s"] for r in rows if r["run"] == run]
    print(f"engine / {run}, per round: prefill {', '.join(f'{x:.2f}' for x in ratios_p)} (median {statistics.median(ratios_p):.2f} x); "
          f"decode {', '.join(f'{x:.2f}' for x in ratios_d)} (median {statistics.median(ratios_d):.2f} x)")
    a, b = engine[1]["tokens"], next(r for r in rows if r["run"] == run)["tokens"]
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    print(f"greedy tokens, engine vs {run}: identical for the first {first} of {min(len(a), len(b))}; "
          f"{sum(x == y for x, y in zip(a, b))} positions equal")
e = [r for r in rows if r["run"] == "engine"]
# decode: bytes of weights read per token / time; prefill: 2 FLOP per weight a prompt token passes (all but
# lm_head, which runs for the last token only, and the embedding row), per round against that round's yardsticks
lm_head = config["vocab_size"] * config["hidden_size"] * 2
for r in e:
    mb, n = r["decode_weight_mb_per_token"], r["prompt_tokens"]
    dgb, dgb_cpu = mb * r["decode_tok_s"] / 1e3, mb * (len(r["tokens"]) - 1) / r["decode_cpu_s"] / 1e3
    flops = 2 * (mb * 1e6 - lm_head) / 2 * n
    pg, pg_cpu = flops / r["prefill_s"] / 1e9, flops / r["prefill_cpu_s"] / 1e9
    print(f"round {r['round']} engine: decode {dgb:.1f} GB/s = {dgb / r['read_gb_s']:.0%} of read bandwidth {r['read_gb_s']:.1f} GB/s "
          f"(per CPU-s {dgb_cpu:.1f} = {dgb_cpu / r['read_gb_cpu_s']:.0%} of {r['read_gb_cpu_s']:.1f}; "
          f"2 MiB pages {r['read_gb_s_2m_pages']:.1f}, 4 KiB pages {r['read_gb_s_4k_pages']:.1f} GB/s); "
          f"prefill {pg:.0f} GFLOP/s = {pg / r['gemm_gflop_s']:.0%} of the engine's bf16 GEMM {r['gemm_gflop_s']:.0f} "
          f"(per CPU-s {pg_cpu:.0f} = {pg_cpu / r['gemm_gflop_cpu_s']:.0%} of {r['gemm_gflop_cpu_s']:.0f})")
print(f"engine load {med('engine', 'load_s'):.2f} s (target <= 1 s); peak RSS {med('engine', 'peak_rss_mb'):.0f} MiB = "
      f"{med('engine', 'peak_rss_mb') / checkpoint_mb:.2f} x the checkpoint's {checkpoint_mb:.0f} MiB (target <= 1.20 x); "
      f"decode reads {e[0]['decode_weight_mb_per_token']:.0f} MB of weights per token")
PY
