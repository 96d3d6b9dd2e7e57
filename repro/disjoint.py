"""Checks that a selection set and a reported set of NIAH samples share no prompt (issue 22: seeds 7 and 42
of generator version 1 gave the same prompts, permuted). Exits 1 naming the first shared sample.

    python3 repro/disjoint.py SELECTION.jsonl[.xz] REPORTED.jsonl[.xz]
"""
import gzip
import json
import lzma
import sys


def read_jsonl(path):   # evaluate.read_jsonl without torch, which this machine may not have
    opener = lzma.open if path.endswith(".xz") else gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    selection, reported = (read_jsonl(p) for p in sys.argv[1:3])
    seen = {r["input"]: r["id"] for r in reported}
    shared = [(r["id"], seen[r["input"]]) for r in selection if r["input"] in seen]
    if shared:
        print(f"{len(shared)} of {len(selection)} selection prompts are in {sys.argv[2]}, e.g. {shared[0]}")
        sys.exit(1)
    print(f"disjoint: {len(selection)} selection prompts, {len(reported)} reported prompts, none shared")


if __name__ == "__main__":
    main()
