"""Smoke test of the whole pipeline on the GPU machine, ~2 minutes: tokenizer, model, data workers,
training throughput at several batch shapes, save/reload, NIAH file generation + evaluation, math eval.

    python3 repro/smoke.py --tokenizer $OUT/tokenizer.json --out $OUT
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from batches import PretrainBatches  # noqa: E402
from common import log, make_config, save_model  # noqa: E402
from pretrain import weighted_loss  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    report = {}
    import transformers
    log("torch", torch.__version__, "transformers", transformers.__version__, torch.cuda.get_device_name())

    model = transformers.Qwen3NextForCausalLM(make_config()).cuda()
    report["params_M"] = sum(p.numel() for p in model.parameters()) / 1e6
    log(f"params {report['params_M']:.2f}M")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)

    # Data workers: time to build batches at each curriculum length.
    ds = PretrainBatches(args.tokenizer, 100, 65536, [(1.01, 256, 4096)])
    t = time.time()
    for s in range(6):
        b, wb = ds[s]
        log("batch", tuple(b.shape), "weighted tokens", int((wb > 0).sum()), f"{time.time() - t:.2f}s")
    report["batch_build_s"] = (time.time() - t) / 6
    from common import load_tokenizer
    tok = load_tokenizer(args.tokenizer)
    b, wb = ds[3]
    row = b[0][(wb[0] > 0)].tolist()
    log("sample text (end):", repr(tok.decode(row)[-400:]))

    # Throughput at several tokens/step and lengths with real batches.
    for tps, L in ((65536, 1024), (65536, 4096), (131072, 4096)):
        ds = PretrainBatches(args.tokenizer, 100, tps, [(1.01, L, L)])
        batches = [ds[s] for s in range(3)]
        torch.cuda.synchronize(); t = time.time()
        for b, wb in batches:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = weighted_loss(model, b.cuda(), wb.cuda())
            loss.backward(); opt.step(); opt.zero_grad()
        torch.cuda.synchronize()
        report[f"tok_per_s_{tps}_{L}"] = int(3 * tps / (time.time() - t))
        log(f"tokens/step {tps} len {L}: {report[f'tok_per_s_{tps}_{L}']} tok/s, loss {loss.item():.3f}")

    # Save, reload through plain transformers (fallback kernel), compare logits.
    d = os.path.join(args.out, "smoke_model")
    save_model(model, args.tokenizer, d)
    log("saved:", sorted(os.listdir(d)), os.path.getsize(os.path.join(d, "model.safetensors")))
    m2 = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).cuda().eval()
    # NIAH file generation and evaluation path, math eval path.
    subprocess.run([sys.executable, os.path.join(HERE, "niah_jsonl.py"), "--tokenizer", args.tokenizer, "--out",
                    os.path.join(args.out, "tasks"), "--lengths", "1024", "4096", "--samples", "8"], check=True)
    import evaluate
    _, m3 = evaluate.load_spec(f"smoke={d}")
    t = time.time()
    r = evaluate.eval_niah_file(m3, tok, os.path.join(args.out, "tasks", "niah_single_2_4096.jsonl"), 8)
    log("niah eval 8 x 4K:", f"{time.time() - t:.1f}s", r["score"], r["mean_prompt_tokens"], r["examples"][0])
    t = time.time()
    r = evaluate.eval_math(m3, tok, 32)
    log("math eval 32:", f"{time.time() - t:.1f}s", r)
    with open(os.path.join(args.out, "smoke_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    first = open(os.path.join(args.out, "tasks", "niah_single_2_1024.jsonl")).readline()
    log("niah S2 1K sample:", first[:300], "...", first[-300:])


if __name__ == "__main__":
    main()
