"""Batches for pre-training, built in DataLoader worker processes (the GPU machine has 16 cores).

A batch is a fixed number of tokens; its sequence length follows the curriculum (pilot: retrieval
only appears when training starts short and grows). Each row is either a retrieval exercise or
packed prose/arithmetic text.
"""
import random

import torch
from torch.utils.data import Dataset

import textgen
from common import load_tokenizer


def curriculum_length(progress, rng, stages):
    """stages: list of (fraction_end, min_len, max_len); lengths drawn log-uniformly in the range."""
    for end, lo, hi in stages:
        if progress < end:
            break
    return int(2 ** rng.uniform(torch.log2(torch.tensor(lo)).item(), torch.log2(torch.tensor(hi)).item()))


class PretrainBatches(Dataset):
    def __init__(self, tok_path, steps, tokens_per_step, stages, retrieval_share=0.6, seed=0, t_start=None,
                 budget_s=None, mid_start=0.7, qa_share=(0.3, 0.5), qa_style="v2"):
        self.tok_path, self.steps, self.tokens_per_step = tok_path, steps, tokens_per_step
        self.stages, self.retrieval_share, self.seed = stages, retrieval_share, seed
        # Progress is the step fraction or the wall-clock fraction of the budget, whichever is ahead,
        # so the curriculum and the mid-training phase are reached even when the GPU is slower than planned.
        self.t_start, self.budget_s = t_start, budget_s
        self.mid_start, self.qa_share = mid_start, qa_share
        self.qa_doc = {"v2": textgen.v2_qa, "latent": textgen.latent_skill_qa}[qa_style]
        self.ready = False

    def progress(self, step):
        p = step / self.steps
        if self.t_start is not None and self.budget_s:
            import time
            p = max(p, (time.time() - self.t_start) / self.budget_s)
        return min(p, 1.0)

    def _setup(self):
        # Per worker: tokenizer and prose are loaded lazily so the main process stays light.
        self.tok = load_tokenizer(self.tok_path)
        self.words = textgen.Words()
        self.prose = textgen.Prose(self.tok)
        self.ready = True

    def ids_of(self, s):
        return self.tok.encode(s, add_special_tokens=False).ids

    def __len__(self):
        return self.steps

    def __getitem__(self, step):
        if not self.ready:
            self._setup()
        rng = random.Random(self.seed * 1_000_003 + step)
        progress = self.progress(step)
        # Mid-training (the last 30%): more question-answer documents, the latent skill the SFT builds on.
        qa_share = self.qa_share[0] if progress < self.mid_start else self.qa_share[1]
        length = curriculum_length(progress, rng, self.stages)
        length = max(64, (length // 64) * 64)
        rows = max(1, self.tokens_per_step // length)
        ids = torch.zeros(rows, length, dtype=torch.long)
        w = torch.zeros(rows, length)
        for r in range(rows):
            if rng.random() < self.retrieval_share:
                s = textgen.retrieval_sample(rng, self.tok, self.prose, self.words, length, self.ids_of)
            else:
                s = textgen.packed_text_sample(rng, self.tok, self.prose, length, self.ids_of, qa_share=qa_share,
                                               qa_doc=self.qa_doc)
            ids[r, :len(s.ids)] = torch.tensor(s.ids)
            w[r, :len(s.weights)] = torch.tensor(s.weights)
        return ids, w
