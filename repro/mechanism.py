"""The paper's mechanism, measured on our models.

1. Attention-gradient magnitude vs query-key distance: |dL/ds_ij| (s = pre-softmax logit of a global
   head) averaged over heads, samples and pairs at distance i - j, for the CoT-SFT loss (word problems,
   loss on answers; one problem per sequence as the shipped SFT since v3, or packed into 512 tokens with
   --sft-sequences packed, as v1-v3's numbers) and for the retrieval loss (pre-training's retrieval exercises).
2. Mean attention distance of each global head, sum_j p_ij (i - j), averaged over the query positions
   of the question and answer prefix (last 64 tokens) and over all positions, on NIAH-S2 prompts,
   for each model given.

Attention probabilities and logit gradients are recomputed from the layer's inputs (captured with
hooks) with the layer's own q/k/v projections, norms and RoPE, so the numbers do not depend on which
attention kernel ran. dL/dS follows from dL/dO (gradient at o_proj's input, times the output gate):
    dP = dO V^T,  dS = P * (dP - rowsum(P * dP))      (softmax Jacobian)

    python3 repro/mechanism.py --models base=models/base cot=models/cot --niah tasks/niah_single_2_4096.jsonl --out mech.json
"""
import argparse
import json
import random

import torch
import torch.nn.functional as F

import textgen
from common import global_layers, load_tokenizer, log
from evaluate import load_spec, niah_prompt, read_jsonl
from sft import packed_sequences, single_sequences


class Capture:
    """Hooks on the global attention layers: layer inputs (forward) and o_proj input gradients."""

    def __init__(self, model):
        self.model, self.inputs, self.grads, self.handles = model, {}, {}, []
        for i in global_layers(model.config):
            attn = model.model.layers[i].self_attn
            self.handles.append(attn.register_forward_pre_hook(self._pre(i), with_kwargs=True))
            self.handles.append(attn.o_proj.register_full_backward_hook(self._bwd(i)))

    def _pre(self, i):
        def hook(mod, args, kwargs):
            hs = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
            pos = kwargs["position_embeddings"] if "position_embeddings" in kwargs else args[1]
            self.inputs[i] = (hs.detach(), tuple(t.detach() for t in pos))
        return hook

    def _bwd(self, i):
        def hook(mod, grad_in, grad_out):
            self.grads[i] = grad_in[0].detach()
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def qkvg(attn, hs, pos):
    """Query/key/value/gate of a Qwen3-Next gated attention layer, exactly as its forward computes them."""
    from transformers.models.qwen3_next.modeling_qwen3_next import apply_rotary_pos_emb, repeat_kv
    B, T, _ = hs.shape
    hd = attn.head_dim
    q, gate = torch.chunk(attn.q_proj(hs).view(B, T, -1, hd * 2), 2, dim=-1)
    gate = gate.reshape(B, T, -1)
    q = attn.q_norm(q).transpose(1, 2)
    k = attn.k_norm(attn.k_proj(hs).view(B, T, -1, hd)).transpose(1, 2)
    v = attn.v_proj(hs).view(B, T, -1, hd).transpose(1, 2)
    q, k = apply_rotary_pos_emb(q, k, *pos)
    n_rep = attn.num_key_value_groups
    return q.float(), repeat_kv(k, n_rep).float(), repeat_kv(v, n_rep).float(), gate.float()


def probs(attn, hs, pos):
    q, k, v, gate = qkvg(attn, hs, pos)
    T = q.shape[2]
    s = (q @ k.transpose(-1, -2)) * attn.scaling
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool, device=s.device), 1), float("-inf"))
    return F.softmax(s, -1), v, gate


def distance_bins(T):
    edges = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
    return [e for e in edges if e < T] + [T]


def grad_profile(model, batches, weights_fn):
    """Mean |dL/ds| per distance bin over the global heads, for the given (ids, weights) batches."""
    cap = Capture(model)
    total, count = None, None
    for ids, w in batches:
        ids, w = ids.cuda(), w.cuda()
        model.zero_grad(set_to_none=True)
        logits = model(input_ids=ids).logits[:, :-1].float()
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
        ww = w[:, 1:].reshape(-1)
        ((nll * ww).sum() / ww.sum()).backward()
        T = ids.shape[1]
        dist = (torch.arange(T, device="cuda")[:, None] - torch.arange(T, device="cuda")[None, :])
        edges = distance_bins(T)
        if total is None:
            total, count = [0.0] * (len(edges) - 1), [0] * (len(edges) - 1)
        for li in cap.inputs:
            attn = model.model.layers[li].self_attn
            hs, pos = cap.inputs[li]
            with torch.no_grad():
                p, v, gate = probs(attn, hs, pos)
                B, H, _, hd = v.shape
                d_o = (cap.grads[li].float() * torch.sigmoid(gate)).view(B, T, H, hd).transpose(1, 2)
                dp = d_o @ v.transpose(-1, -2)
                ds = (p * (dp - (p * dp).sum(-1, keepdim=True))).abs()
                for b in range(len(edges) - 1):
                    sel = (dist >= edges[b]) & (dist < edges[b + 1])
                    total[b] += ds[..., sel].sum().item()
                    count[b] += int(sel.sum().item()) * B * H
    cap.close()
    edges = distance_bins(T)
    return [dict(lo=edges[b], hi=edges[b + 1], mean_abs_grad=total[b] / max(1, count[b])) for b in range(len(total))]


@torch.no_grad()
def attention_distance(model, tok, niah_path, n=16, tail=64, length=None):
    rows = [r for r in read_jsonl(niah_path)
            if length is None or int(r.get("max_seq_length", r.get("length"))) == length][:n]
    cap = Capture(model)
    per_head = {}
    for r in rows:
        ids = torch.tensor([tok.encode(niah_prompt(r)).ids], device="cuda")
        model(input_ids=ids)
        T = ids.shape[1]
        dist = (torch.arange(T, device="cuda")[:, None] - torch.arange(T, device="cuda")[None, :]).clamp_min(0).float()
        for li, (hs, pos) in cap.inputs.items():
            p, _, _ = probs(model.model.layers[li].self_attn, hs, pos)
            md = (p[0] * dist).sum(-1)                    # [H, T]: expected distance per query
            for h in range(md.shape[0]):
                d = per_head.setdefault(f"L{li}.h{h}", dict(question=0.0, all=0.0))
                d["question"] += md[h, -tail:].mean().item() / len(rows)
                d["all"] += md[h].mean().item() / len(rows)
    cap.close()
    return per_head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--niah", required=True, help="a NIAH task JSONL (e.g. niah_single_2_4096.jsonl)")
    ap.add_argument("--niah-length", type=int, default=None, help="only samples of this max_seq_length")
    ap.add_argument("--grad-models", nargs="*", default=None, help="names whose gradient profiles to measure")
    ap.add_argument("--sft-sequences", choices=["single", "packed"], default="single",
                    help="the CoT-SFT loss on one problem per sequence (how models/cot is trained since v3) or "
                         "packed into 512 tokens (v1/v2, and v3's mechanism numbers)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import batches as B
    res = {"attention_distance": {}, "grad_profile": {}}
    for spec in args.models:
        name, model = load_spec(spec)
        model.config._attn_implementation = "sdpa"
        tok = load_tokenizer(spec.split("=", 1)[1].split("+")[0] + "/tokenizer.json")
        res["attention_distance"][name] = attention_distance(model, tok, args.niah, length=args.niah_length)
        log(name, "attention distance", json.dumps(res["attention_distance"][name]))
        if args.grad_models is None or name in args.grad_models:
            rng = random.Random(7)
            problems = [textgen.math_problem(rng) for _ in range(400)]
            if args.sft_sequences == "single":
                ids, m = single_sequences(tok, problems, "cot", rng)
            else:
                ids, m = packed_sequences(tok, problems, "cot", 512, rng)
            cot = [(ids[i:i + 16], m[i:i + 16]) for i in range(0, 64, 16)]
            ds = B.PretrainBatches(spec.split("=", 1)[1].split("+")[0] + "/tokenizer.json", 10, 16 * 2048,
                                   [(1.01, 2048, 2048)], retrieval_share=1.0, seed=99)
            ret = [ds[i] for i in range(2)]
            # Retrieval weights: the answer (value) tokens only, to compare like with like (answer loss).
            ret = [(x, (w >= 5).float()) for x, w in ret]
            res["grad_profile"][name] = dict(cot_sft=grad_profile(model, cot, None),
                                             retrieval=grad_profile(model, ret, None))
            log(name, "grad profile", json.dumps(res["grad_profile"][name]))
        del model
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
