"""RULER-format NIAH task files (JSONL), following RULER's niah.py templates exactly.

Stand-in for `qkrestore niah generate` (the project's own generator, preferred when it is built):
same fields ("index", "input", "outputs", "length", "depth_percent", "task", "answer_prefix").
The essay haystack is prose held out of pre-training (textgen.Prose.heldout_pars).

    python3 repro/niah_jsonl.py --tokenizer tokenizer.json --out tasks/ --lengths 1024 2048 --samples 100
"""
import argparse
import json
import os
import random
import re
import uuid

import textgen
from common import load_tokenizer, user_turn

TEMPLATE = ("Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. "
            "I will quiz you about the {type_needle_v} afterwards.\n{context}\n"
            "What are all the special magic {type_needle_v} for {query} mentioned in the provided text?")
ANSWER_PREFIX = " The special magic {type_needle_v} for {query} mentioned in the provided text are"
NEEDLE = "One of the special magic {type_needle_v} for {key} is: {value}."
NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
DEPTHS = [round(i * 100 / 39) for i in range(40)]   # np.linspace(0, 100, 40) rounded
TASKS = {  # RULER synthetic.yaml
    "niah_single_1": dict(haystack="noise", v="numbers", k=1),
    "niah_single_2": dict(haystack="essay", v="numbers", k=1),
    "niah_single_3": dict(haystack="essay", v="uuids", k=1),
    "niah_multikey_1": dict(haystack="essay", v="numbers", k=4),
}


def singular(text):
    # RULER: with one value to report, the template is made singular.
    text = text.replace("Some special magic", "A special magic")
    for a, b in ((r"\bare all\b", "is"), (r"\bare\b", "is"), (r"\bnumbers\b", "number"), (r"\buuids\b", "uuid")):
        text = re.sub(a, b, text)
    return text


def build(task, rng, words, essay_sentences, n_hay, depth):
    cfg = TASKS[task]
    keys = []
    while len(keys) < cfg["k"]:
        k = f"{rng.choice(words.adjectives)}-{rng.choice(words.nouns)}"
        if k not in keys:
            keys.append(k)
    vals = [textgen.value(rng, "number") if cfg["v"] == "numbers" else str(uuid.UUID(int=rng.getrandbits(128), version=4))
            for _ in keys]
    needles = [NEEDLE.format(type_needle_v=cfg["v"], key=k, value=v) for k, v in zip(keys, vals)]
    if cfg["haystack"] == "noise":
        units, sep = [NOISE] * n_hay, "\n"
    else:
        units, sep = essay_sentences[:n_hay], " "
    depths = [depth] + [rng.choice(DEPTHS) for _ in needles[1:]]
    for needle, d in sorted(zip(needles, depths), key=lambda x: -x[1]):
        units = units[:]
        units.insert(round(len(units) * d / 100), needle)
    query = keys[0]
    # RULER: with one value to report the task wording is made singular (the needles stay plural);
    # done on the templates before the key and the haystack go in, so neither is rewritten.
    head, question = TEMPLATE.split("\n{context}\n")
    head, question = (singular(x.format(type_needle_v=cfg["v"], query="{query}")) for x in (head, question))
    prefix = singular(ANSWER_PREFIX.format(type_needle_v=cfg["v"], query="{query}")).format(query=query)
    text = head + "\n" + sep.join(units) + "\n" + question.format(query=query)
    return text, prefix, [vals[0]], query


_CELL = {}


def _run_cell(c):
    _CELL["fn"](c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--tokens-to-generate", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--haystack", help="essay haystack text file (default: prose held out of training)")
    ap.add_argument("--keys-dir", help="folder with adjectives.txt and nouns.txt (default: WordNet lists)")
    ap.add_argument("--workers", type=int, default=1, help="processes, one cell each")
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    words = textgen.Words()
    if args.keys_dir:   # the lists `qkrestore niah generate` draws keys from
        words.adjectives = open(os.path.join(args.keys_dir, "adjectives.txt")).read().split()
        words.nouns = open(os.path.join(args.keys_dir, "nouns.txt")).read().split()
    if args.haystack:
        text = re.sub(r"\s+", " ", open(args.haystack, encoding="utf-8").read())
        essay = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    else:
        prose = textgen.Prose(tok)
        essay = [s for p in prose.heldout_pars for s in re.split(r"(?<=[.!?])\s+", p) if s]
    essay = (essay * (1 + 40000 // len(essay)))   # long enough for 16K+ tokens
    os.makedirs(args.out, exist_ok=True)

    def n_tokens(text, prefix):
        return len(tok.encode(user_turn(text) + prefix.strip()).ids)

    def cell(task_length):
        task, length = task_length
        rng = random.Random(f"{args.seed}-{task}-{length}")
        budget = length - args.tokens_to_generate
        with open(os.path.join(args.out, f"{task}_{length}.jsonl"), "w") as f:
            for i in range(args.samples):
                depth = rng.choice(DEPTHS)
                start = rng.randrange(len(essay) // 2)
                sample_seed = rng.getrandbits(32)
                # RULER binary-searches the haystack size so that prompt + answer prefix + the tokens
                # to generate fit the length; done per sample, since essay sentences vary in length.
                lo, hi = 1, length
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    t, p, _, _ = build(task, random.Random(sample_seed), words, essay[start:], mid, depth)
                    if n_tokens(t, p) <= budget:
                        lo = mid
                    else:
                        hi = mid - 1
                t, p, outs, q = build(task, random.Random(sample_seed), words, essay[start:], lo, depth)
                f.write(json.dumps(dict(index=i, input=t, outputs=outs, length=length, depth_percent=depth,
                                        task=task, answer_prefix=p)) + "\n")
        print(task, length, "done", flush=True)

    cells = [(t, L) for t in args.tasks for L in args.lengths]
    if args.workers > 1:
        import multiprocessing as mp
        _CELL["fn"] = cell   # inherited by the forked workers
        with mp.get_context("fork").Pool(args.workers) as pool:
            pool.map(_run_cell, cells)
    else:
        for c in cells:
            cell(c)


if __name__ == "__main__":
    main()
