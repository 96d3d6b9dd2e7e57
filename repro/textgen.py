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

    def worked(self):
        """The worked solution, GSM8K style: one operation a line, then "#### N"."""
        return "\n".join(f"{a} {op} {b} = {c}." for a, op, b, c in self.steps) + f"\n#### {self.answer}"

    def cot_answer(self):
        return "Let's think step by step.\n" + self.worked()

    def direct_answer(self):
        return f"#### {self.answer}"


# Events of a word problem. Pre-training sees short problems built from EASY events only (the latent
# skill a real corpus gives); CoT-SFT and the reasoning set use longer chains that also scale and split.
EASY = ("gain", "lose", "boxes")
ALL_EVENTS = ("gain", "lose", "boxes", "times", "share")


def word_problem(rng, n_events, kinds=ALL_EVENTS, need=()):
    """A word problem of n_events events drawn from kinds (all exact, >= 0); `need`: kinds of which at
    least one must occur (redrawn until it does)."""
    while True:
        p = _word_problem(rng, n_events, kinds)
        if not need or any(k in need for k in p[1]):
            return p[0]


def _word_problem(rng, n_events, kinds):
    name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
    x = rng.randint(5, 60)
    text = [f"{name} has {x} {obj}."]
    steps, used = [], []
    for _ in range(n_events):
        kind = rng.choice(kinds)
        if kind == "lose" and x <= 3:
            kind = "gain"
        if kind == "times" and x > 150:
            kind = "lose"
        if kind == "share" and not [d for d in (2, 3, 4, 5) if x % d == 0 and x >= d * 2]:
            kind = "gain"
        used.append(kind)
        if kind == "gain":
            b = rng.randint(2, 50)
            text.append(rng.choice([f"Then {name} finds {b} more {obj}.", f"A friend gives {name} {b} {obj}.",
                                    f"{name} buys {b} more {obj}."]))
            steps.append((x, "+", b, x + b)); x += b
        elif kind == "lose":
            b = rng.randint(1, x - 1)
            text.append(rng.choice([f"{name} gives away {b} {obj}.", f"Then {name} loses {b} {obj}.",
                                    f"{name} uses {b} of the {obj}."]))
            steps.append((x, "-", b, x - b)); x -= b
        elif kind == "boxes":
            n, per = rng.randint(2, 9), rng.randint(2, 12)
            text.append(f"{name} gets {n} boxes with {per} {obj} in each box.")
            steps.append((n, "*", per, n * per)); steps.append((x, "+", n * per, x + n * per)); x += n * per
        elif kind == "times":
            m = rng.choice([2, 3])
            text.append(f"Then the number of {obj} {name} has becomes {'twice' if m == 2 else 'three times'} as large.")
            steps.append((x, "*", m, x * m)); x *= m
        else:
            d = rng.choice([d for d in (2, 3, 4, 5) if x % d == 0 and x >= d * 2])
            text.append(f"{name} splits the {obj} into {d} equal piles and keeps one pile.")
            steps.append((x, "/", d, x // d)); x //= d
    text.append(f"How many {obj} does {name} have now?")
    return Problem(" ".join(text), steps, x), used


def easy_problem(rng):
    """Pre-training's worked examples: 1-2 events, add / take away / boxes."""
    return word_problem(rng, rng.randint(1, 2), EASY)


def mid_problem(rng):
    """v3 mid-training's worked examples (the latent skill): 2-4 events of every kind, so the base has
    seen scaling and splitting worked out, on chains shorter than the SFT set's."""
    return word_problem(rng, rng.randint(2, 4), ALL_EVENTS)


def math_problem(rng):
    """CoT-SFT and the reasoning set: 4-6 events, at least one that scales or splits."""
    return word_problem(rng, rng.randint(4, 6), ALL_EVENTS, need=("times", "share"))


def math_eval_set(n, seed=12345):
    """Held-out problems: a seed the SFT data never uses (sft.py refuses seeds >= 1000).
    seed 12345: the reported reasoning set (data/reasoning/); seed 777: the selection set."""
    rng = random.Random(seed)
    return [math_problem(rng) for _ in range(n)]


def qa_text(rng, problem, chat):
    """One question-answer document: ChatML turns or plain "Question: / Answer:" text; the answer is
    direct ("#### N") or worked, half each."""
    answer = problem.direct_answer() if rng.random() < 0.5 else problem.worked()
    if chat:
        return f"<|im_start|>user\n{problem.question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
    return f"Question: {problem.question}\nAnswer: {answer}\n"


def latent_skill_qa(rng):
    """v3 mid-training documents: worked solutions only as plain "Question: / Answer:" text (as a corpus
    holds worked mathematics), while ChatML turns are answered directly: the base holds the skill but does
    not use it in the chat format, and CoT-SFT teaches the format that unlocks it."""
    if rng.random() < 0.5:
        p = mid_problem(rng)
        return f"Question: {p.question}\nAnswer: {p.worked()}\n"
    p = mid_problem(rng) if rng.random() < 0.5 else easy_problem(rng)
    return f"<|im_start|>user\n{p.question}<|im_end|>\n<|im_start|>assistant\n{p.direct_answer()}<|im_end|>\n"


def plain_prompt(question):
    return f"Question: {question}\nAnswer:"


def parse_answer(text):
    """The final answer: the first "#### N" (a plain-text prompt may run on into a next question), else the
    last integer in the text."""
    m = re.findall(r"(?:answer is|####) ?(-?\d+)", text)
    if m:
        return int(m[0])
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


def v2_qa(rng):
    """v2's question-answer document: an easy problem, ChatML (70%) or plain text, direct or worked."""
    return qa_text(rng, easy_problem(rng), chat=rng.random() < 0.7)


def packed_text_sample(rng, tok, prose, length, ids_of, arithmetic_share=0.15, qa_share=0.3, qa_doc=v2_qa):
    """Language-model text packed to `length` tokens: prose paragraphs, arithmetic facts, and short
    question-answer documents (qa_doc: v2_qa or latent_skill_qa)."""
    ids = []
    while len(ids) < length:
        r = rng.random()
        if r < qa_share:
            chunk = ids_of("".join(qa_doc(rng) for _ in range(rng.randint(1, 4))))
        elif r < qa_share + arithmetic_share:
            chunk = ids_of("\n".join(arithmetic_line(rng) for _ in range(rng.randint(4, 16))) + "\n")
        else:
            sents, _ = prose.take(rng, rng.randint(64, 512))
            chunk = ids_of(" ".join(sents) + "\n")
        ids += chunk + [0]
    ids = ids[:length]
    return Sample(ids, [1.0] * len(ids))
