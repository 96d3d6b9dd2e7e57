"""What bench/sweep_bench.sh and bench/search_bench.sh read back from their runs: GNU time's numbers for a
run (bench/timing.sh writes them), the seconds each candidate took (as the sweep's log prints them) and the
answers a candidate gave (to compare two runs' answers)."""
import json
import re


def times(work, name):
    """(wall s, CPU s = user + system, peak RSS MiB) of the run `timed NAME` measured."""
    wall, user, system, rss = open(f"{work}/{name}.time").read().split()
    return float(wall), float(user) + float(system), int(rss) / 1024


def per_candidate(log_path, line_start=r"\w+ \[[\d/]+\]"):
    """[(candidate, seconds)] in the order the log lists them: lines `LINE_START NAME ..., N s`."""
    pattern = re.compile(rf"^{line_start} (\S+) .*, (\d+) s$", re.M)
    return [(m.group(1), int(m.group(2))) for m in pattern.finditer(open(log_path).read())]


def answers(sweep_dir, candidate):
    """The candidate's NIAH and reasoning answers, by sample id."""
    out = []
    for f in ("niah/predictions.jsonl", "eval/predictions.jsonl"):
        out += sorted((j["id"], j["pred"]) for j in map(json.loads, open(f"{sweep_dir}/candidates/{candidate}/{f}")))
    return out
