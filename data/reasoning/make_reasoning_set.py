#!/usr/bin/env python3
"""Writes the held-out reasoning set of the shipped models (issue 15): word problems of 4-6 steps of
the kind CoT-SFT teaches (repro/textgen.py: math_problem), drawn with seeds the SFT data never uses.

  test.jsonl       1,000 problems, seed 12345: the reported reasoning score
  selection.jsonl    300 problems, seed 777: for choosing repairs, never for reporting

Each line: {"question": ..., "answer": worked solution, one operation a line, then "#### N"} (GSM8K style).

    python3 data/reasoning/make_reasoning_set.py [OUT_DIR]
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "repro"))
import textgen  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else here
os.makedirs(out, exist_ok=True)
for name, n, seed in (("test", 1000, 12345), ("selection", 300, 777)):
    with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
        for p in textgen.math_eval_set(n, seed):
            f.write(json.dumps(dict(question=p.question, answer=p.worked())) + "\n")
    print(name, n, "problems")
