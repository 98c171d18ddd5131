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
    """Restrict search to some outlets and/or a published-date range (ISO dates)."""

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

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
        return True

    def up_to(self, day: date) -> Filters:
        """These filters, also excluding articles published after ``day``."""
        bound = day.isoformat()
        if self.until and self.until[:10] <= bound:
            return self
        return replace(self, until=bound)

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.sources or self.since or self.until)


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

    def refresh(self) -> None:
        """Make sure the BM25 side matches Chroma (updates it when stale)."""
        generation = self.store.generation()
        count = self.store.passage_count()
        if self._checked == (generation, count) and self.lexical.size == count:
            return

        self.lexical.ensure(generation, count, self.store.passage_ids, self.store.passage_texts)
        self._checked = (generation, count)

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first."""
        query = (query or "").strip()
        if not query:
            raise InvalidQueryError("the query is empty")
        filters = filters or Filters()
        where = filters.where()  # a bad date is an error even when the index is empty
        self.refresh()
        if self.lexical.size == 0:
            return []
        n = max(self.candidates, k)
        if vector is None:
            vector = self.embedder.encode_query(query)
        candidates: dict[str, StoredPassage] = {
            sp.passage.id: sp for sp in self.store.query(vector, n, where)
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
