"""Hybrid search: dense (the index) and BM25 candidates, fused on normalized scores.

Each candidate passage gets ``dense_weight * best sentence cosine +
(1 - dense_weight) * BM25 / best BM25 for the query``. Both parts lie in [0, 1]
for any corpus, so the weight transfers. On the squad-news set this ranks better
than reciprocal rank fusion (see bench/retrieval_recall.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.embeddings import Embedder
from retrieval.errors import InvalidQueryError
from retrieval.evidence import Evidence, measure_evidence
from retrieval.filters import Filters
from retrieval.index import Index
from retrieval.lexical import BM25Index
from retrieval.models import Hit, StoredPassage
from retrieval.query import Query


class HybridSearcher:
    """Fuses dense and lexical evidence. Cheap to build; indexes load on first search."""

    def __init__(
        self,
        store: Index,
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
        """Make sure the index's local copies and the BM25 side match the index (updates
        them when stale)."""
        self.store.sync()
        generation = self.store.generation()
        count = self.store.passage_count()
        if self._checked == (generation, count) and self.lexical.size == count:
            return

        self.lexical.ensure(generation, count, self.store.passage_ids, self.store.passage_texts)
        self._checked = (generation, count)

    def query_vector(self, query: Query) -> np.ndarray:
        """The embedding of ``query``, computed once (a question is often searched twice,
        in and out of a time window)."""
        if query.vector is None:
            query.vector = self.embedder.encode_query(query.text)
        return query.vector

    def idf(self, query: Query) -> dict[str, float]:
        """The inverse document frequency of each of the query's terms in the index."""
        return self.lexical.idf(query.terms)

    def evidence(
        self, query: Query, hits: Sequence[Hit], attribute: str | None = None
    ) -> Evidence | None:
        """How strongly the best of ``hits`` supports an answer to ``query`` (None when
        nothing matched); ``attribute`` names what the question asks about a thing."""
        return measure_evidence(query, hits, self.lexical, attribute)

    def read_articles(self, hits: list[Hit], article_ids: list[str], query: Query) -> list[Hit]:
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
        query: Query | str,
        k: int = 5,
        filters: Filters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first."""
        if not isinstance(query, Query):
            query = Query(query)
        if not query.text or query.text.isspace():  # cleaning is the caller's (bot.question)
            raise InvalidQueryError("the query is empty")
        filters = filters or Filters()
        filters.day_range()  # a bad date is an error even when the index is empty
        self.refresh()
        if self.lexical.size == 0:
            return []
        n = max(self.candidates, k)
        if vector is None:
            vector = self.query_vector(query)
        candidates: dict[str, StoredPassage] = {
            sp.passage.id: sp for sp in self.store.nearest_passages(vector, n, filters)
        }
        lexical = self.lexical.search_terms(query.terms, n * (4 if filters.active else 1))
        lex_score = dict(zip(lexical.ids, lexical.scores, strict=True))
        missing = [pid for pid in lexical.ids if pid not in candidates]
        taken = 0
        fetched = self.store.get_passages(missing)
        for pid in missing:  # best BM25 first: the index returns rows in its own order
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
