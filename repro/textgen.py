"""Synthetic text for pre-training and SFT: retrieval samples in many formats, arithmetic, word problems.

Training wording is deliberately varied and never the RULER evaluation template itself: the
evaluation prompts come from `qkrestore niah generate` (or niah_jsonl.py, which copies RULER), and
recall there must come from the skill, not from a memorised template.
"""
import gzip
import os
import random
import re
import string
import uuid
from dataclasses import dataclass, field

DATA_DIR = os.environ.get("REPRO_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))


class Words:
    """Adjectives and nouns (WordNet) for keys, plus a few name/object lists for word problems."""

    def __init__(self, data_dir=DATA_DIR):
        self.adjectives, self.nouns = [], []
        with gzip.open(os.path.join(data_dir, "words.txt.gz"), "rt") as f:
            for line in f:
                tag, w = line.split()
                (self.adjectives if tag == "a" else self.nouns).append(w)

    def key(self, rng):
        # Mostly RULER's shape (adjective-noun); sometimes other shapes, so the skill is "match the
        # queried string", not "match this one pattern".
        r = rng.random()
        if r < 0.75:
            return f"{rng.choice(self.adjectives)}-{rng.choice(self.nouns)}"
        if r < 0.85:
            return f"{rng.choice(self.adjectives)} {rng.choice(self.nouns)}"
        if r < 0.95:
            return rng.choice(self.nouns)
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(2)) + "-" + str(rng.randint(10, 999))


def value(rng, kind):
    if kind == "number":
        return str(rng.randint(1000000, 9999999))
    if kind == "short_number":
        return str(rng.randint(100, 99999))
    if kind == "long_number":
        return str(rng.randint(10 ** 7, 10 ** 9 - 1))
    if kind == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    raise ValueError(kind)


# Phrasings. {t} = the kind of thing ("number", "code", ...), {k} = key, {v} = value.
THING_WORDS = {
    "number": ["special number", "magic number", "secret number", "hidden number", "special magic number",
               "lucky number", "access number", "code number", "pass number", "reference number"],
    "uuid": ["special id", "secret identifier", "magic uuid", "hidden code", "special magic uuid",
             "unique identifier", "access token", "reference id"],
}
NEEDLES = [
    "The {t} for {k} is {v}.",
    "One of the {t}s for {k} is: {v}.",
    "Remember this: the {t} of {k} is {v}.",
    "A {t} for {k} is {v}.",
    "Note that {k} has the {t} {v}.",
    "For {k}, the {t} is: {v}.",
    "Here is the {t} for {k}: {v}.",
    "Keep in mind that the {t} belonging to {k} is {v}.",
    "The {t} that goes with {k} is {v}.",
    "{k}: its {t} is {v}.",
    "One {t} for {k} is: {v}.",
    "Write down the {t} of {k}, which is {v}.",
]
INTROS = [
    "A {t} is hidden somewhere in the text below. Memorize it; you will be asked about it.",
    "Read the following text carefully. It contains a {t} that I will ask you about later.",
    "Some {t}s are hidden in the following document. Find them and remember them.",
    "Below is a long passage. Somewhere inside it there is a {t}. Keep it in memory.",
    "The text below hides {t}s among other sentences. I will quiz you about one of them afterwards.",
    "Pay attention to the passage. A question about a {t} follows it.",
    "",  # no introduction at all
]
QUESTIONS = [
    "What is the {t} for {k}?",
    "What {t} was given for {k} in the text?",
    "Which {t} is mentioned for {k}?",
    "Tell me the {t} of {k} from the passage.",
    "According to the text, what is the {t} for {k}?",
    "Find the {t} for {k} in the text above.",
    "What is the {t} associated with {k} in the document?",
]
ANSWERS = [
    "The {t} for {k} is",
    "The {t} for {k} mentioned in the text is",
    "The {t} of {k} is",
    "In the text, the {t} for {k} is",
    "The {t} given for {k} in the passage is",
    "Answer:",
]

# Filler sentences for noise haystacks; each sample repeats a random block of some of them, so the
# evaluation's fixed block is one of many possible noises rather than a memorised string.
NOISE = ["The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again.",
         "The sea is deep.", "The road is long.", "The night is dark.", "Snow is white.", "The hill is steep.",
         "Birds can fly.", "The river runs.", "Leaves are falling.", "The wind is cold.", "Stars are bright.",
         "The stone is grey.", "Rain is wet.", "The moon is round.", "Fire is hot.", "The day is long."]


def sample_needle_sentence(rng, words, kind="number"):
    t = rng.choice(THING_WORDS[kind])
    k, v = words.key(rng), value(rng, kind)
    return rng.choice(NEEDLES).format(t=t, k=k, v=v), k, v


# ---------------------------------------------------------------------------------------------
# Word problems for CoT-SFT and the reasoning metric.
NAMES = ["Tom", "Ana", "Ravi", "Mia", "Leo", "Sara", "Ben", "Ivy", "Omar", "Lena", "Kai", "Nora", "Sam", "Zoe"]
OBJECTS = ["apples", "coins", "books", "stamps", "marbles", "pencils", "cards", "eggs", "shells", "nails"]


@dataclass
class Problem:
    question: str
    steps: list = field(default_factory=list)   # (a, op, b, c) with c = a op b
    answer: int = 0

    def cot_answer(self, answer_format="is"):
        sym = {"+": "+", "-": "-", "*": "*", "/": "/"}
        lines = [f"{a} {sym[op]} {b} = {c}." for a, op, b, c in self.steps]
        return "Let's think step by step. " + " ".join(lines) + " " + ANSWER_FORMATS[answer_format].format(self.answer)

    def direct_answer(self, answer_format="is"):
        return ANSWER_FORMATS[answer_format].format(self.answer)


# How an SFT answer states its result. "is" shares the shape of NIAH's answer prefix ("... mentioned in
# the provided text is N"), so an SFT model may answer a needle question with a word-problem number
# (format capture); "hash" (GSM8K's "#### N") does not, which separates format capture from lost routing.
ANSWER_FORMATS = {"is": "The answer is {}.", "hash": "#### {}"}


def math_problem(rng):
    """A 3-5 step word problem; every step is one operation on small numbers (all exact, >= 0)."""
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    x = rng.randint(5, 60)
    text = [f"{name} has {x} {obj}."]
    steps = []
    for _ in range(rng.randint(3, 5)):
        kind = rng.choice(["gain", "lose", "boxes", "times", "share"])
        if kind == "gain":
            b = rng.randint(2, 50)
            text.append(rng.choice([f"Then {name} finds {b} more {obj}.", f"A friend gives {name} {b} {obj}.",
                                    f"{name} buys {b} more {obj}."]))
            steps.append((x, "+", b, x + b)); x += b
        elif kind == "lose" and x > 3:
            b = rng.randint(1, x - 1)
            text.append(rng.choice([f"{name} gives away {b} {obj}.", f"Then {name} loses {b} {obj}.",
                                    f"{name} uses {b} of the {obj}."]))
            steps.append((x, "-", b, x - b)); x -= b
        elif kind == "boxes":
            n, per = rng.randint(2, 9), rng.randint(2, 12)
            text.append(f"{name} gets {n} boxes with {per} {obj} in each box.")
            steps.append((n, "*", per, n * per)); steps.append((x, "+", n * per, x + n * per)); x += n * per
        elif kind == "times" and x <= 150:
            m = rng.choice([2, 3])
            text.append(f"Then the number of {obj} {name} has becomes {'twice' if m == 2 else 'three times'} as large.")
            steps.append((x, "*", m, x * m)); x *= m
        else:
            divisors = [d for d in (2, 3, 4, 5) if x % d == 0 and x >= d * 2]
            if not divisors:
                b = rng.randint(2, 30)
                text.append(f"{name} picks up {b} more {obj}.")
                steps.append((x, "+", b, x + b)); x += b
                continue
            d = rng.choice(divisors)
            text.append(f"{name} splits the {obj} into {d} equal piles and keeps one pile.")
            steps.append((x, "/", d, x // d)); x //= d
    text.append(f"How many {obj} does {name} have now?")
    return Problem(" ".join(text), steps, x)


def math_eval_set(n, seed=12345):
    """Held-out problems: a seed the SFT data never uses (sft.py refuses seeds >= 1000)."""
    rng = random.Random(seed)
    return [math_problem(rng) for _ in range(n)]


def parse_answer(text):
    """The final answer: the last "answer is N" or "#### N", else the last integer in the text."""
    m = re.findall(r"(?:answer is|####) (-?\d+)", text)
    if m:
        return int(m[-1])
    nums = re.findall(r"-?\d+", text)
    return int(nums[-1]) if nums else None


def arithmetic_line(rng):
    """One operation with its result, no worked steps: arithmetic facts for pre-training."""
    op = rng.choice("+-*/")
    if op == "+":
        a, b = rng.randint(0, 999), rng.randint(0, 999); c = a + b
    elif op == "-":
        a = rng.randint(0, 999); b = rng.randint(0, a); c = a - b
    elif op == "*":
        a, b = rng.randint(0, 150), rng.randint(0, 12); c = a * b
    else:
        b = rng.randint(1, 9); c = rng.randint(0, 99); a = b * c
    fmt = rng.choice(["{a} {o} {b} = {c}", "{a} {o} {b} = {c}.", "What is {a} {o} {b}? {c}",
                      "Compute {a} {o} {b}: {c}", "{a} {o} {b} equals {c}."])
    return fmt.format(a=a, o=op, b=b, c=c)


# ---------------------------------------------------------------------------------------------
class Prose:
    """Sentences of the prose corpus with their token counts, for building haystacks of exact length."""

    def __init__(self, tokenizer, data_dir=DATA_DIR, holdout=0.03):
        with gzip.open(os.path.join(data_dir, "prose.txt.gz"), "rt") as f:
            pars = [line.strip() for line in f if line.strip()]
        cut = int(len(pars) * (1 - holdout))
        # The last paragraphs are held out of training: niah_jsonl.py draws its essay haystack there.
        self.train_pars, self.heldout_pars = pars[:cut], pars[cut:]
        self.sentences = [s for p in self.train_pars for s in re.split(r"(?<=[.!?])\s+", p) if s]
        enc = tokenizer.encode_batch([" " + s for s in self.sentences], add_special_tokens=False)
        self.counts = [len(e.ids) for e in enc]

    def take(self, rng, budget):
        """Consecutive sentences from a random place, about `budget` tokens in all."""
        i = rng.randrange(len(self.sentences))
        out, used = [], 0
        while used < budget:
            c = self.counts[i]
            if used + c > budget and out:
                break
            out.append(self.sentences[i]); used += c
            i = (i + 1) % len(self.sentences)
        return out, used


@dataclass
class Sample:
    ids: list
    weights: list   # per target position (same length as ids): loss weight of predicting ids[i]


def retrieval_sample(rng, tok, prose, words, length, ids_of):
    """One RULER-like retrieval exercise of at most `length` tokens, as a chat turn.

    Formats: prose or noise or needle-line haystack; 1-4 needles (decoys with other keys);
    number or uuid values; occasionally several values for the queried key.
    """
    kind = "uuid" if rng.random() < 0.2 else "number"
    t = rng.choice(THING_WORDS[kind])
    hay = rng.choices(["prose", "noise", "needles"], weights=[0.6, 0.28, 0.12])[0]
    n_needles = rng.choices([1, 2, 3, 4], weights=[0.4, 0.2, 0.15, 0.25])[0]
    keys = []
    while len(keys) < n_needles:
        k = words.key(rng)
        if k not in keys:
            keys.append(k)
    query = keys[0]
    n_values = 1 if rng.random() < 0.9 else rng.randint(2, 4)
    needle_tmpl = rng.choice(NEEDLES)
    needles, answer_values = [], []
    for j, k in enumerate(keys):
        for _ in range(n_values if j == 0 else 1):
            v = value(rng, kind)
            needles.append(needle_tmpl.format(t=t, k=k, v=v))
            if j == 0:
                answer_values.append(v)
    rng.shuffle(needles)
    intro = rng.choice(INTROS).format(t=t)
    question = rng.choice(QUESTIONS).format(t=t, k=query)
    head = rng.choice(ANSWERS).format(t=t, k=query)
    vals = answer_values[0] if len(answer_values) == 1 else ", ".join(answer_values[:-1]) + " and " + answer_values[-1]

    fixed = len(ids_of(intro + question + head + vals)) + 24 + sum(len(ids_of(" " + n)) for n in needles)
    budget = max(16, length - fixed)
    for _ in range(4):
        if hay == "prose":
            units, _ = prose.take(rng, budget)
            sep = " "
        elif hay == "noise":
            block = " ".join(rng.sample(NOISE, rng.randint(3, 6)))
            per = len(ids_of(block + "\n"))
            units, sep = [block] * max(1, budget // per), "\n"
        else:
            per = len(ids_of(" " + needle_tmpl.format(t=t, k="x-y", v=value(rng, kind)))) + 2
            units, sep = [], "\n"
            for _ in range(max(1, budget // per)):
                k = words.key(rng)
                if k not in keys:
                    units.append(needle_tmpl.format(t=t, k=k, v=value(rng, kind)))
        for n in needles:
            units.insert(rng.randint(0, len(units)), n)
        context = sep.join(units)
        prompt = (intro + "\n" if intro else "") + context + "\n" + question
        p_ids = ids_of("<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n")
        h_ids = ids_of(head)
        v_ids = ids_of(" " + vals + ".")
        total = len(p_ids) + len(h_ids) + len(v_ids) + 1
        if total <= length:
            break
        budget -= total - length + 8
    ids = p_ids + h_ids + v_ids + [2]
    # Loss weights (pilot): the retrieved value dominates; the haystack still trains language modelling.
    w = [0.2] * len(p_ids) + [1.0] * len(h_ids) + [5.0] * len(v_ids) + [1.0]
    return Sample(ids[:length], w[:length])


def packed_text_sample(rng, tok, prose, length, ids_of, arithmetic_share=0.3):
    """Plain language-model text (prose paragraphs and arithmetic facts) packed to `length` tokens."""
    ids = []
    while len(ids) < length:
        if rng.random() < arithmetic_share:
            chunk = ids_of("\n".join(arithmetic_line(rng) for _ in range(rng.randint(4, 16))) + "\n")
        else:
            sents, _ = prose.take(rng, rng.randint(64, 512))
            chunk = ids_of(" ".join(sents) + "\n")
        ids += chunk + [0]
    ids = ids[:length]
    return Sample(ids, [1.0] * len(ids))
