"""How strongly the best hit of a search supports an answer, as corpus-independent numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.lexical import BM25Index, tokenize
from retrieval.models import Hit
from retrieval.query import Query


@dataclass(frozen=True)
class Evidence:
    """Corpus-independent evidence for the best passage, each in [0, 1].

    ``semantic``: cosine similarity of the question to the passage's best sentence
    (absolute, so comparable across corpora). ``coverage``: the share of the
    question's IDF mass whose terms the passage contains. ``unknown``: how many of the
    question's plain words no indexed passage contains; ``unknown_attribute``: whether a
    word of the attribute asked about ("salary", "manufacturer") is one of them.
    """

    semantic: float
    coverage: float
    unknown: int = 0
    unknown_attribute: bool = False

    def strength(self, semantic_weight: float = 0.5) -> float:
        """One number combining both signals."""
        return semantic_weight * self.semantic + (1 - semantic_weight) * self.coverage


def measure_evidence(
    query: Query, hits: Sequence[Hit], lexical: BM25Index, attribute: str | None = None
) -> Evidence | None:
    """The evidence of ``hits`` (best first) for ``query``; None when nothing matched.

    ``attribute`` is what the question asks about a thing ("annual salary")."""
    if not hits:
        return None
    terms = set(query.terms)
    idf = lexical.idf(query.terms)
    mass = sum(idf.get(t, 0.0) for t in terms)
    best = hits[0]
    covered = set(tokenize([f"{best.passage.title or ''} {best.passage.text}"])[0])
    coverage = sum(idf[t] for t in terms & covered) / mass if mass else 0.0
    return Evidence(
        semantic=max(best.best_sentence_sim, 0.0),
        coverage=coverage,
        unknown=len(lexical.unknown(sorted(set(query.plain_terms)))),
        unknown_attribute=bool(
            attribute and lexical.unknown(sorted(set(tokenize([attribute])[0])))
        ),
    )
