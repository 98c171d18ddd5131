"""Hybrid search: dense (Chroma) and BM25 candidates, fused on normalized scores.

Each candidate passage gets ``dense_weight * best sentence cosine +
(1 - dense_weight) * BM25 / best BM25 for the query``. Both parts lie in [0, 1]
for any corpus, so the weight transfers. On the squad-news set this ranks better
than reciprocal rank fusion (see bench/retrieval_recall.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from retrieval.embeddings import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.lexical import BM25Index
from retrieval.models import Hit
from retrieval.store import ChromaStore, StoredPassage, published_ts


@dataclass(frozen=True)
class Filters:
    """Restrict search to some outlets and/or a published-date range (ISO dates).

    ``published_by`` is the day a question is asked: articles published after it are left
    out, while undated ones stay (unlike ``until``, which requires a date).
    """

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    published_by: str | None = None

    def where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause for these filters."""
        clauses: list[dict[str, Any]] = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        for bound, op in ((self.since, "$gte"), (self.until, "$lte")):
            if bound:
                clauses.append({"published_ts": {op: self._ts(bound)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    @staticmethod
    def _ts(bound: str) -> int:
        ts = published_ts(bound)
        if ts is None:
            raise InvalidQueryError(f"not an ISO date: {bound!r} (use YYYY-MM-DD)")
        return ts

    def accepts(self, source: str | None, published: str | None) -> bool:
        """Whether a passage with this outlet and date passes the filters."""
        if self.sources and source not in self.sources:
            return False
        ts = published_ts(published)
        if self.since and (ts is None or ts < self._ts(self.since)):
            return False
        if self.until and (ts is None or ts > self._ts(self.until)):
            return False
        if self.published_by and ts is not None and ts > self._ts(self.published_by):
            return False
        return True

    def up_to(self, day: date) -> Filters:
        """These filters, also excluding articles published after ``day``."""
        return replace(self, published_by=day.isoformat())

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.sources or self.since or self.until or self.published_by)


class HybridSearcher:
    """Fuses dense and lexical evidence. Cheap to build; indexes load on first search."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        lexical: BM25Index,
        *,
        candidates: int = 40,
        dense_weight: float = 0.6,
    ):
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.candidates = candidates
        self.dense_weight = dense_weight
        self._checked: tuple[str, int] | None = None
        self._last_query: tuple[str, np.ndarray] | None = None

    def refresh(self) -> None:
        """Make sure the BM25 side matches Chroma (updates it when stale)."""
        generation = self.store.generation()
        count = self.store.passage_count()
        if self._checked == (generation, count) and self.lexical.size == count:
            return

        self.lexical.ensure(generation, count, self.store.passage_ids, self.store.passage_texts)
        self._checked = (generation, count)

    def query_vector(self, query: str) -> np.ndarray:
        """The embedding of ``query`` (the last one is kept: a question is often searched
        twice, in and out of a time window)."""
        last = self._last_query
        if last is not None and last[0] == query:
            return last[1]
        vector = self.embedder.encode_query(query)
        self._last_query = (query, vector)
        return vector

    def read_articles(self, hits: list[Hit], article_ids: list[str], query: str) -> list[Hit]:
        """``hits`` with every other passage of these articles added, scored against
        ``query``: to answer from the whole of a report, not only the passage that matched."""
        have = {h.passage.id for h in hits}
        best = {}
        for h in hits:
            best[h.passage.article_id] = max(best.get(h.passage.article_id, 0.0), h.score)
        vector = self.query_vector(query)
        out = list(hits)
        for sp in self.store.article_passages(article_ids):
            if sp.passage.id in have:
                continue
            sims = (sp.sentence_vectors @ vector).tolist() if sp.sentence_vectors.size else []
            hit = Hit(
                sp.passage,
                best.get(sp.passage.article_id, 0.0),
                sentence_sims=sims,
                sentence_vectors=sp.sentence_vectors,
            )
            out.append(hit)
        return out

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first."""
        if not query or query.isspace():  # cleaning is the caller's (bot.question)
            raise InvalidQueryError("the query is empty")
        filters = filters or Filters()
        where = filters.where()  # a bad date is an error even when the index is empty
        self.refresh()
        if self.lexical.size == 0:
            return []
        n = max(self.candidates, k)
        if vector is None:
            vector = self.query_vector(query)
        # Chroma cannot keep undated rows beside a date bound, so "published by" is checked here.
        dense = self.store.query(vector, n * (2 if filters.published_by else 1), where)
        candidates: dict[str, StoredPassage] = {
            sp.passage.id: sp
            for sp in dense
            if not filters.published_by or filters.accepts(sp.passage.source, sp.passage.published)
        }
        lexical = self.lexical.search(query, n * (4 if filters.active else 1))
        lex_score = dict(zip(lexical.ids, lexical.scores, strict=True))
        missing = [pid for pid in lexical.ids if pid not in candidates]
        taken = 0
        fetched = self.store.get_passages(missing)
        for pid in missing:  # best BM25 first: Chroma returns rows in its own order
            sp = fetched.get(pid)
            if sp is None:
                continue
            p = sp.passage
            if filters.active and not filters.accepts(p.source, p.published):
                continue
            candidates[pid] = sp
            taken += 1
            if taken >= n:
                break
        if lexical.all_scores is not None:
            # Dense-only candidates still get their BM25 score, from the same scoring pass.
            for pid in candidates.keys() - lex_score.keys():
                pos = self.lexical.position(pid)
                lex_score[pid] = float(lexical.all_scores[pos]) if pos is not None else 0.0
        best_lex = lexical.best or 1.0
        hits = []
        for pid, sp in candidates.items():
            sims = (sp.sentence_vectors @ vector).tolist() if sp.sentence_vectors.size else []
            lexical_score = lex_score.get(pid, 0.0)
            hit = Hit(
                sp.passage,
                0.0,
                dense=sp.similarity,
                lexical=lexical_score,
                lexical_norm=min(lexical_score / best_lex, 1.0) if lexical.best else 0.0,
                sentence_sims=sims,
                sentence_vectors=sp.sentence_vectors,
            )
            hit.score = (
                self.dense_weight * hit.best_sentence_sim
                + (1 - self.dense_weight) * hit.lexical_norm
            )
            hits.append(hit)
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:k]
