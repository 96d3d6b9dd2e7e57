"""Supervised fine-tuning from the base model on word problems of 4-6 steps (<= 512 tokens per sequence).

--style cot:    answers with the worked steps ("Let's think step by step.\n2 * 6 = 12.\n...\n#### 16")
--style direct: the non-CoT control, same problems answered "#### 16" at the same learning rate and
                token budget (same steps x sequences x 512 tokens).
--freeze-global-qk: CoT-SFT with the global layers' q_proj and k_proj frozen (mechanism control).
Loss on the assistant answers only (prompt tokens masked), several epochs over a fixed problem set,
constant learning rate after a short warm-up, as reasoning SFT is usually run.

    python3 repro/sft.py --base models/base --style cot --lr 1e-4 --steps 500 --out work/cot
"""
import argparse
import json
import os
import random
import time

import torch
import torch.nn.functional as F

import textgen
from common import IM_END, EOT, global_layers, load_model, load_tokenizer, log, save_model, user_turn


def encoded_examples(tok, problems, style):
    """(prompt ids, answer ids + <|im_end|>) per problem, in the chat format SFT teaches."""
    examples = []
    for p in problems:
        prompt = tok.encode(user_turn(p.question)).ids
        answer = tok.encode(p.cot_answer() if style == "cot" else p.direct_answer()).ids + [IM_END]
        examples.append((prompt, answer))
    return examples


def packed_sequences(tok, problems, style, seq_len, rng):
    """Problems packed into sequences of seq_len tokens; mask marks answer tokens (the loss targets)."""
    items = encoded_examples(tok, problems, style)
    rng.shuffle(items)
    seqs, masks, cur, cur_m = [], [], [], []
    for prompt, answer in items:
        ex = prompt + answer + [EOT]
        m = [0] * len(prompt) + [1] * len(answer) + [0]
        if len(cur) + len(ex) > seq_len:
            pad = seq_len - len(cur)
            seqs.append(cur + [EOT] * pad); masks.append(cur_m + [0] * pad)
            cur, cur_m = [], []
        cur += ex; cur_m += m
    return torch.tensor(seqs), torch.tensor(masks, dtype=torch.float32)


def single_sequences(tok, problems, style, rng):
    """One problem per sequence (no packing), padded to the longest: every attention span in SFT is as
    short as one problem, the short-range regime the paper blames for the damage to global Q/K."""
    items = [(prompt + answer + [EOT], [0] * len(prompt) + [1] * len(answer) + [0])
             for prompt, answer in encoded_examples(tok, problems, style)]
    rng.shuffle(items)
    width = max(len(ids) for ids, _ in items)
    seqs = [ids + [EOT] * (width - len(ids)) for ids, _ in items]
    masks = [m + [0] * (width - len(m)) for _, m in items]
    return torch.tensor(seqs), torch.tensor(masks, dtype=torch.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--style", choices=["cot", "direct"], default="cot")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--freeze-global-qk", action="store_true",
                    help="mechanism control: q_proj and k_proj of the global layers get no updates")
    ap.add_argument("--problems", type=int, default=40000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (overrides epochs): the control's budget")
    ap.add_argument("--batch", type=int, default=32, help="sequences of --seq-len per step")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=0, help="wall-clock budget: stop and save when it is spent")
    ap.add_argument("--no-pack", action="store_true",
                    help="one problem per sequence (--batch = problems per step) instead of packing to --seq-len")
    args = ap.parse_args()
    assert args.seed < 1000, "seeds >= 1000 are reserved for held-out evaluation problems"
    t0 = time.time()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tok = load_tokenizer(os.path.join(args.base, "tokenizer.json"))
    problems = [textgen.math_problem(rng) for _ in range(args.problems)]
    model = load_model(args.base)
    model.config._attn_implementation = "sdpa"
    model.train()
    frozen = []
    if args.freeze_global_qk:
        for i in global_layers(model.config):
            for proj in ("q_proj", "k_proj"):
                w = getattr(model.model.layers[i].self_attn, proj).weight
                w.requires_grad_(False)
                frozen.append(f"model.layers.{i}.self_attn.{proj}.weight")
        log("frozen:", frozen)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0, fused=True)
    step, answer_tokens, total_tokens, hist = 0, 0, 0, []
    epoch = 0
    while True:
        epoch_rng = random.Random(args.seed * 100 + epoch)
        if args.no_pack:
            ids, mask = single_sequences(tok, problems, args.style, epoch_rng)
        else:
            ids, mask = packed_sequences(tok, problems, args.style, args.seq_len, epoch_rng)
        perm = torch.randperm(len(ids))
        done = False
        for i in range(0, len(ids) - args.batch + 1, args.batch):
            m = mask[perm[i:i + args.batch]]
            width = int(m.nonzero()[:, 1].max()) + 2 if args.no_pack else ids.shape[1]   # drop padding columns
            b = ids[perm[i:i + args.batch], :width].cuda()
            m = m[:, :width].cuda()
            for g in opt.param_groups:
                g["lr"] = args.lr * min(1.0, (step + 1) / 30)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(input_ids=b).logits[:, :-1].float()
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), b[:, 1:].reshape(-1), reduction="none")
            mm = m[:, 1:].reshape(-1)
            loss = (nll * mm).sum() / mm.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); opt.zero_grad(set_to_none=True)
            answer_tokens += int(mm.sum().item()); total_tokens += b.numel()
            if step % 50 == 0:
                hist.append(dict(step=step, epoch=epoch, loss=round(loss.item(), 4), elapsed=round(time.time() - t0, 1)))
                log(json.dumps(hist[-1]))
            step += 1
            if (args.steps and step >= args.steps) or (args.minutes and time.time() - t0 > args.minutes * 60):
                done = True
                break
        epoch += 1
        if done or (not args.steps and epoch >= args.epochs):
            break
    log(f"{args.style} lr {args.lr}: {step} steps, {epoch} epochs, {total_tokens / 1e6:.1f}M tokens, "
        f"{answer_tokens / 1e6:.2f}M answer tokens, {time.time() - t0:.0f}s")
    save_model(model, os.path.join(args.base, "tokenizer.json"), args.out)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(dict(args=vars(args), frozen=frozen, seconds=round(time.time() - t0, 1), steps=step, epochs=epoch, tokens=total_tokens, answer_tokens=answer_tokens,
                       history=hist), f, indent=1)


if __name__ == "__main__":
    main()
