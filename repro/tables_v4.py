"""RESULTS.md's v4 tables and plot from what the `eval` stage writes (results/v4/ev/*.json from evaluate.py:
per-sample NIAH outcomes and per-problem reasoning, one harness for every model), pure Python:
Wilson 95% intervals, exact McNemar tests against CoT-SFT on the same samples, the share of the drop won back
and of the reasoning gain kept with percentile-bootstrap intervals, and each target judged on its interval.

    python3 repro/tables_v4.py repro/results/v4 [--svg repro/results/v4/recall_vs_length.svg]
"""
import glob
import json
import os
import sys

from stats import bootstrap_ratio, mcnemar, wilson

LENGTHS = (1024, 2048, 4096, 8192, 16384, 32768)
LONG = (8192, 16384, 32768)   # where issue 27's targets apply
ROWS = [("base", "base (long-context)"), ("cot", "CoT-SFT (models/cot)"), ("restore", "+ QK-Restore (paper)"),
        ("group", "+ best head repair"), ("pick", "+ class-aware repair (sweep's pick)"),
        ("layer", "+ restore the chosen layer"), ("q_only", "+ Q only"), ("k_only", "+ K only"),
        ("v_only", "+ V only"), ("direct", "direct-answer control"), ("direct+restore", "direct-answer + restore"),
        ("frozen", "CoT-SFT with global W_Q/W_K frozen")]
PLOTTED = ("base", "cot", "restore", "group", "pick")


def load(d):
    models = {}
    for path in sorted(glob.glob(os.path.join(d, "ev", "*.json"))):
        for name, r in json.load(open(path)).items():
            if not isinstance(r, dict) or "niah" not in r:
                continue   # heads.json and other shapes
            m = models.setdefault(name, {})
            # one model's cells may come from several files (a run resumed under another grouping)
            m.setdefault("niah", {}).update({L: [x >= 1 for x in r["niah"][f"niah_single_2@{L}"]["per_sample"]]
                                             for L in LENGTHS if f"niah_single_2@{L}" in r["niah"]})
            for key, field in (("reasoning", "math"), ("reasoning_plain", "math_plain")):
                if field in r or key not in m:
                    m[key] = r.get(field, {}).get("correct")
    return models


def pct(xs):
    k, n = sum(xs), len(xs)
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f} [{lo:.1f}, {hi:.1f}]"


def ptest(ref, xs):
    p, gained, lost = mcnemar(ref, xs)
    return f"p = {p:.2g} (+{gained}/-{lost})"


def share(repair, worse, better):
    """(repair - worse) / (better - worse) pooled, with its bootstrap interval, per-sample paired."""
    num = [int(r) - int(w) for r, w in zip(repair, worse)]
    den = [int(b) - int(w) for b, w in zip(better, worse)]
    d = sum(den)
    point = sum(num) / d if d else float("nan")
    lo, hi = bootstrap_ratio(num, den)
    return point, lo, hi


def verdict(lo, target):
    return "**met**" if lo >= target else "not met"


def tables(models):
    cols = [L for L in LENGTHS if any(L in m["niah"] for m in models.values())]
    head = " | ".join(f"S2 {L // 1024}K" for L in cols)
    print(f"| model | reasoning (n = 1,000) | {head} |\n|---|---|" + "---|" * len(cols))
    for key, label in ROWS:
        if key in models:
            m = models[key]
            r = pct(m["reasoning"]) if m["reasoning"] else ""
            print(f"| {label} | {r} | " + " | ".join(pct(m["niah"][L]) if L in m["niah"] else "" for L in cols) + " |")
    if models.get("base", {}).get("reasoning_plain"):
        print(f"\nbase in the plain-text format (`Question: ... Answer:`): {pct(models['base']['reasoning_plain'])}")
    ref = models["cot"]
    print("\nExact McNemar against CoT-SFT on the same samples (+gained/-lost):")
    print(f"| model | reasoning | {head} |\n|---|---|" + "---|" * len(cols))
    for key, label in ROWS:
        if key in models and key != "cot":
            m = models[key]
            r = ptest(ref["reasoning"], m["reasoning"]) if m["reasoning"] and ref["reasoning"] else ""
            print(f"| {label} | {r} | " + " | ".join(ptest(ref["niah"][L], m["niah"][L]) if L in m["niah"] else ""
                                                  for L in cols) + " |")
    if "pick" in models and "group" in models:
        pick, group = models["pick"], models["group"]
        print("\nThe class-aware pick against the best head repair, exact McNemar on the same samples (+pick/-group):")
        print(f"| reasoning | {head} |\n|---|" + "---|" * len(cols))
        r = ptest(group["reasoning"], pick["reasoning"]) if pick["reasoning"] and group["reasoning"] else ""
        print(f"| {r} | " + " | ".join(ptest(group["niah"][L], pick["niah"][L]) if L in pick["niah"] and L in group["niah"]
                                      else "" for L in cols) + " |")
    base = models["base"]
    print("\nShare of CoT-SFT's NIAH drop won back, and of its reasoning gain kept [95% bootstrap interval]:")
    print(f"| repair | gain kept | " + " | ".join(f"won back {L // 1024}K" for L in cols) + " |\n|---|---|" + "---|" * len(cols))
    for key in ("restore", "group", "pick", "layer"):
        if key not in models:
            continue
        m = models[key]
        g = share(m["reasoning"], base["reasoning"], ref["reasoning"]) if m["reasoning"] else None
        cells = []
        for L in cols:
            w = share(m["niah"][L], ref["niah"][L], base["niah"][L]) if L in m["niah"] else None
            cells.append(f"{100 * w[0]:.0f}% [{100 * w[1]:.0f}, {100 * w[2]:.0f}]" if w else "")
        kept = f"{100 * g[0]:.0f}% [{100 * g[1]:.0f}, {100 * g[2]:.0f}]" if g else ""
        print(f"| {dict(ROWS)[key]} | {kept} | " + " | ".join(cells) + " |")
    print("\nTargets of issue 27, judged on the interval's near end:")
    print("| target | measured | met? |\n|---|---|---|")
    for L in [L for L in LONG if L in ref["niah"] and L in base["niah"]]:
        n = len(base["niah"][L])
        diffs = [int(b) - int(s) for b, s in zip(base["niah"][L], ref["niah"][L])]
        lo, hi = bootstrap_ratio(diffs, [1] * n)
        print(f"| CoT-SFT drop >= 30 points at {L // 1024}K | {100 * sum(diffs) / n:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] "
              f"| {verdict(100 * lo, 30)} |")
    for key in ("pick", "group", "restore"):
        if key not in models:
            continue
        m = models[key]
        for L in [L for L in LONG if L in m["niah"]]:
            w = share(m["niah"][L], ref["niah"][L], base["niah"][L])
            print(f"| {key}: wins back >= 70% at {L // 1024}K | {100 * w[0]:.0f}% [{100 * w[1]:.0f}, {100 * w[2]:.0f}] "
                  f"| {verdict(w[1], 0.70)} |")
        if m["reasoning"]:
            g = share(m["reasoning"], base["reasoning"], ref["reasoning"])
            print(f"| {key}: keeps >= 85% of the reasoning gain | {100 * g[0]:.0f}% [{100 * g[1]:.0f}, {100 * g[2]:.0f}] "
                  f"| {verdict(g[1], 0.85)} |")


def svg(models, path):
    """Recall vs length (log scale) with Wilson whiskers for the five candidates of issue 27."""
    colours = {"base": "#444", "cot": "#d62728", "restore": "#1f77b4", "group": "#2ca02c", "pick": "#9467bd"}
    W, H, left, top, plot_w, plot_h = 640, 360, 60, 20, 420, 280
    x = lambda i: left + plot_w * i / (len(LENGTHS) - 1)
    y = lambda v: top + plot_h * (1 - v / 100)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for v in (0, 25, 50, 75, 100):
        out.append(f'<text x="{left - 8}" y="{y(v) + 4}" text-anchor="end">{v}</text>')
    for i, L in enumerate(LENGTHS):
        out.append(f'<text x="{x(i)}" y="{top + plot_h + 16}" text-anchor="middle">{L // 1024}K</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{H - 8}" text-anchor="middle">context length (tokens)</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
               'text-anchor="middle">NIAH-S2 recall (%)</text>')
    row = 0
    for key in PLOTTED:
        if key not in models:
            continue
        pts = []
        for i, L in enumerate(LENGTHS):
            xs = models[key]["niah"].get(L)
            if not xs:
                continue
            v = 100 * sum(xs) / len(xs)
            lo, hi = wilson(sum(xs), len(xs))
            pts.append((x(i), y(v)))
            out.append(f'<line x1="{x(i)}" x2="{x(i)}" y1="{y(lo)}" y2="{y(hi)}" stroke="{colours[key]}"/>')
        out.append(f'<polyline fill="none" stroke="{colours[key]}" stroke-width="2" points="'
                   + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        out.append(f'<text x="{left + plot_w + 12}" y="{top + 14 + 18 * row}" fill="{colours[key]}">'
                   f'{dict(ROWS)[key]}</text>')
        row += 1
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    d = argv[0] if argv else os.path.join(os.path.dirname(__file__), "results", "v4")
    models = load(d)
    if "cot" not in models or "base" not in models:
        sys.exit(f"tables_v4: {d}/ev holds no base and cot evaluations (run the eval stage)")
    tables(models)
    if "--svg" in argv:
        svg(models, argv[argv.index("--svg") + 1])


if __name__ == "__main__":
    main(sys.argv[1:])
