"""Wilson intervals and exact McNemar tests for the result files (pure Python).

    python3 repro/stats.py heads results/v2/heads.json     the per-head table of RESULTS.md
"""
import json
import math
import random
import sys


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 100.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return 100 * (c - h), 100 * (c + h)


def mcnemar(a, b):
    """Exact two-sided McNemar p-value for paired 0/1 outcomes a, b (binomial test on discordant pairs)."""
    n01 = sum(1 for x, y in zip(a, b) if not x and y)
    n10 = sum(1 for x, y in zip(a, b) if x and not y)
    n = n01 + n10
    if n == 0:
        return 1.0, n01, n10
    k = min(n01, n10)
    p = 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, p), n01, n10


def bootstrap_ratio(num, den, draws=2000, seed=0):
    """95% percentile-bootstrap interval of sum(num) / sum(den) over paired samples (the same indices drawn
    for both), e.g. the share of a drop won back: num = repair - SFT, den = base - SFT per sample."""
    rng = random.Random(seed)
    n, values = len(num), []
    for _ in range(draws):
        idx = [rng.randrange(n) for _ in range(n)]
        d = sum(den[i] for i in idx)
        values.append(sum(num[i] for i in idx) / d if d else float("nan"))
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * len(values))], values[min(len(values) - 1, int(0.975 * len(values)))]


def fmt(xs):
    k, n = sum(bool(x) for x in xs), len(xs)
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f} ({lo:.1f}-{hi:.1f})"


def heads(path):
    d = json.load(open(path))
    r = d["results"]
    print(f"S2@8K, {d['samples']} samples ({d['tasks']}); reasoning on 1,000 problems where measured")
    print("| repair of models/cot | S2@8K exact (TF) | first digit | mean needle log-prob | reasoning | McNemar vs SFT (8K) |")
    print("|---|---|---|---|---|---|")
    for name, v in r.items():
        p, n01, n10 = mcnemar(r["sft"]["exact"], v["exact"]) if name != "sft" else (1.0, 0, 0)
        rs = fmt(v["reasoning"]) if "reasoning" in v else ""
        lp = sum(v["logprob"]) / len(v["logprob"])
        print(f"| {name} | {fmt(v['exact'])} | {fmt(v['first_digit'])} | {lp:.2f} | {rs} | "
              f"{'' if name == 'sft' else f'p = {p:.2g} ({n01} gained, {n10} lost)'} |")
    for a, b in (("sft", "restore"), ("restore", "base"), ("sft", "base")):
        if "reasoning" in r.get(a, {}) and "reasoning" in r.get(b, {}):
            p, n01, n10 = mcnemar(r[a]["reasoning"], r[b]["reasoning"])
            print(f"reasoning {a} -> {b}: McNemar p = {p:.2g} ({n01} gained, {n10} lost)")


if __name__ == "__main__":
    {"heads": heads}[sys.argv[1]](*sys.argv[2:])
