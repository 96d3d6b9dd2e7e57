"""Checks the PyTorch chunked gated delta rule (common.chunk_gated_delta_rule) against transformers'
fallback, forward and gradients, on random inputs, then times one training step of the real model
shape with each kernel and chunk size. Writes the chosen setting to --out (JSON) for pretrain/sft.

    python3 repro/smoke.py --tokenizer repro/tokenizer.json --out work/delta_check.json
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
from common import log, make_config  # noqa: E402


def rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def check_against_fallback(chunk):
    from transformers.models.qwen3_next import modeling_qwen3_next as M
    gen = torch.Generator(device="cuda").manual_seed(chunk)
    B, T, H, dk, dv = 2, 1000, 2, 64, 64   # T not a multiple of the chunk: padding is exercised
    def mk(*shape, scale=1.0):
        return (torch.randn(*shape, device="cuda", generator=gen) * scale).requires_grad_(True)
    q, k, v = mk(B, T, H, dk), mk(B, T, H, dk), mk(B, T, H, dv)
    a = mk(B, T, H)
    bl = mk(B, T, H)
    def run(fn, **kw):
        g = -torch.nn.functional.softplus(a) * 0.5
        beta = bl.sigmoid()
        out, state = fn(q, k, v, g=g, beta=beta, initial_state=None, output_final_state=True,
                        use_qk_l2norm_in_kernel=True, **kw)
        loss = (out * torch.linspace(-1, 1, out.numel(), device="cuda").view_as(out)).sum() + state.square().sum()
        grads = torch.autograd.grad(loss, [q, k, v, a, bl])
        return out, state, grads
    ref = run(M.torch_chunk_gated_delta_rule)
    new = run(common.chunk_gated_delta_rule, chunk_size=chunk)
    res = dict(out=rel(new[0], ref[0]), state=rel(new[1], ref[1]),
               grads=[rel(x, y) for x, y in zip(new[2], ref[2])])
    res["ok"] = max([res["out"], res["state"]] + res["grads"]) < 1e-3
    return res


def time_step(fast, chunk, L=4096, rows=48, steps=4):
    from transformers import Qwen3NextForCausalLM
    torch.manual_seed(0)
    model = Qwen3NextForCausalLM(make_config()).cuda()
    model.config._attn_implementation = "sdpa"
    if fast:
        common.DELTA_CHUNK = chunk
        common.use_fast_delta_rule(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(3, 4096, (rows, L), device="cuda")
    times = []
    for i in range(steps):
        torch.cuda.synchronize(); t = time.time()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize(); times.append(time.time() - t)
    best = min(times[1:])
    del model, opt
    torch.cuda.empty_cache()
    return dict(fast=fast, chunk=chunk, L=L, rows=rows, s_per_step=round(best, 3), tok_per_s=int(rows * L / best))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=None)
    args = ap.parse_args()
    import transformers
    rep = dict(torch=torch.__version__, transformers=transformers.__version__, gpu=torch.cuda.get_device_name(),
               params=sum(p.numel() for p in transformers.Qwen3NextForCausalLM(make_config()).parameters()))
    log(json.dumps(rep))
    rep["checks"] = {c: check_against_fallback(c) for c in (64, 128)}
    log(json.dumps(rep["checks"]))
    rep["timing"] = [time_step(False, 64)]
    log(json.dumps(rep["timing"][-1]))
    for c in (64, 128):
        if rep["checks"][c]["ok"]:
            rep["timing"].append(time_step(True, c))
            log(json.dumps(rep["timing"][-1]))
    best = min(rep["timing"], key=lambda r: r["s_per_step"])
    rep["chosen"] = dict(fast=best["fast"], chunk=best["chunk"])
    log("chosen", rep["chosen"])
    with open(args.out, "w") as f:
        json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main()
