"""The learned answer gate: how likely the answer about to be shown is right.

Once the extractive step has chosen its quotes, a logistic model over a few measurements of
the question, the retrieval evidence and the quotes (``GATE_FEATURES``) gives the
probability that the answer is right rather than that the articles do not hold one. The
service abstains below ``answer.gate_threshold``. The weights are learned
(``training/answer_gate``) from the training stories' questions, answerable and not, asked
through this very pipeline; they ship as package data (``bot/models/answer_gate.json``, with
a SHA-256 of its weights). Construction is cheap; the weights load on first use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np

from bot.answer_scorer import days_between
from bot.extractive import Quote, age_not_given, expected_bonus, organisation_not_given
from bot.packaged_model import LogisticWeights
from retrieval.evidence import Evidence
from retrieval.models import Hit

MODEL_FILE = Path(__file__).parent / "models" / "answer_gate.json"

# The answer shapes told apart (a lookup is all zeros): each shape quotes differently, so
# the same evidence means more for one than for another.
GATE_KINDS = ("latest", "why", "who_said", "timeline", "summary")

# Each measurement, with why it can tell a right answer from an answer to a question the
# articles do not cover.
GATE_FEATURES: tuple[tuple[str, str], ...] = (
    ("evidence", "retrieval's evidence strength: the best passage's match to the question"),
    ("unknown", "question words that no indexed passage contains (at most 3) / 3"),
    ("unknown_attribute", "the attribute asked about (a salary, a rating) is in no passage"),
    ("asks_kind", "the question asks for a kind of thing: a year, an amount, a name"),
    ("kind_quoted", "a quoted sentence holds that kind (1 when no kind is asked)"),
    ("age_missing", "an age is asked and no sentence naming the person gives one"),
    ("organisation_missing", "a company is asked and no quote names one not in the question"),
    ("attribute_quoted", "share of the attribute's words in the quotes (1 when none asked)"),
    ("coverage", "share of the question's IDF mass in the quoted sentences"),
    ("plain_quoted", "share of the question's lower-case words (what is asked) in the quotes"),
    ("plain_read", "share of those words in any sentence read for the question"),
    ("missing_idf", "the rarest question word in no quote: its IDF / the rarest word's"),
    ("semantic", "the best quoted sentence's cosine to the question"),
    ("sentence_prob", "the learned answer scorer's best sentence probability"),
    ("quotes", "how many sentences are quoted (at most 4) / 4"),
    ("age", "log(1 + days from the newest quoted report to now) / 8"),
    *((f"kind_{k}", f"the answer's shape is {k.replace('_', ' ')}") for k in GATE_KINDS),
)
GATE_FEATURE_NAMES = tuple(name for name, _ in GATE_FEATURES)


def gate_features(
    question: str,
    kind: str,
    evidence: Evidence | None,
    attribute: str | None,
    quotes: Sequence[Quote],
    sentences: Sequence[str],
    hits: Sequence[Hit],
    terms: Sequence[str],
    plain_terms: Sequence[str],
    idf: dict[str, float],
    tokenize: Callable[[list[str]], list[list[str]]],
    sentence_prob: float,
    now: date | None,
) -> np.ndarray:
    """The ``GATE_FEATURES`` of an answer quoting ``quotes`` (of ``hits``) for ``question``;
    ``sentences`` are all the candidate sentences read for it, ``terms`` the question's
    search terms and ``plain_terms`` those of its lower-case words."""
    texts = [q.text for q in quotes]
    quoted = set().union(*tokenize(texts)) if texts else set()
    read = set().union(*tokenize(list(sentences))) if sentences else set()
    plain = set(plain_terms)
    qterms = set(terms)
    mass = sum(idf.get(t, 0.0) for t in qterms) or 1.0
    missing = [idf.get(t, 0.0) for t in qterms - quoted]
    rarest = max((idf.get(t, 0.0) for t in qterms), default=0.0) or 1.0
    kinds = [expected_bonus(question, t) for t in texts]
    asked = expected_bonus(question, "") is not None
    wanted = set(tokenize([attribute])[0]) if attribute else set()
    sims = [
        hits[q.hit].sentence_sims[q.sentence]
        for q in quotes
        if q.hit < len(hits) and q.sentence < len(hits[q.hit].sentence_sims)
    ]
    days = [days_between(hits[q.hit].passage.published, now) for q in quotes if q.hit < len(hits)]
    days = [d for d in days if d is not None]
    return np.asarray(
        [
            evidence.strength() if evidence else 0.0,
            min(evidence.unknown, 3) / 3 if evidence else 0.0,
            1.0 if evidence and evidence.unknown_attribute else 0.0,
            1.0 if asked else 0.0,
            1.0 if not asked or any(k == 1.0 for k in kinds) else 0.0,
            1.0 if age_not_given(question, sentences) else 0.0,
            1.0 if organisation_not_given(question, [q.text for q in quotes if not q.cut]) else 0.0,
            len(wanted & quoted) / len(wanted) if wanted else 1.0,
            sum(idf.get(t, 0.0) for t in qterms & quoted) / mass,
            len(plain & quoted) / len(plain) if plain else 1.0,
            len(plain & read) / len(plain) if plain else 1.0,
            max(missing, default=0.0) / rarest,
            max(sims, default=0.0),
            sentence_prob,
            min(len(quotes), 4) / 4,
            min(math.log1p(min(days)) / 8.0, 1.0) if days else 0.5,
            *(1.0 if kind == k else 0.0 for k in GATE_KINDS),
        ],
        dtype=np.float64,
    )


class AnswerGate(LogisticWeights):
    """The probability that an answer is right, from the packaged logistic weights.

    ``recorder``, when a list, receives ``(question, features)`` for every answer gated
    (training reads the pipeline's answers this way).
    """

    def __init__(self, path: str | Path = MODEL_FILE, *, recorder: list | None = None):
        super().__init__(path, GATE_FEATURE_NAMES, "answer gate")
        self.recorder = recorder

    def probability(self, question: str, features: np.ndarray) -> float:
        """The probability that the answer measured by ``features`` is right."""
        if self.recorder is not None:
            self.recorder.append((question, features))
        return float(self.predict(features[None, :])[0])
