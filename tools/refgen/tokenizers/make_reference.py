#!/usr/bin/env python3
"""Reference data for qkrestore's C++ tokenizer, made with the real `tokenizers` library.

Run on a machine with `tokenizers` installed (no network needed), from the repository root:

    python3 tools/refgen/tokenizers/make_reference.py OUT_DIR

It trains small BPE tokenizers on testdata/tokenizer/training_corpus.txt with the settings of each
model family (GPT-2, RoBERTa, Qwen2, Llama-3, Llama-2, Mistral, Gemma, plus a SentencePiece-style
tokenizer without byte fallback), writes each tokenizer.json, and encodes every line of
testdata/tokenizer/hard_text.jsonl with and without special tokens, recording ids, tokens and the
decoded text. The C++ tests (tests/tokenizer/parity_test.cpp) must reproduce every id and string.
Outputs, in OUT_DIR: <name>.json for each tokenizer, reference.jsonl, meta.json.
"""
import json
import os
import sys
import time

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CORPUS = os.path.join(ROOT, "testdata", "tokenizer", "training_corpus.txt")
HARD_TEXT = os.path.join(ROOT, "testdata", "tokenizer", "hard_text.jsonl")

# The split regexes as they appear in the published tokenizer.json files of these families.
QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPIECE = "\u2581"


def train(pre_tokenizer, normalizer, vocab_size, special_tokens, byte_level, limit_alphabet=None, unk=None):
    """Trains a BPE model and returns (vocab dict, merges list of tuples)."""
    tok = Tokenizer(models.BPE(unk_token=unk))
    tok.pre_tokenizer = pre_tokenizer
    if normalizer is not None:
        tok.normalizer = normalizer
    kwargs = dict(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False)
    if byte_level:
        kwargs["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()
    if limit_alphabet is not None:
        kwargs["limit_alphabet"] = limit_alphabet
    tok.train([CORPUS], trainers.BpeTrainer(**kwargs))
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def byte_level_family(name):
    """GPT-2, RoBERTa, Qwen2 and Llama-3 style byte-level BPE tokenizers."""
    if name in ("gpt2", "roberta"):
        pre = pre_tokenizers.ByteLevel(add_prefix_space=(name == "roberta"), use_regex=True)
        norm = None
    else:
        regex = QWEN2_REGEX if name == "qwen2" else LLAMA3_REGEX
        pre = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        norm = normalizers.NFC() if name == "qwen2" else None
    specials = {
        "gpt2": ["<|endoftext|>"],
        "roberta": ["<s>", "<pad>", "</s>", "<unk>"],
        "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    }[name]
    vocab, merges = train(pre, norm, 3000, specials, byte_level=True)
    if name == "llama3":
        # Whole words that no merge sequence reaches: only ignore_merges turns them into one token.
        for word in ["supercalifragilisticexpialidocious", "ĠPneumonoultramicroscopicsilicovolcanoconiosis",
                     "Pneumonoultramicroscopicsilicovolcanoconiosis", "ĠQUICK", "ĠBROWN"]:
            if word not in vocab:
                vocab[word] = max(vocab.values()) + 1
    model = models.BPE(vocab=vocab, merges=merges, ignore_merges=(name == "llama3"))
    tok = Tokenizer(model)
    if norm is not None:
        tok.normalizer = norm
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if name == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.add_tokens([AddedToken("[SEP]", single_word=True, normalized=False)])
    elif name == "roberta":
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
        # RobertaProcessing(sep, cls): positional only in the Python binding.
        tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                          ("<s>", tok.token_to_id("<s>")))
    elif name == "qwen2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.add_tokens([AddedToken("<think>", normalized=False), AddedToken("</think>", normalized=False)])
    elif name == "llama3":
        bos = "<|begin_of_text|>"
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                          special_tokens=[(bos, tok.token_to_id(bos))]),
        ])
    text = tok.to_str()
    if name == "gpt2":
        # GPT-2's published file stores merges as "a b" strings: keep that older form covered.
        doc = json.loads(text)
        doc["model"]["merges"] = [" ".join(m) for m in doc["model"]["merges"]]
        text = json.dumps(doc, ensure_ascii=False)
    return text


def sentencepiece_family(name):
    """Llama-2, Mistral and Gemma style BPE with byte fallback, and one with <unk> instead of bytes."""
    specials = ["<unk>", "<s>", "</s>"]
    if name == "sp_unk":
        norm = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        pre = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="always", split=True),
            pre_tokenizers.Digits(individual_digits=True),
        ])
        vocab, merges = train(pre, norm, 1200, specials, byte_level=False, limit_alphabet=60, unk="<unk>")
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=False))
        tok.normalizer = norm
        tok.pre_tokenizer = pre
        tok.decoder = decoders.Metaspace(replacement=SPIECE, prepend_scheme="always", split=True)
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
        return tok.to_str()

    trained, merges = train(pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="always", split=True), None,
                            1500, specials, byte_level=False, limit_alphabet=150, unk="<unk>")
    # Llama-2's layout: <unk> <s> </s>, then the 256 byte tokens <0x00>..<0xFF>, then the pieces.
    vocab = {s: i for i, s in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(trained.items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    sp_decoder = decoders.Sequence([decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(content=" ", left=1, right=0)])
    bos_template = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    if name == "llama2":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend(SPIECE), normalizers.Replace(" ", SPIECE)])
        tok.decoder = sp_decoder
        tok.post_processor = bos_template
        # A normalized token matches its normalized form ("▁[INST]"); a raw one matches as written.
        tok.add_tokens([AddedToken("[INST]", normalized=True)])
        tok.add_special_tokens([AddedToken("[/INST]", special=True, normalized=False, rstrip=True)])
    elif name == "mistral":
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE, prepend_scheme="first", split=False)
        tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                         decoders.Metaspace(replacement=SPIECE, prepend_scheme="first", split=False)])
        tok.post_processor = bos_template
        tok.add_special_tokens([AddedToken("[INST]", special=True, normalized=False),
                                AddedToken("[/INST]", special=True, normalized=False)])
    elif name == "gemma":
        tok.normalizer = normalizers.Replace(" ", SPIECE)
        tok.decoder = decoders.Sequence([decoders.Replace(SPIECE, " "), decoders.ByteFallback(), decoders.Fuse()])
        tok.post_processor = bos_template
        tok.add_special_tokens([AddedToken("<start_of_turn>", special=True, normalized=False),
                                AddedToken("<end_of_turn>", special=True, normalized=False),
                                AddedToken("<mask>", special=True, normalized=False, lstrip=True, rstrip=True)])
    return tok.to_str()


def project_tokenizer(name):
    """The project's own trained tokenizer (repro/tokenizer.json, Qwen2 style), when present."""
    return open(os.path.join(ROOT, "repro", "tokenizer.json"), encoding="utf-8").read()


FAMILIES = {
    "gpt2": byte_level_family, "roberta": byte_level_family, "qwen2": byte_level_family,
    "llama3": byte_level_family, "llama2": sentencepiece_family, "mistral": sentencepiece_family,
    "gemma": sentencepiece_family, "sp_unk": sentencepiece_family, "repro_qwen": project_tokenizer,
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    texts = [json.loads(line) for line in open(HARD_TEXT, encoding="utf-8")]
    corpus = open(CORPUS, encoding="utf-8").read()
    meta = {"tokenizers_version": tokenizers.__version__, "tokenizers": {}, "errors": {}}
    with open(os.path.join(out_dir, "reference.jsonl"), "w", encoding="utf-8") as ref:
        for name, build in FAMILIES.items():
            try:
                json_text = build(name)
                with open(os.path.join(out_dir, f"{name}.json"), "w", encoding="utf-8") as f:
                    f.write(json_text)
                # Encode with the tokenizer read back from the exact text that was saved.
                tok = Tokenizer.from_str(json_text)
                for item in texts:
                    plain = tok.encode(item["text"], add_special_tokens=False)
                    special = tok.encode(item["text"], add_special_tokens=True)
                    ref.write(json.dumps({
                        "tokenizer": name, "id": item["id"], "ids": plain.ids, "tokens": plain.tokens,
                        "ids_special": special.ids,
                        "decoded": tok.decode(plain.ids, skip_special_tokens=False),
                        "decoded_special_skip": tok.decode(special.ids, skip_special_tokens=True),
                    }, ensure_ascii=False) + "\n")
                # Single-thread speed of the real library on the training text, for comparison.
                big = corpus * 20
                start = time.perf_counter()
                n = len(tok.encode(big, add_special_tokens=False).ids)
                seconds = time.perf_counter() - start
                meta["tokenizers"][name] = {
                    "vocab_size_with_added": tok.get_vocab_size(with_added_tokens=True),
                    "corpus_ids": tok.encode(corpus, add_special_tokens=False).ids[:50],
                    "corpus_token_count": len(tok.encode(corpus, add_special_tokens=False).ids),
                    "hf_encode_mb_per_s": round(len(big.encode("utf-8")) / seconds / 1e6, 2),
                    "hf_encode_tokens": n,
                }
                print(f"{name}: ok, vocab {meta['tokenizers'][name]['vocab_size_with_added']}", flush=True)
            except Exception as e:  # keep going: one broken family must not cost the whole run
                meta["errors"][name] = f"{type(e).__name__}: {e}"
                print(f"{name}: FAILED {type(e).__name__}: {e}", flush=True)
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
