"""The bot's own answer type: what every adapter (CLI, REPL, Discord) receives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

# What produced the text: quotes from the passages, the LLM, or the abstention (decided by
# the evidence rule, by the LLM, or because no passage held a quotable sentence).
Mode = Literal["extractive", "llm", "abstained"]


@dataclass(frozen=True)
class Citation:
    """A numbered source backing part of an answer; ``n`` matches the ``[n]`` marker.

    A source is one article: ``passage_id`` and ``quote`` are its first quoted passage and
    sentence, ``passages`` every passage of it the answer quotes (the first included)."""

    n: int
    passage_id: str
    article_id: str
    title: str | None
    source: str | None
    published: str | None
    url: str | None
    quote: str
    path: str | None = None
    key: str | None = None
    passages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retrieved:
    """A passage the answer step considered, best first."""

    passage_id: str
    article_id: str
    score: float
    text: str


@dataclass(frozen=True)
class Turn:
    """One question and the answer given to it, kept as conversation history."""

    question: str
    answer: str


@dataclass
class Answer:
    """A grounded answer: text with ``[n]`` markers and the citations they point to."""

    question: str
    text: str
    abstained: bool
    mode: Mode
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Retrieved] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback_reason: str | None = None
    search_query: str | None = None
    # The number abstention compared with its threshold: the answer scorer's probability that
    # the best candidate sentence answers (``answer.scorer_threshold``), else the evidence
    # strength of the rule (``answer.abstain_threshold``); None when neither was measured.
    confidence: float | None = None

    def to_json(self) -> dict:
        """The JSON contract of ``dateline ask --json``."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "fallback_reason": self.fallback_reason,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "citations": [
                {k: v for k, v in asdict(c).items() if k != "path"} | {"path": c.path}
                for c in self.citations
            ],
            "retrieved": [asdict(r) for r in self.retrieved],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }

    def as_turn(self) -> Turn:
        """This answer as a conversation turn."""
        return Turn(question=self.question, answer=self.text)
