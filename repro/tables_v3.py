"""RESULTS.md's v3 tables from results/v3/ (pure Python): Wilson 95% intervals and exact McNemar tests
against CoT-SFT on the same samples, for recall (greedy NIAH-S2, RULER string_match_all) and reasoning.

    python3 repro/tables_v3.py repro/results/v3
"""
import json
import os
import sys

from stats import mcnemar, wilson

LENGTHS = (1024, 2048, 4096, 8192)


def load(d):
    """name -> {"niah": {L: [0/1 x 200]}, "reasoning": [bool x 1000] or None}"""
    models = {}
    for f in ("a.json", "b.json", "ev_q_only.json", "ev_k_only.json", "ev_v_only.json"):
        path = os.path.join(d, f)
        if not os.path.exists(path):
            continue
        for name, r in json.load(open(path)).items():
            m = models.setdefault(name, {"reasoning": None})
            m["niah"] = {L: r["niah"][f"niah_single_2@{L}"]["per_sample"] for L in LENGTHS}
            if "math" in r:
                m["reasoning"] = r["math"]["correct"]
            if "math_plain" in r:
                m["reasoning_plain"] = r["math_plain"]["correct"]
    heads = json.load(open(os.path.join(d, "heads.json")))["results"]
    # heads_eval.py measured reasoning (greedy, 176 new tokens) for these; same 1,000 problems.
    for name, alias in (("sft", "cot"), ("restore", "restore"), ("L3g3", "group"), ("L3", "layer"), ("base", "base")):
        if alias in models and "reasoning" in heads.get(name, {}):
            models[alias]["reasoning"] = heads[name]["reasoning"]
    return models, heads


def hits(m, L):
    """Per-sample 0/1 outcomes of one NIAH cell (string_match_all is 0 or 1 with one needle)."""
    return [x >= 1 for x in m["niah"][L]]


def pooled(m):
    """The 1K-4K cells together (8K: nothing left to win back)."""
    return [x for L in LENGTHS[:3] for x in hits(m, L)]


def cell(xs):
    k, n = sum(1 for x in xs if x), len(xs)
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f} ({lo:.1f}-{hi:.1f})"


def ptest(ref, xs):
    p, gained, lost = mcnemar(ref, xs)
    return f"p = {p:.2g} (+{gained}/-{lost})"


def main(d):
    models, heads = load(d)
    order = [("base", "base (mid-trained)"), ("cot", "CoT-SFT (models/cot)"), ("restore", "+ QK-Restore (L3, L7, L11)"),
             ("group", "+ restore KV group L3 g3 only (2 of 24 query heads)"), ("layer", "+ restore layer 3 only"),
             ("q_only", "+ Q only"), ("k_only", "+ K only"), ("v_only", "+ V only")]
    print("| model | reasoning (n = 1,000) | " + " | ".join(f"S2 {L // 1024}K" for L in LENGTHS) + " |")
    print("|---|---|" + "---|" * len(LENGTHS))
    for key, label in order:
        if key not in models:
            continue
        m = models[key]
        r = cell(m["reasoning"]) if m["reasoning"] else ""
        print(f"| {label} | {r} | " + " | ".join(cell(hits(m, L)) for L in LENGTHS) + " |")
    print()
    ref = models["cot"]
    print("Exact McNemar against CoT-SFT on the same samples (+gained/-lost):")
    print("| model | reasoning | " + " | ".join(f"S2 {L // 1024}K" for L in LENGTHS) + " | S2 1K-4K pooled |")
    print("|---|---|" + "---|" * (len(LENGTHS) + 1))
    for key, label in order:
        if key in ("cot",) or key not in models:
            continue
        m = models[key]
        r = ptest(ref["reasoning"], m["reasoning"]) if m["reasoning"] else ""
        print(f"| {label} | {r} | " + " | ".join(ptest(hits(ref, L), hits(m, L)) for L in LENGTHS)
              + f" | {ptest(pooled(ref), pooled(m))} |")
    if "reasoning_plain" in models.get("base", {}):
        print(f"\nbase, plain-text format (`Question: ... Answer:`): {cell(models['base']['reasoning_plain'])}")
    g, rs = models["group"], models["restore"]
    print(f"group vs restore, reasoning: {ptest(rs['reasoning'], g['reasoning'])}; S2 1K-4K pooled: "
          f"{ptest(pooled(rs), pooled(g))}")

    print("\nPer KV group and layer, teacher-forced (exact = every needle token is the argmax; first digit; mean "
          "needle log-prob), 200 samples per length:")
    print("| repair of models/cot | " + " | ".join(f"{L // 1024}K exact / first digit / log-prob" for L in LENGTHS)
          + " | reasoning |")
    print("|---|" + "---|" * (len(LENGTHS) + 1))
    for name, r in heads.items():
        cols = []
        for L in LENGTHS:
            c = r[str(L)]
            n = len(c["exact"])
            cols.append(f"{100 * sum(c['exact']) / n:.1f} / {100 * sum(c['first_digit']) / n:.0f} / "
                        f"{sum(c['logprob']) / n:.2f}")
        rea = cell(r["reasoning"]) if "reasoning" in r else ""
        print(f"| {name} | " + " | ".join(cols) + f" | {rea} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "v3"))
