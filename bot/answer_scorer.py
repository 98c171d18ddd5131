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

import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from bot.errors import ConfigError
from bot.extractive import expected_bonus

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
)
FEATURE_NAMES = tuple(name for name, _ in FEATURES)


@dataclass(frozen=True)
class Candidates:
    """Candidate sentences of one question, with their measurements."""

    rows: list[Row]
    features: np.ndarray  # (len(rows), len(FEATURES))
    origins: tuple[str, ...] = ()  # each row's article: its path, else its URL or key


def _days(published: str | None, now: date | None) -> float | None:
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
) -> Candidates:
    """The ``FEATURES`` of each of ``rows`` (sentences of ``hits``), in ``rows``' order."""
    rows = list(rows)
    if not rows:
        return Candidates([], np.zeros((0, len(FEATURES)), dtype=np.float32))
    best = max(r[0] for r in rows) or 1.0
    top = max((h.score for h in hits), default=1.0) or 1.0
    qset = set(terms)
    mass = sum(idf.get(t, 0.0) for t in qset) or 1.0
    qwords = {w.lower() for w in _WORD.findall(question)}
    tokens = tokenize([r[3] for r in rows])
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    for k, ((score, i, j, sentence), toks) in enumerate(zip(rows, tokens, strict=True)):
        hit = hits[i]
        sims = hit.sentence_sims or ()
        words = [w.lower() for w in _WORD.findall(sentence)]
        expected = expected_bonus(question, sentence)
        days = _days(hit.passage.published, now)
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
        )
    origins = tuple(
        (p.path or p.url or p.key or "") for p in (hits[i].passage for _, i, _, _ in rows)
    )
    return Candidates(rows, out, origins)


class AnswerScorer:
    """Probabilities that candidate sentences answer, from the packaged logistic weights.

    ``recorder``, when a list, receives every ``Candidates`` scored (training reads the
    pipeline's candidates this way).
    """

    def __init__(self, path: str | Path = MODEL_FILE, *, recorder: list | None = None):
        self.path = Path(path)
        self.recorder = recorder
        self._model: dict | None = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        """Whether the weights file is present."""
        return self.path.is_file()

    def warm_up(self) -> None:
        """Load the weights, checking their checksum and feature names."""
        with self._lock:
            if self._model is not None:
                return
            if not self.path.is_file():
                raise ConfigError(f"the answer scorer is not installed ({self.path} missing)")
            model = json.loads(self.path.read_text(encoding="utf-8"))
            if weights_digest(model) != model.get("sha256"):
                raise ConfigError(f"the answer scorer's weights ({self.path}) fail their checksum")
            if tuple(model["features"]) != FEATURE_NAMES:
                raise ConfigError("the answer scorer was trained on other features; retrain it")
            self._coef = np.asarray(model["coef"], dtype=np.float64)
            self._mean = np.asarray(model["mean"], dtype=np.float64)
            self._scale = np.asarray(model["scale"], dtype=np.float64)
            self._intercept = float(model["intercept"])
            self._model = model

    def probabilities(self, candidates: Candidates) -> np.ndarray:
        """The probability that each candidate states the answer."""
        if self.recorder is not None:
            self.recorder.append(candidates)
        if not candidates.rows:
            return np.zeros(0)
        self.warm_up()
        z = ((candidates.features - self._mean) / self._scale) @ self._coef + self._intercept
        return 1.0 / (1.0 + np.exp(-z))


def weights_digest(model: dict) -> str:
    """SHA-256 of the numbers that make the model (features, coefficients, scaling)."""
    keys = ("features", "coef", "intercept", "mean", "scale")
    payload = json.dumps({k: model[k] for k in keys}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def rerank_rows(scorer: AnswerScorer, candidates: Candidates) -> tuple[list[Row], float]:
    """``candidates``' rows re-scored by the answer probability, best first, and the best
    probability (0 when there is no candidate)."""
    probabilities = scorer.probabilities(candidates)
    rescored = [
        (float(p), i, j, s) for p, (_, i, j, s) in zip(probabilities, candidates.rows, strict=True)
    ]
    rescored.sort(key=lambda r: r[0], reverse=True)
    return rescored, (rescored[0][0] if rescored else 0.0)
