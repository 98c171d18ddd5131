"""The learned answer scorer: how likely a candidate sentence is to state the answer.

A logistic model over a few measurements of each candidate sentence (``FEATURES``) gives the
probability that it answers the question. The extractive step quotes the likeliest
sentences, and abstains when the best probability is below ``answer.scorer_threshold``.
The weights are learned (``training/answer_scorer``) from questions asked, through this
very pipeline, of training stories and RealTime QA quizzes outside every eval set; they
ship as package data (``bot/models/answer_scorer.json``, with a SHA-256 of its weights).

Construction is cheap; the weights load on first use. Scoring is a matrix product, so the
scorer reads every candidate sentence at no measurable cost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from bot.extractive import expected_bonus
from bot.packaged_model import LogisticWeights

MODEL_FILE = Path(__file__).parent / "models" / "answer_scorer.json"

Row = tuple[float, int, int, str]  # (score, hit index, sentence index, sentence)

_WORD = re.compile(r"\w+")
_QUOTE = re.compile(r"[\"“”]")
_DIGIT = re.compile(r"\d")

# Each measurement, with why it can tell an answering sentence from another.
FEATURES: tuple[tuple[str, str], ...] = (
    ("hand", "the hand-weighted score (similarity, overlap, answer kind, shape bonuses) / best"),
    ("rank", "1 / (1 + its place among the candidates by that score)"),
    ("semantic", "the question's cosine to the sentence's own vector"),
    ("semantic_before", "the cosine of the sentence before it: answers follow their topic"),
    ("lexical", "share of the question's IDF mass among the sentence's words"),
    ("passage", "its passage's search score / the best passage's"),
    ("expected", "holds the kind of thing asked for (year, number, name): 1, 0, or 0.5"),
    ("novel", "share of its words not in the question: an answer adds something"),
    ("length", "log of its word count: fragments and captions are short"),
    ("lead", "the first sentence of its article"),
    ("age", "log(1 + days from its report to now) / 8: news questions want fresh reports"),
    ("quote", "holds a quotation mark"),
    ("number", "holds a digit"),
    ("reader", "the answer reader's probability that it answers (a cross-encoder read of both)"),
)
FEATURE_NAMES = tuple(name for name, _ in FEATURES)


@dataclass(frozen=True)
class Candidates:
    """Candidate sentences of one question, with their measurements."""

    rows: list[Row]
    features: np.ndarray  # (len(rows), len(FEATURES))
    origins: tuple[str, ...] = ()  # each row's article: its path, else its URL or key


def days_between(published: str | None, now: date | None) -> float | None:
    """Days from a report's ``published`` date to ``now`` (0 for later); None if unknown."""
    if not published or now is None:
        return None
    try:
        return max(0.0, float((now - date.fromisoformat(published[:10])).days))
    except ValueError:
        return None


def measure(
    question: str,
    rows: Sequence[Row],
    hits: Sequence,
    terms: Sequence[str],
    idf: dict[str, float],
    tokenize: Callable[[list[str]], list[list[str]]],
    now: date | None,
    read: Callable[[str, list[str]], np.ndarray] | None = None,
    read_top: int | None = None,
) -> Candidates:
    """The ``FEATURES`` of each of ``rows`` (sentences of ``hits``), in ``rows``' order.

    ``read`` is the answer reader (``bot.answer_reader.AnswerReader.probabilities``): it
    reads the first ``read_top`` rows (all when None), the others measure 0; without a
    reader the measurement is 0.5 throughout."""
    rows = list(rows)
    if not rows:
        return Candidates([], np.zeros((0, len(FEATURES)), dtype=np.float32))
    best = max(r[0] for r in rows) or 1.0
    top = max((h.score for h in hits), default=1.0) or 1.0
    qset = set(terms)
    mass = sum(idf.get(t, 0.0) for t in qset) or 1.0
    qwords = {w.lower() for w in _WORD.findall(question)}
    tokens = tokenize([r[3] for r in rows])
    reader = None
    if read is not None:
        reader = np.zeros(len(rows))
        top = len(rows) if read_top is None else min(read_top, len(rows))
        if top:
            reader[:top] = read(question, [r[3] for r in rows[:top]])
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    for k, ((score, i, j, sentence), toks) in enumerate(zip(rows, tokens, strict=True)):
        hit = hits[i]
        sims = hit.sentence_sims or ()
        words = [w.lower() for w in _WORD.findall(sentence)]
        expected = expected_bonus(question, sentence)
        days = days_between(hit.passage.published, now)
        out[k] = (
            score / best,
            1.0 / (1.0 + k),
            sims[j] if j < len(sims) else (hit.dense or 0.0),
            sims[j - 1] if 0 < j <= len(sims) else 0.0,
            sum(idf.get(t, 0.0) for t in qset & set(toks)) / mass,
            hit.score / top,
            0.5 if expected is None else expected,
            sum(w not in qwords for w in words) / max(len(words), 1),
            math.log(1 + len(words)),
            1.0 if j == 0 and hit.passage.ordinal == 0 else 0.0,
            min(math.log1p(days) / 8.0, 1.0) if days is not None else 0.5,
            1.0 if _QUOTE.search(sentence) else 0.0,
            1.0 if _DIGIT.search(sentence) else 0.0,
            float(reader[k]) if reader is not None else 0.5,
        )
    origins = tuple(
        (p.path or p.url or p.key or "") for p in (hits[i].passage for _, i, _, _ in rows)
    )
    return Candidates(rows, out, origins)


class AnswerScorer(LogisticWeights):
    """Probabilities that candidate sentences answer, from the packaged logistic weights.

    ``recorder``, when a list, receives every ``Candidates`` scored (training reads the
    pipeline's candidates this way).
    """

    def __init__(self, path: str | Path = MODEL_FILE, *, recorder: list | None = None):
        super().__init__(path, FEATURE_NAMES, "answer scorer")
        self.recorder = recorder

    def probabilities(self, candidates: Candidates) -> np.ndarray:
        """The probability that each candidate states the answer."""
        if self.recorder is not None:
            self.recorder.append(candidates)
        return self.predict(candidates.features)


def rerank_rows(scorer: AnswerScorer, candidates: Candidates) -> tuple[list[Row], float]:
    """``candidates``' rows re-scored by the answer probability, best first, and the best
    probability (0 when there is no candidate)."""
    probabilities = scorer.probabilities(candidates)
    rescored = [
        (float(p), i, j, s) for p, (_, i, j, s) in zip(probabilities, candidates.rows, strict=True)
    ]
    rescored.sort(key=lambda r: r[0], reverse=True)
    return rescored, (rescored[0][0] if rescored else 0.0)
