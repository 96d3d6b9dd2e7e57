#!/usr/bin/env bash
# How close issue 26's two machine-limit targets can come on this machine, for the MoE of vs_llama.sh, each
# round measuring the engine and the limits it is judged against back to back:
#   decode (target: bytes of weights read per token / time >= 85% of the read bandwidth):
#     the engine's decode at a 2048-token context (prompt_bench --yardsticks), and the same step's weight
#     products alone, with no other work between them (bench/decode_products --huge-pages: in the step's pool
#     jobs, and as one product over the same bytes). A step also reads bytes that are not weights (the KV cache of
#     the full-attention layers, the delta rule's states, read and written, and the convolution's), counted here
#     from config.json: at the products' own rate those bytes alone hold the weights' share below it.
#   prefill (target: the products' FLOPs / time >= 85% of the engine's bf16 GEMM rate):
#     the engine's prefill of the 2048-token prompt with its op timer (prompt_bench --ops), which gives the time
#     in the weight products alone; and the FLOPs the target leaves out (attention's scores and values over the
#     causal half, the delta rule's recurrence at its minimum, 7 dk dv per token and value head) that the model
#     must also spend. Both for the process's first prompt (which also pays the first touch of the mapped weights and
#     of the scratch memory: page faults, on a VM costly even in 2 MiB pages) and for a second prompt of the same
#     length in the same process (prompt_bench --again), as a server's later requests run.
# The checkpoint is dropped from the page cache and read again before each round, as vs_llama.sh does, so that
# it is mapped in 2 MiB pages.
# A round's read bandwidth and GEMM rate are the best of its readings.
#   bench/llama/ceilings.sh [--work DIR] [--rounds 3] [--threads 2]
# Needs: build/bench/prompt_bench, build/bench/decode_products, and the checkpoint and prompt vs_llama.sh makes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=/tmp/qk-llama-bench rounds=3 threads=2
while [ $# -gt 0 ]; do
  case $1 in
    --work) work=$2; shift ;; --rounds) rounds=$2; shift ;; --threads) threads=$2; shift ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
model=$work/moe397m
for f in "$model/model.safetensors" "$work/prompt.txt"; do
  [ -f "$f" ] || { echo "ceilings.sh: $f is missing; run bench/llama/vs_llama.sh --work $work first" >&2; exit 2; }
done
cmake --build "$repo/build" --target prompt_bench decode_products >/dev/null
export QK_THREADS=$threads
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
  "$here/read_as_from_disk.sh" "$model/model.safetensors"
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$repo/build/bench/prompt_bench" "$model" --prompt-file "$work/prompt.txt" --decode 128 --yardsticks |
    sed "s/^{/{\"round\":$round,\"run\":\"decode\",/" >>"$results"
  "$repo/build/bench/prompt_bench" "$model" --prompt-file "$work/prompt.txt" --decode 2 --ops --again --yardsticks |
    sed "s/^{/{\"round\":$round,\"run\":\"prefill\",/" >>"$results"
  for how in jobs one-product; do
    flag=; [ "$how" = one-product ] && flag=--one-product
    # "round 1: products 55.2 GB/s (328 MB a step), read yardstick 68.1 GB/s: 81%"
    "$repo/build/bench/decode_products" --huge-pages --rounds 1 $flag | sed -n 's/^round 1: products \([0-9.]*\) GB\/s.*yardstick \([0-9.]*\) GB\/s.*/\1 \2/p' |
      { read -r gbs yard; echo "{\"round\":$round,\"run\":\"products $how\",\"products_gb_s\":$gbs,\"read_gb_s\":$yard}"; } >>"$results"
  done
done

/usr/bin/python3 - "$results" "$model/config.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
c = json.load(open(sys.argv[2]))
kinds = c["layer_types"]
attention, linear = kinds.count("full_attention"), kinds.count("linear_attention")
dk, dv, vheads = c["linear_key_head_dim"], c["linear_value_head_dim"], c["linear_num_value_heads"]
conv_channels = 2 * c["linear_num_key_heads"] * dk + vheads * dv
lm_head = c["vocab_size"] * c["hidden_size"] * 2
# A round's limits are the best readings of that round (the yardsticks after each engine run and the products
# bench's): the host's memory bandwidth swings by the minute, and a reading taken in a slow moment would flatter
# the engine.
read_limit, gemm_limit = {}, {}
for r in rows:
    read_limit[r["round"]] = max(read_limit.get(r["round"], 0), r["read_gb_s"])
    if "gemm_gflop_s" in r: gemm_limit[r["round"]] = max(gemm_limit.get(r["round"], 0), r["gemm_gflop_s"])
for r in rows:
    r["read_gb_s"] = read_limit[r["round"]]
    if "gemm_gflop_s" in r: r["gemm_gflop_s"] = gemm_limit[r["round"]]
def pct(values):
    return f"{min(values):.0%}-{max(values):.0%}" if len(values) > 1 else f"{values[0]:.0%}"

decode = [r for r in rows if r["run"] == "decode"]
n = decode[0]["prompt_tokens"]
context = n + len(decode[0]["tokens"]) // 2  # the mean context of the decoded tokens
weights = decode[0]["decode_weight_mb_per_token"] * 1e6
other = (attention * 2 * c["num_key_value_heads"] * c["head_dim"] * 4 * context  # K and V rows, f32
         + linear * vheads * dk * dv * 4 * 2                                      # states read and written
         + linear * conv_channels * (c["linear_conv_kernel_dim"] - 1) * 4 * 2)    # convolution states
share = weights / (weights + other)
model_frac = [r["decode_weight_mb_per_token"] * r["decode_tok_s"] / 1e3 / r["read_gb_s"] for r in decode]
jobs = [r["products_gb_s"] / r["read_gb_s"] for r in rows if r["run"] == "products jobs"]
one = [r["products_gb_s"] / r["read_gb_s"] for r in rows if r["run"] == "products one-product"]
print(f"decode at a {context}-token context, {weights / 1e6:.0f} MB of weights a token "
      f"(target: >= 85% of the read bandwidth):")
print(f"  the engine: {pct(model_frac)} of the read bandwidth ({', '.join(f'{x:.0%}' for x in model_frac)})")
print(f"  the step's weight products alone: {pct(jobs)} in the step's jobs, {pct(one)} as one product")
print(f"  bytes a step reads that are not weights: {other / 1e6:.1f} MB (KV cache, states); the weights are {share:.1%} of the step's bytes")
print(f"  so with nothing but these reads in a step, at the products' rate: {pct([x * share for x in jobs])} "
      f"(jobs), {pct([x * share for x in one])} (one product); norms, routing, conv1d and the waits between jobs come on top")

prefill = [r for r in rows if r["run"] == "prefill"]
counted = 2 * (weights - lm_head) / 2 * n
left_out = (attention * 2 * n * n * c["head_dim"] * c["num_attention_heads"]  # QK^T and PV over the causal half
            + linear * 7 * dk * dv * vheads * n)
print(f"prefill of {n} tokens, {counted / 1e9:.0f} GFLOP counted (target: >= 85% of the engine's bf16 GEMM rate):")
print(f"  FLOPs the count leaves out (attention, the delta rule's recurrence): {left_out / 1e9:.1f} GFLOP = "
      f"{left_out / counted:.1%} of the counted; at the GEMM rate itself they alone hold the count to {counted / (counted + left_out):.0%}")
for label, seconds, ops_key in (("first prompt", "prefill_s", "op_seconds"), ("second prompt", "prefill_again_s", "op_seconds_again")):
    frac = [counted / r[seconds] / 1e9 / r["gemm_gflop_s"] for r in prefill]
    products = [counted / r[ops_key]["projections (sgemm/gemv)"] / 1e9 / r["gemm_gflop_s"] for r in prefill]
    share_products = [r[ops_key]["projections (sgemm/gemv)"] / sum(r[ops_key].values()) for r in prefill]
    print(f"  {label}: the engine (with its op timer) {pct(frac)} of the GEMM rate "
          f"({', '.join(f'{n / r[seconds]:.0f}' for r in prefill)} tok/s); the weight products {pct(share_products)} of the timed work, "
          f"alone at {pct(products)} of the GEMM rate; with nothing but products at that rate: "
          f"{pct([p * counted / (counted + left_out) for p in products])}")
for r in prefill:
    for label, ops_key in (("first", "op_seconds"), ("second", "op_seconds_again")):
        ops = r[ops_key]
        total = sum(ops.values())
        print(f"  round {r['round']}, {label} prompt (GEMM {r['gemm_gflop_s']:.0f} GFLOP/s): "
              + ", ".join(f"{k} {v / total:.1%}" for k, v in sorted(ops.items(), key=lambda x: -x[1])))
for r in decode:
    print(f"  decode round {r['round']}: {r['decode_tok_s']:.1f} tok/s, read bandwidth {r['read_gb_s']:.1f} GB/s (the round's best; "
          f"after this run 2 MiB pages {r['read_gb_s_2m_pages']:.1f}, 4 KiB {r['read_gb_s_4k_pages']:.1f})")
PY
