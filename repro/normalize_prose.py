"""Turns the raw Debian texts into paragraphs of plain prose, one per output line.

Why: the haystack and the language-model data should read like running text, so verse numbers,
chapter headings, ASCII-art banners and dictionary markup are dropped and lines are re-flowed
into paragraphs with single spaces (RULER's essay haystack is whitespace-normalised the same way).
"""
import re
import sys


def paragraphs(text):
    block = []
    for line in text.splitlines():
        if line.strip():
            block.append(line.strip())
        elif block:
            yield " ".join(block)
            block = []
    if block:
        yield " ".join(block)


def clean(par):
    par = re.sub(r"^\d+ ", "", par)           # KJV verse numbers at paragraph start
    par = re.sub(r"(?<=[.;:?!]) \d+ ", " ", par)  # ... and inside re-flowed verses
    par = re.sub(r"\s+", " ", par).strip()
    return par


def is_prose(par):
    # Keep paragraphs that look like sentences: mostly letters, ends in punctuation, long enough.
    if len(par) < 60 or par[-1] not in ".!?\"')":
        return False
    letters = sum(c.isalpha() or c == " " for c in par)
    return letters / len(par) > 0.85 and "http" not in par and "@" not in par


def main(paths):
    for path in paths:
        with open(path, encoding="latin-1") as f:
            text = f.read()
        if "kjv" in path:
            # The bible program prints "Book N" headings and re-wraps verses at 80 columns;
            # join verses of a chapter into one paragraph.
            text = re.sub(r"\n(?=\s+\d+ )", "\n\n", text)
        for par in paragraphs(text):
            par = clean(par)
            if is_prose(par):
                print(par)


if __name__ == "__main__":
    main(sys.argv[1:])
