"""Passages as both readers of a local index hold them: Chroma's rows decoded into
``Passage`` objects, the bounded cache of decoded passages, and reading order.

Shared by ``retrieval.chroma_store`` and ``retrieval.replica`` (which stores Chroma's rows);
imports neither chromadb nor anything of ours outside ``retrieval``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from retrieval.models import Passage, StoredPassage

_PASSAGE_FIELDS = ("title", "source", "published", "url", "path", "place", "author", "key")
# Decoded passages kept between questions (about 10 KB each).
PASSAGE_CACHE_SIZE = 20_000


def passage_from_row(pid: str, text: str, meta: dict[str, Any]) -> Passage:
    """Rebuild a Passage from a Chroma row."""
    sents = tuple(tuple(x) for x in json.loads(meta.get("sents") or "[]"))
    return Passage(
        id=pid,
        article_id=meta["article_id"],
        ordinal=int(meta.get("ordinal", 0)),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", len(text))),
        text=text,
        sentences=sents,
        **{f: meta.get(f) for f in _PASSAGE_FIELDS},
    )


def in_reading_order(stored: list[StoredPassage], article_ids: list[str]) -> list[StoredPassage]:
    """``stored`` sorted by the order of ``article_ids``, then by place in the article."""
    order = {aid: n for n, aid in enumerate(article_ids)}
    stored.sort(key=lambda sp: (order.get(sp.passage.article_id, 0), sp.passage.ordinal))
    return stored


class PassageCache:
    """Decoded passages by id, kept between questions (decoding a passage's metadata and
    sentence vectors costs more than the search itself). Emptied when the index's
    generation changes, so a passage another process deleted or replaced is not served;
    bounded, oldest entries dropped first."""

    def __init__(self, size: int = PASSAGE_CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[str, StoredPassage] = OrderedDict()
        self._generation: str | None = None

    def observe(self, generation: str) -> None:
        """Note the index's generation; a new one empties the cache."""
        if generation != self._generation:
            self.clear()
            self._generation = generation

    def clear(self) -> None:
        """Forget every passage (the index was written to)."""
        self._items = OrderedDict()

    def get(self, pid: str) -> StoredPassage | None:
        """The cached passage ``pid``, if any."""
        return self._items.get(pid)

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredPassage]:
        """The cached passages among ``ids``."""
        items = self._items
        return {pid: items[pid] for pid in ids if pid in items}

    def put(self, pid: str, stored: StoredPassage) -> None:
        """Keep ``stored`` (without its per-query similarity)."""
        items = self._items
        items[pid] = replace(stored, similarity=None)
        while len(items) > self.size:
            items.popitem(last=False)
