"""Reasoning accuracy through an OpenAI-compatible server (e.g. `qkrestore serve`, the project's C++
engine on the CPU): the same 300 held-out problems, prompt and parsing as evaluate.py.

    qkrestore serve --model models/cot --port 8011 &
    python3 repro/serve_math_eval.py --server http://127.0.0.1:8011 --model cot --out res.json
"""
import argparse
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import textgen

USER_TURN = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"   # common.user_turn, without torch


def complete(server, model, prompt, max_tokens):
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "top_p": 1, "stop": ["<|im_end|>"]}).encode()
    req = urllib.request.Request(server.rstrip("/") + "/v1/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)["choices"][0]["text"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("-j", "--jobs", type=int, default=8)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    t0 = time.time()
    probs = textgen.math_eval_set(args.n)
    with ThreadPoolExecutor(args.jobs) as ex:
        preds = list(ex.map(lambda p: complete(args.server, args.model, USER_TURN.format(p.question), args.max_tokens), probs))
    correct = [textgen.parse_answer(t) == p.answer for t, p in zip(preds, probs)]
    res = dict(model=args.model, accuracy=100 * sum(correct) / len(correct), n=len(correct),
               seconds=round(time.time() - t0, 1), examples=[dict(q=p.question, pred=t[:200], ref=p.answer)
                                                              for p, t in zip(probs[:2], preds[:2])])
    print(json.dumps(res))
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
