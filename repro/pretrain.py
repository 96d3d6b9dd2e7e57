"""Pre-trains the base model from scratch: prose LM + arithmetic facts + synthetic retrieval, with a
curriculum over sequence length. Stops at --minutes (wall clock) even if steps remain, and always
saves: the device machine is given back after each call, so only $OUT survives.

    python3 repro/pretrain.py --tokenizer tokenizer.json --out work/base --steps 3000 --minutes 9.5
"""
import argparse
import copy
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from batches import PretrainBatches
from common import FAST_DELTA_CALLS, load_model, log, make_config, save_model, use_fast_delta_rule

# Pilot: quarters at short -> long lengths made retrieval appear (fixed long lengths from scratch: 0%).
STAGES = [(0.15, 256, 512), (0.35, 512, 1024), (0.6, 1024, 2048), (1.01, 1024, 6144)]


def weighted_loss(model, ids, w):
    logits = model(input_ids=ids).logits[:, :-1].float()
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    w = w[:, 1:].reshape(-1)
    return (nll * w).sum() / w.sum().clamp_min(1e-6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--init", help="continue from this HF directory instead of a fresh model")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--tokens-per-step", type=int, default=196608)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", default=None, help="JSON list of [fraction_end, min_len, max_len]")
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--retrieval-share", type=float, default=0.6, help="rows that are retrieval exercises")
    ap.add_argument("--qa-share", type=float, nargs=2, default=[0.3, 0.5],
                    help="share of question-answer documents in packed text before / after --mid-start")
    ap.add_argument("--mid-start", type=float, default=0.7, help="progress at which the mid-training mixture starts")
    ap.add_argument("--qa-style", choices=["v2", "latent"], default="v2",
                    help="v2: easy problems, direct or worked, ChatML or plain; latent (v3 mid-training): "
                         "2-4 event problems worked in plain text only, ChatML answered directly")
    args = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(args.seed)
    stages = json.loads(args.stages) if args.stages else STAGES

    if args.init:
        model = load_model(args.init)
    else:
        model = __import__("transformers").Qwen3NextForCausalLM(make_config()).cuda()
        use_fast_delta_rule(model)
    model.config._attn_implementation = "sdpa"
    n_params = sum(p.numel() for p in model.parameters())
    log(f"params {n_params / 1e6:.2f}M, steps {args.steps}, tokens/step {args.tokens_per_step}, stages {stages}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=True)

    def lr_at(step):  # linear warm-up, cosine decay to 10%; progress by steps or by time, whichever is ahead
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = max((step - args.warmup) / max(1, args.steps - args.warmup), (time.time() - t0) / (args.minutes * 60))
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))

    data = PretrainBatches(args.tokenizer, args.steps, args.tokens_per_step, stages, seed=args.seed, t_start=t0,
                           budget_s=args.minutes * 60, retrieval_share=args.retrieval_share,
                           mid_start=args.mid_start, qa_share=tuple(args.qa_share), qa_style=args.qa_style)
    loader = DataLoader(data, batch_size=None, shuffle=False, num_workers=args.workers, prefetch_factor=4,
                        persistent_workers=False)
    model.train()
    tokens, t_train, hist = 0, time.time(), []
    for step, (ids, w) in enumerate(loader):
        ids, w = ids.cuda(non_blocking=True), w.cuda(non_blocking=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = weighted_loss(model, ids, w)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += ids.numel()
        if step % 25 == 0 or step == args.steps - 1:
            el = time.time() - t_train
            rec = dict(step=step, len=ids.shape[1], rows=ids.shape[0], loss=round(loss.item(), 4),
                       gnorm=round(gn.item(), 3), lr=lr_at(step), tok_per_s=int(tokens / el), elapsed=round(el, 1),
                       fast_delta_calls=FAST_DELTA_CALLS[0])
            hist.append(rec)
            log(json.dumps(rec))
        if step % 200 == 199:   # a cut run still leaves a usable checkpoint
            save_model(copy.deepcopy(model), args.tokenizer, args.out + ".partial")
        if time.time() - t0 > args.minutes * 60:
            log(f"time budget reached at step {step}: stopping early")
            break
    log(f"trained {tokens / 1e6:.1f}M tokens in {time.time() - t_train:.0f}s")
    save_model(model, args.tokenizer, args.out)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(dict(args=vars(args), stages=stages, params=n_params, tokens=tokens, history=hist), f, indent=1)


if __name__ == "__main__":
    main()
