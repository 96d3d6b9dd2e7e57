"""Evaluates models: NIAH recall from RULER-format JSONL task files, and word-problem accuracy.

NIAH: each prompt is the task "input" placed in a user turn, followed by its "answer_prefix" in the
assistant turn (RULER puts the answer prefix after the model template). Greedy decoding; the score
is RULER's string_match_all (fraction of expected strings found, case-insensitive) x 100.
Reasoning: held-out word problems (seed disjoint from SFT), greedy, exact match of the final answer.

A model spec is NAME=DIR or NAME=DIR+PATCH.safetensors: PATCH holds the tensors in which a repaired
model (qkrestore output) differs from DIR, so that repairs travel as small files.

    python3 repro/evaluate.py --models base=models/base --tasks tasks/ --lengths 1024 4096 --out res.json
"""
import argparse
import glob
import gzip
import json
import lzma
import os
import random
import time

import torch

import textgen
from common import IM_END, EOT, load_model, load_tokenizer, log, user_turn

DEFAULT_BATCH_TOKENS = 1 << 20  # prompt tokens per generation batch; --batch-tokens sets it per run
# Bytes of SDPA scores a padded batch may take (math kernel); lower it when several evaluations share the GPU
SCORE_BYTES = float(os.environ.get("REPRO_SCORE_BYTES", 16e9))


def load_spec(spec, device="cuda"):
    name, path = spec.split("=", 1)
    path, *patches = path.split("+")
    model = load_model(path, device)
    for patch in patches:
        from safetensors.torch import load_file
        tensors = load_file(patch)
        state = model.state_dict()
        for k, v in tensors.items():
            if k not in state:
                raise KeyError(f"{patch}: tensor {k} is not in {path}")
            if state[k].shape != v.shape:
                raise ValueError(f"{patch}: tensor {k} has shape {tuple(v.shape)}, model has {tuple(state[k].shape)}")
            state[k].copy_(v.to(state[k].dtype))
        if model.config.tie_word_embeddings and "model.embed_tokens.weight" in tensors:
            model.tie_weights()
    model.eval()
    return name, model


def length_batches(lengths, batch_tokens):
    """Batches (lists of indices into `lengths`) of similar length, shortest first.

    Sequences of one length run unpadded and without a mask, so SDPA takes its flash kernel (memory linear in
    the length); a batch of mixed lengths is left-padded, which sends SDPA to its math kernel, whose scores take
    rows x 8 heads x L^2 x 4 bytes: mixed batches stay under SCORE_BYTES (~16 GB) of them, and above 8K only sequences of one
    length share a batch (a product-generated NIAH cell holds 2-3 distinct lengths, so 200 prompts of 32K run
    as a few batches, not 200).
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    i = 0
    while i < len(order):
        L = lengths[order[i]]
        bs = max(1, min(512, batch_tokens // max(1, L)))
        run = 1
        while run < bs and i + run < len(order) and lengths[order[i + run]] == L:
            run += 1
        if run < bs and L <= 8192:   # fill the batch with longer sequences, padded
            longest = lengths[order[min(len(order), i + bs) - 1]]
            run = max(run, min(bs, int(SCORE_BYTES // (32 * longest * longest))))
        yield order[i:i + run]
        i += run


def left_padded(seqs):
    """ids and attention mask of left-padded sequences; the mask is None when no row is padded."""
    T = max(len(q) for q in seqs)
    ids = torch.full((len(seqs), T), EOT, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for r, q in enumerate(seqs):
        ids[r, T - len(q):] = torch.tensor(q)
        mask[r, T - len(q):] = 1
    return ids.cuda(), (None if bool(mask.all()) else mask.cuda())


@torch.no_grad()
def greedy(model, prompts_ids, max_new, batch_tokens=DEFAULT_BATCH_TOKENS):
    """Greedy continuations of token-id prompts (length_batches)."""
    outs = [None] * len(prompts_ids)
    for idx in length_batches([len(p) for p in prompts_ids], batch_tokens):
        ids, mask = left_padded([prompts_ids[j] for j in idx])
        with torch.autocast("cuda", dtype=torch.bfloat16):
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False,
                                 eos_token_id=[IM_END, EOT], pad_token_id=EOT)
        for r, j in enumerate(idx):
            outs[j] = gen[r, ids.shape[1]:].tolist()
    return outs


def decode(tok, ids):
    ids = [t for t in ids if t not in (EOT,)]
    if IM_END in ids:
        ids = ids[:ids.index(IM_END)]
    return tok.decode(ids)


def niah_prompt(sample):
    text = sample["input"]
    if "<|im_start|>" in text:   # already wrapped in a chat template by its generator
        prompt = text
    else:
        prompt = user_turn(text)
    prefix = sample.get("answer_prefix", "")
    if prefix and not prompt.endswith(prefix):
        # RULER and `qkrestore niah run` append the prefix verbatim, leading space included; v1/v2 stripped it
        # (REPRO_STRIP_PREFIX=1 restores that), which moved the CoT model's 8K recall (RESULTS.md v2).
        prompt += prefix.strip() if os.environ.get("REPRO_STRIP_PREFIX") == "1" else prefix
    return prompt


def open_text(path):
    """Task files travel compressed: .xz (v4: the samples of a cell share their haystack's start, which xz's
    large window finds), .gz (v3) or plain."""
    if path.endswith(".xz"):
        return lzma.open(path, "rt")
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def read_jsonl(path):
    with open_text(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def string_match_all(pred, refs):
    pred = pred.strip().lower()
    return sum(r.lower() in pred for r in refs) / len(refs)


def load_cells(tasks):
    """(task, length) -> rows, from a folder of {task}_{length}.jsonl files (niah_jsonl.py) or from one
    JSONL holding many tasks and lengths (`qkrestore niah generate`, which records max_seq_length)."""
    paths = sorted(glob.glob(os.path.join(tasks, "*.jsonl*"))) if os.path.isdir(tasks) else [tasks]
    cells = {}
    for path in paths:
        for r in read_jsonl(path):
            cells.setdefault((r["task"], int(r.get("max_seq_length", r["length"]))), []).append(r)
    return cells


def eval_niah_file(model, tok, rows, samples, max_new=None, batch_tokens=DEFAULT_BATCH_TOKENS):
    if isinstance(rows, str):
        rows = read_jsonl(rows)
    rows = rows[:samples]
    prompts = [tok.encode(niah_prompt(r)).ids for r in rows]
    if max_new is None:   # enough for the expected strings, far below RULER's 128 (same greedy prefix; generation stops at <|im_end|>)
        max_new = 6 + max(len(tok.encode(" " + " ".join(r["outputs"])).ids) for r in rows)
    outs = greedy(model, prompts, max_new, batch_tokens)
    preds = [decode(tok, o) for o in outs]
    scores = [string_match_all(p, r["outputs"]) for p, r in zip(preds, rows)]
    by_depth = {}
    for r, s in zip(rows, scores):
        by_depth.setdefault(r.get("depth_percent", -1), []).append(s)
    return dict(score=100 * sum(scores) / len(scores), n=len(scores),
                mean_prompt_tokens=sum(map(len, prompts)) / len(prompts),
                by_depth={str(d): 100 * sum(v) / len(v) for d, v in sorted(by_depth.items())},
                per_sample=scores,   # in file order: exact McNemar between models on the same samples
                examples=[dict(pred=p[:80], ref=r["outputs"]) for p, r in zip(preds[:3], rows[:3])])


def eval_math(model, tok, n=300, max_new=160, batch_tokens=DEFAULT_BATCH_TOKENS, seed=12345, plain=False):
    """plain: the "Question: ... Answer:" text format of the corpus instead of a chat turn (the latent skill)."""
    probs = textgen.math_eval_set(n, seed)
    prompts = [tok.encode(textgen.plain_prompt(p.question) if plain else user_turn(p.question)).ids for p in probs]
    outs = greedy(model, prompts, max_new, batch_tokens)
    preds = [decode(tok, o) for o in outs]
    correct = [textgen.parse_answer(t) == p.answer for t, p in zip(preds, probs)]
    return dict(accuracy=100 * sum(correct) / n, n=n, correct=correct, examples=[dict(q=p.question, pred=t[:200], ref=p.answer)
                                                               for p, t in zip(probs[:2], preds[:2])])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--tasks", required=True, help="folder of {task}_{length}.jsonl files, or one task JSONL")
    ap.add_argument("--task-names", nargs="+", default=["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1"])
    ap.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--math", type=int, default=300)
    ap.add_argument("--math-plain", type=int, default=0, help="also this many problems in the plain-text format")
    ap.add_argument("--math-seed", type=int, default=12345, help="12345: the reported problems; 777: the selection set")
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--batch-tokens", type=int, default=DEFAULT_BATCH_TOKENS,
                    help="prompt tokens per generation batch (lower it when several evaluations share the GPU)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    results = {}
    if os.path.exists(args.out):
        results = json.load(open(args.out))
    cells = load_cells(args.tasks) if os.path.exists(args.tasks) else {}
    def save():   # after every cell: a machine taken back mid-run loses at most one cell
        with open(args.out + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.out + ".tmp", args.out)

    for spec in args.models:
        t0 = time.time()
        name = spec.split("=", 1)[0]
        res = results.setdefault(name, {"spec": spec, "niah": {}})
        todo = [(task, L) for task in args.task_names for L in args.lengths
                if (task, L) in cells and (f"{task}@{L}" not in res["niah"] or res["niah"][f"{task}@{L}"]["n"] < min(args.samples, len(cells[(task, L)])))]
        need_math = args.math and res.get("math", {}).get("n", 0) < args.math
        need_plain = args.math_plain and res.get("math_plain", {}).get("n", 0) < args.math_plain
        if not (todo or need_math or need_plain):
            log(name, "already in", args.out)
            continue
        name, model = load_spec(spec)
        tok = load_tokenizer(args.tokenizer or os.path.join(spec.split("=", 1)[1].split("+")[0], "tokenizer.json"))
        if need_math:
            res["math"] = eval_math(model, tok, args.math, batch_tokens=args.batch_tokens, seed=args.math_seed)
            log(name, "math", res["math"]["accuracy"])
            save()
        if need_plain:
            res["math_plain"] = eval_math(model, tok, args.math_plain, batch_tokens=args.batch_tokens, seed=args.math_seed,
                                          plain=True)
            log(name, "math (plain text)", res["math_plain"]["accuracy"])
            save()
        for task, L in todo:
            r = eval_niah_file(model, tok, cells[(task, L)], args.samples, batch_tokens=args.batch_tokens)
            res["niah"][f"{task}@{L}"] = r
            log(name, task, L, f"{r['score']:.1f}", r["examples"][0]["pred"][:40])
            save()
        res["seconds"] = round(res.get("seconds", 0) + time.time() - t0, 1)
        save()
        del model
        torch.cuda.empty_cache()

if __name__ == "__main__":
    main()
