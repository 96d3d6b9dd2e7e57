"""Trains the byte-level BPE tokenizer (vocab 4096) with Hugging Face tokenizers; writes tokenizer.json.

Pre-tokenization is Qwen2's: the same split regex (every digit its own piece, so numbers are read
digit by digit, which helps arithmetic and keeps 7-digit needles at 7 tokens) followed by byte-level
mapping; the C++ tokenizer of the project implements exactly this family. Trained on the prose plus
a sample of the synthetic training text, so that template words, keys and digits get merges.

    python3 repro/train_tokenizer.py --out tokenizer.json
"""
import argparse
import gzip
import random

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

import textgen
from common import SPECIALS, MODEL_SHAPE

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def training_texts(prose, rng):
    yield from prose
    words = textgen.Words(textgen.DATA_DIR)
    for _ in range(20000):
        yield textgen.sample_needle_sentence(rng, words)[0]
    for _ in range(20000):
        p = textgen.math_problem(rng)
        yield p.question + "\n" + p.cot_answer()
        yield textgen.arithmetic_line(rng)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with gzip.open(f"{textgen.DATA_DIR}/prose.txt.gz", "rt") as f:
        prose = [line.rstrip("\n") for line in f]

    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=MODEL_SHAPE["vocab_size"], special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_texts(prose, rng), trainer=trainer)
    assert tok.get_vocab_size() == MODEL_SHAPE["vocab_size"], tok.get_vocab_size()
    tok.save(args.out)
    sample = "One of the special magic numbers for fancy-lemon is: 4821937."
    print("vocab", tok.get_vocab_size(), "| sample:", tok.encode(sample).tokens)


if __name__ == "__main__":
    main()
