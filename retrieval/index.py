"""What ingest, search and the service need of a vector store, in Dateline's own types.

``retrieval.chroma_store.ChromaStore`` is the one implementation. Another store is one
more module with a class that has these methods (and a setting to choose it): query
syntax and row formats stay inside that module.

The index holds two kinds of things: passages (the unit that is embedded, searched and
cited) and one record per article (its text, the mean of its passage vectors, and a
status that is ``pending`` while it is being written). A generation token changes
whenever the passages change, so derived caches (BM25, the replica of a local index)
know when to rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from retrieval.filters import Filters
from retrieval.models import ArticleInfo, ArticleRecord, Passage, StoredPassage


class Index(Protocol):
    """Passages with their vectors, and article records.

    For the article lookups, ``keys`` and ``paths`` match records with any of those keys
    or paths (an empty sequence matches nothing; None does not restrict).
    """

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        ...

    # -- state ------------------------------------------------------------------------------

    def generation(self) -> str:
        """A token that changes whenever the passages change."""
        ...

    def bump_generation(self) -> str:
        """Mark the passages as changed; returns the new generation."""
        ...

    def set_generation(self, generation: str) -> str:
        """Set the generation token (a no-op ingest puts the old one back)."""
        ...

    def passage_count(self) -> int:
        """How many passages are indexed."""
        ...

    def sync(self) -> None:
        """Bring derived local copies of the index up to date (a search calls this first;
        a store without any makes it a no-op)."""
        ...

    def article_count(self) -> int:
        """How many article records exist."""
        ...

    def reset(self) -> None:
        """Delete the whole index."""
        ...

    # -- passages ---------------------------------------------------------------------------

    def upsert_passages(
        self,
        passages: list[Passage],
        embeddings: np.ndarray,
        sentence_vectors: list[np.ndarray],
        content_hashes: list[str],
    ) -> None:
        """Write passages with their vectors (idempotent: ids are stable);
        ``content_hashes[i]`` is the hash of the article text ``passages[i]`` was cut from."""
        ...

    def delete_passages(self, article_id: str, keep_hash: str | None = None) -> None:
        """Delete an article's passages, except those written for ``keep_hash``."""
        ...

    def nearest_passages(
        self, vector: np.ndarray, n: int, filters: Filters | None = None
    ) -> list[StoredPassage]:
        """Up to ``n`` passages that pass ``filters``, nearest to ``vector`` first, each
        with its cosine similarity."""
        ...

    def get_passages(self, ids: list[str], embeddings: bool = False) -> dict[str, StoredPassage]:
        """The passages that exist among ``ids``, by id (with their vectors when asked)."""
        ...

    def article_passages(self, article_ids: list[str]) -> list[StoredPassage]:
        """Every passage of these articles, in article then reading order."""
        ...

    def lead_passages(self, article_ids: list[str]) -> dict[str, StoredPassage]:
        """The first passage of each of these articles, by article id."""
        ...

    def passage_ids(self) -> list[str]:
        """Every passage id."""
        ...

    def passage_texts(self, ids: list[str]) -> list[tuple[str, str, str | None]]:
        """(id, text, title) of these passages, without vectors (for the BM25 side)."""
        ...

    # -- articles ---------------------------------------------------------------------------

    def put_articles(self, records: Sequence[ArticleRecord], vectors: np.ndarray) -> None:
        """Write or replace article records (with their text) and their mean vectors."""
        ...

    def update_articles(
        self, article_ids: list[str], *, key: str | None = None, status: str | None = None
    ) -> None:
        """Set the given fields on these article records (unknown ids are skipped)."""
        ...

    def get_articles(
        self, article_ids: list[str], with_text: bool = False
    ) -> dict[str, ArticleRecord]:
        """The records that exist among ``article_ids``, by id."""
        ...

    def find_articles(
        self,
        *,
        keys: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
        status: str | None = None,
        with_text: bool = False,
    ) -> list[ArticleRecord]:
        """The records under these keys or paths, and with this status when given."""
        ...

    def nearest_articles(
        self, vectors: np.ndarray, n: int = 3
    ) -> list[list[tuple[ArticleRecord, float]]]:
        """For each row of ``vectors``, the ``n`` records (with text) whose mean vector is
        nearest, with cosine similarity."""
        ...

    def delete_articles(self, article_ids: list[str]) -> None:
        """Delete articles and all their passages, recoverably: a record that outlives
        its passages is left ``pending``, for the next ingest to finish."""
        ...

    def list_articles(
        self,
        ids: list[str] | None = None,
        *,
        keys: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
    ) -> list[ArticleInfo]:
        """Every complete article (or those with these ids, under these keys or paths),
        newest first."""
        ...
