"""Whether a cited passage supports the sentence that cites it.

Two measures, both cheap: the share of the sentence's content words (stemmed, stop words
removed, the BM25 tokenizer's) found in the passage or its title, and the best cosine
similarity between the sentence and one of the passage's sentences (the embedding model
the index already uses). A citation holds when both reach their thresholds.

The thresholds were chosen on data by ``bench/support_thresholds.py`` (claims built from the
squad-news questions: the question's words plus the gold answer, against the passage that
holds the answer versus the best-ranked passages that do not), as the pair with the largest
recall minus false-pass rate: 0.6 and 0.40 passed 91 % of the supported pairs and 7 % of the
unsupported ones. The table is in BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.models import Passage

__all__ = ["MIN_OVERLAP", "MIN_SIMILARITY", "Support", "SupportCheck"]

# Chosen by bench/support_thresholds.py; see BENCHMARKS.md ("Citation support check").
MIN_OVERLAP = 0.6
MIN_SIMILARITY = 0.4


@dataclass(frozen=True)
class Support:
    """The two measures for one (sentence, passage) pair and the verdict."""

    overlap: float
    similarity: float
    ok: bool


class SupportCheck:
    """Callable ``(sentence, passage) -> bool``; ``score`` gives the measures as well.

    ``encode`` maps texts to normalized embeddings (``Embedder.encode``); ``tokenize`` maps
    texts to content-word lists (``retrieval.lexical.tokenize``).
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        tokenize: Callable[[list[str]], list[list[str]]],
        *,
        min_overlap: float = MIN_OVERLAP,
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        """Remember the measures and thresholds; nothing is loaded here."""
        self.encode = encode
        self.tokenize = tokenize
        self.min_overlap = min_overlap
        self.min_similarity = min_similarity

    def overlap(self, sentence: str, passage_text: str, title: str | None = None) -> float:
        """Share of the sentence's content words that the passage (or its title) contains."""
        words, found = self.tokenize([sentence, f"{title or ''} {passage_text}"])
        words = set(words)
        if not words:
            return 0.0
        return len(words & set(found)) / len(words)

    def similarity(self, sentence: str, passage_sentences: Sequence[str]) -> float:
        """Best cosine between the sentence and one of the passage's sentences."""
        if not passage_sentences:
            return 0.0
        vectors = self.encode([sentence, *passage_sentences])
        return float(np.max(vectors[1:] @ vectors[0]))

    def score(self, sentence: str, passage: Passage) -> Support:
        """Both measures for ``sentence`` against ``passage``, and whether both pass."""
        overlap = self.overlap(sentence, passage.text, passage.title)
        if overlap < self.min_overlap:
            return Support(overlap, 0.0, False)  # no need to run the model
        similarity = self.similarity(sentence, passage.sentence_texts())
        return Support(overlap, similarity, similarity >= self.min_similarity)

    def __call__(self, sentence: str, passage: Passage) -> bool:
        """Whether ``passage`` supports ``sentence``."""
        return self.score(sentence, passage).ok
