"""Draws the result plots as SVG from the evaluations in repro/results/, with no plotting library
(the CPU machine has none; SVG is text, diffs well and renders on GitHub).

    python3 repro/plots.py   # writes repro/results/recall_vs_length*.svg, tradeoff.svg, tradeoff_sweep.svg
"""
import json
import math
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "results")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"]


class Svg:
    def __init__(self, w, h):
        self.w, self.h, self.items = w, h, []

    def line(self, x1, y1, x2, y2, color="#000", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.items.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" stroke-width="{width}"{d}/>')

    def polyline(self, pts, color, width=2):
        p = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        self.items.append(f'<polyline points="{p}" fill="none" stroke="{color}" stroke-width="{width}"/>')

    def circle(self, x, y, r, color):
        self.items.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>')

    def text(self, x, y, s, size=12, anchor="start", color="#000"):
        s = s.replace("&", "&amp;").replace("<", "&lt;")
        self.items.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-family="sans-serif" '
                          f'text-anchor="{anchor}" fill="{color}">{s}</text>')

    def save(self, path):
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}">\n'
                    f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(self.items) + "\n</svg>\n")


def frame(svg, x0, y0, x1, y1, title, xlabel, ylabel):
    svg.line(x0, y1, x1, y1); svg.line(x0, y0, x0, y1)
    svg.text((x0 + x1) / 2, y0 - 12, title, 14, "middle")
    svg.text((x0 + x1) / 2, y1 + 36, xlabel, 12, "middle")
    svg.items.append(f'<text x="{x0 - 42}" y="{(y0 + y1) / 2}" font-size="12" font-family="sans-serif" '
                     f'text-anchor="middle" transform="rotate(-90 {x0 - 42} {(y0 + y1) / 2})">{ylabel}</text>')
    for v in range(0, 101, 20):
        y = y1 - (y1 - y0) * v / 100
        svg.line(x0 - 4, y, x1, y, "#ddd"); svg.text(x0 - 8, y + 4, str(v), 11, "end")


def recall_plot(results, task, path):
    svg = Svg(720, 420)
    x0, y0, x1, y1 = 70, 40, 500, 360
    frame(svg, x0, y0, x1, y1, f"{task}: recall vs context length (100 samples per point)", "context length (tokens)",
          "string_match_all (%)")
    lengths = [1024, 2048, 4096, 8192, 16384]
    xs = {L: x0 + (x1 - x0) * (math.log2(L) - 10) / 4 for L in lengths}
    for L, x in xs.items():
        svg.text(x, y1 + 16, f"{L // 1024}K", 11, "middle")
    k = 0
    for name, r in results.items():
        pts = [(xs[L], y1 - (y1 - y0) * r["niah"][f"{task}@{L}"]["score"] / 100)
               for L in lengths if f"{task}@{L}" in r["niah"]]
        if len(pts) < 2:
            continue
        c = COLORS[k % len(COLORS)]
        svg.polyline(pts, c)
        for x, y in pts:
            svg.circle(x, y, 3, c)
        svg.line(515, 50 + 18 * k, 540, 50 + 18 * k, c, 3)
        svg.text(546, 54 + 18 * k, name, 12)
        k += 1
    svg.save(path)


def tradeoff_plot(results, extra, path, L=1024):
    svg = Svg(720, 420)
    x0, y0, x1, y1 = 70, 40, 500, 360
    frame(svg, x0, y0, x1, y1, f"Trade-off: recall (NIAH-S2 @ {L // 1024}K) vs reasoning", "word-problem accuracy (%)",
          f"NIAH-S2 @ {L // 1024}K (%)")
    for v in range(0, 101, 20):
        svg.text(x0 + (x1 - x0) * v / 100, y1 + 16, str(v), 11, "middle")
    pts = []
    for name, r in list(results.items()) + list(extra.items()):
        key = f"niah_single_2@{L}"
        if "math" in r and key in r["niah"]:
            pts.append((name, r["math"]["accuracy"], r["niah"][key]["score"]))
    for k, (name, m, s) in enumerate(pts):
        c = COLORS[k % len(COLORS)]
        svg.circle(x0 + (x1 - x0) * m / 100, y1 - (y1 - y0) * s / 100, 5, c)
        svg.circle(515 + 8, 50 + 18 * k - 4, 5, c)
        svg.text(536, 54 + 18 * k, f"{name} ({m:.0f}, {s:.0f})", 12)
    svg.save(path)


def merged_results():
    """Every evaluation of stages D-G by model name: stage D's eval.json, then stage F/G's files
    (S1/S3/MK1, ablations, blends) and stage E's sweep (50 samples per cell), cells merged per model."""
    merged = {}
    def add(path, rename=lambda n: n):
        for name, r in json.load(open(path)).items():
            if name == "train_logs":
                continue
            m = merged.setdefault(rename(name), {"niah": {}})
            m["niah"].update(r.get("niah", {}))
            if "math" in r:
                m["math"] = r["math"]
    add(os.path.join(RES, "eval", "eval.json"))
    for sub in ("eval2", "eval3"):
        for f in sorted(os.listdir(os.path.join(RES, sub))):
            if f.endswith(".json") and f != "mech.json":
                add(os.path.join(RES, sub, f))
    add(os.path.join(RES, "sweep", "sweep_eval.json"), lambda n: "sweep " + n)
    # A run cut by the time limit or an out-of-memory error logged its finished cells but never wrote its
    # JSON (evaluate.py writes after each whole model): take those cells from the log lines.
    for sub in ("eval2", "eval3"):
        for f in sorted(os.listdir(os.path.join(RES, sub))):
            if not f.endswith(".log"):
                continue
            for line in open(os.path.join(RES, sub, f)):
                m = re.match(r"^(\S+) (niah_\w+) (\d+) ([\d.]+) ", line)
                if m:
                    cell = merged.setdefault(m[1], {"niah": {}})["niah"]
                    cell.setdefault(f"{m[2]}@{m[3]}", {"score": float(m[4]), "source": f"{sub}/{f}"})
    return merged


def main():
    results = merged_results()
    main_models = {n: results[n] for n in ("base", "cot", "cot+restore", "cot+qkpro", "noncot", "noncot+restore")}
    for task in ("niah_single_1", "niah_single_2", "niah_multikey_1"):
        recall_plot({n: r for n, r in main_models.items() if any(k.startswith(task) for k in r["niah"])}, task,
                    os.path.join(RES, f"recall_vs_length_{task}.svg" if task != "niah_single_2" else "recall_vs_length.svg"))
    repairs = {n: r for n, r in results.items() if n.startswith("cot") or n == "base"}
    tradeoff_plot(repairs, {}, os.path.join(RES, "tradeoff.svg"))
    sweep = {n.replace("sweep ", ""): r for n, r in results.items() if n.startswith("sweep ")}
    tradeoff_plot(sweep, {}, os.path.join(RES, "tradeoff_sweep.svg"))
    print("wrote the SVGs in", RES)


if __name__ == "__main__":
    main()
