"""Plain data types shared by ingestion, the index and search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article as read from a file, before it is indexed.

    ``key`` names where it came from (a path, ``path#n`` for a record in a
    JSONL file or a feed entry), so a changed file can replace what it held.
    """

    text: str
    key: str
    title: str | None = None
    source: str | None = None
    published: str | None = None
    place: str | None = None
    url: str | None = None
    author: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Skipped:
    """An input that was not indexed, with the reason a user can act on."""

    path: str
    reason: str


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of an article, the unit that is indexed and cited.

    ``start`` and ``end`` are character offsets into the article's indexed text,
    so ``article_text[start:end] == text``.
    """

    id: str
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str | None = None
    source: str | None = None
    published: str | None = None
    url: str | None = None
    path: str | None = None
    place: str | None = None
    author: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()
    key: str | None = None

    def sentence_texts(self) -> list[str]:
        """The passage's sentences (offsets relative to the passage)."""
        return [self.text[a:b] for a, b in self.sentences] or [self.text]


@dataclass
class Hit:
    """A passage returned by search, with the scores that ranked it.

    ``dense`` is the cosine similarity of the passage, ``sentence_sims`` that of each
    of its sentences, ``lexical`` its BM25 score and ``lexical_norm`` that score
    divided by the best BM25 score for the query.
    """

    passage: Passage
    score: float
    dense: float | None = None
    lexical: float = 0.0
    lexical_norm: float = 0.0
    sentence_sims: list[float] = field(default_factory=list)
    sentence_vectors: Any = None

    @property
    def best_sentence_sim(self) -> float:
        """The highest cosine similarity among the passage's sentences."""
        return max(self.sentence_sims) if self.sentence_sims else (self.dense or 0.0)


@dataclass
class StoredPassage:
    """A passage with what the index keeps beside it: the vectors of its sentences, and
    (when asked) its own vector or its similarity to a query."""

    passage: Passage
    sentence_vectors: Any
    similarity: float | None = None
    embedding: Any = None


@dataclass(frozen=True)
class ArticleRecord:
    """The index's record of one article.

    ``status`` is ``pending`` while the article is being written and ``complete`` once
    all its passages are; ``content_hash`` is the hash of its indexed text, which is
    ``text`` (read only when asked for).
    """

    id: str
    key: str | None = None
    path: str | None = None
    title: str | None = None
    source: str | None = None
    published: str | None = None
    place: str | None = None
    url: str | None = None
    author: str | None = None
    content_hash: str | None = None
    passages: int = 0
    status: str | None = None
    ingested_at: float | None = None
    text: str | None = None

    @property
    def complete(self) -> bool:
        """Whether the article was written in full."""
        return self.status == "complete"


@dataclass(frozen=True)
class ArticleInfo:
    """What the index knows about one article (for listings and removal)."""

    id: str
    title: str | None
    source: str | None
    published: str | None
    url: str | None
    path: str | None
    passages: int


def file_article(path: str, text: str, fields: Mapping[str, str | None]) -> Article | Skipped:
    """The one article a file holds, keyed by ``path``; a Skipped when it has no text."""
    if not text.strip():
        return Skipped(path, "no article text found")
    return Article(text=text.strip(), key=path, path=path, **fields)
