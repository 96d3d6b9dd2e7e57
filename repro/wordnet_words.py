"""Prints single-word adjectives ("a word") and nouns ("n word") from WordNet's index files.

Used for training keys; the evaluation keys come from `qkrestore niah generate`, which also draws
on WordNet, so training sees the same kind of key but never the evaluation prompts themselves.
"""
import os
import sys


def lemmas(path):
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith(" "):
                continue  # licence header
            lemma = line.split(" ", 1)[0]
            if lemma.isalpha() and lemma.islower() and 3 <= len(lemma) <= 10:
                yield lemma


def main(root):
    for tag, name in (("a", "index.adj"), ("n", "index.noun")):
        for w in lemmas(os.path.join(root, name)):
            print(tag, w)


if __name__ == "__main__":
    main(sys.argv[1])
