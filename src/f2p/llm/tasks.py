"""A verifiable reasoning task at laptop size (chapter 11): zero-padded addition with a
column-by-column chain of thought and a final answer line.

For ``digits = 3`` a problem and one of its traces read

    prompt   047+385:
    thought  7+5+0=12;4+8+1=13;0+3+1=04;        (one step per column, right to left: a+b+carry)
    check    c047+385=0432;                      (optional, redundant: a length method can drop it)
    answer   A0432.                              ("A", digits + 1 answer digits, end token ".")

as in Kimi k1.5's setting: a problem x, a chain of thought z, an answer y, and a reward that only
checks y against the true answer y* (:func:`reward`), never the thought.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

VOCAB = "_.0123456789+=;:Ac"
"""the characters; "_" pads, "." ends a response"""
PAD, EOS = 0, 1
STOI = {ch: i for i, ch in enumerate(VOCAB)}
_ANSWER = re.compile(r"A(\d+)\.$")


@dataclass(frozen=True)
class Problem:
    """a + b with ``digits``-digit operands (the difficulty knob)."""

    a: int
    b: int
    digits: int

    @property
    def prompt(self) -> str:
        return f"{self.a:0{self.digits}d}+{self.b:0{self.digits}d}:"

    @property
    def answer(self) -> int:
        return self.a + self.b


def sample_problems(n: int, digits: int, gen: torch.Generator) -> list[Problem]:
    """``n`` random problems with ``digits``-digit operands (leading zeros allowed)."""
    if digits < 1 or n < 0:
        raise ValueError(f"need digits >= 1 and n >= 0, got digits={digits}, n={n}")
    ab = torch.randint(0, 10**digits, (n, 2), generator=gen).tolist()
    return [Problem(a, b, digits) for a, b in ab]


def trace(problem: Problem, check: bool = False) -> str:
    """The step-by-step response to ``problem``: one "a+b+carry=ss;" step per column, the
    optional redundant check step, and the answer line."""
    a, b = f"{problem.a:0{problem.digits}d}", f"{problem.b:0{problem.digits}d}"
    steps, carry = [], 0
    for da, db in zip(reversed(a), reversed(b), strict=True):
        s = int(da) + int(db) + carry
        steps.append(f"{da}+{db}+{carry}={s:02d};")
        carry = s // 10
    answer = f"{problem.answer:0{problem.digits + 1}d}"
    checked = f"c{a}+{b}={answer};" if check else ""
    return "".join(steps) + checked + f"A{answer}."


def parse_answer(response: str) -> int | None:
    """The integer on the final answer line, or None if the response is malformed (no end token,
    no "A" line, non-digits). Never raises."""
    if not isinstance(response, str):
        return None
    match = _ANSWER.search(response)
    return int(match.group(1)) if match else None


def reward(response: str, problem: Problem) -> float:
    """1 if the parsed answer equals the true one, else 0 (malformed output included)."""
    return float(parse_answer(response) == problem.answer)


def encode(texts: list[str], length: int | None = None) -> torch.Tensor:
    """Character ids, right-padded with PAD to ``length`` (default: the longest text)."""
    unknown = {ch for t in texts for ch in t} - STOI.keys()
    if unknown:
        raise ValueError(f"characters outside the vocabulary {VOCAB!r}: {sorted(unknown)}")
    length = length or max(map(len, texts))
    if any(len(t) > length for t in texts):
        raise ValueError(f"a text is longer than length={length}")
    out = torch.full((len(texts), length), PAD, dtype=torch.long)
    for i, t in enumerate(texts):
        out[i, : len(t)] = torch.tensor([STOI[ch] for ch in t], dtype=torch.long)
    return out


def decode(ids: torch.Tensor) -> list[str]:
    """Texts from (B, T) ids, each cut after its first end token (padding dropped)."""
    out = []
    for row in ids.tolist():
        text = "".join(VOCAB[i] for i in row if i != PAD)
        end = text.find(".")
        out.append(text if end < 0 else text[: end + 1])
    return out
