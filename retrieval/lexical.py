"""BM25 over the indexed passages: a derived cache, rebuilt from Chroma when stale.

The cache lives under ``<home>/cache/bm25-<prefix>/`` and records the Chroma
generation and passage count it was built from; any process that finds them
changed rebuilds it, so several processes sharing one Chroma server agree.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN_PATTERN = r"(?u)\b\w+\b"
# Bumped whenever tokenization changes, so cached indexes are rebuilt.
TOKENIZER_VERSION = 2
# Question words carry no topic: left in, they would favour passages that ask questions.
_QUESTION_WORDS = ("who", "whom", "whose", "what", "when", "where", "which", "why", "how")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return sorted(set(STOPWORDS_EN) | set(_QUESTION_WORDS))


@lru_cache(maxsize=1)
def _bm25s():
    import logging

    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its chatter out of our output.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens, the same for passages and queries."""
    return _bm25s().tokenize(
        texts,
        token_pattern=_TOKEN_PATTERN,
        stopwords=_stopwords(),
        stemmer=_stemmer().stemWords,
        return_ids=False,
        show_progress=False,
    )


def lexical_text(text: str, title: str | None) -> str:
    """What BM25 indexes for a passage: its article's title, then the text."""
    return f"{title}\n{text}" if title else text


@dataclass
class LexicalHits:
    """Passage ids and BM25 scores, best first, and the best score for the query."""

    ids: list[str]
    scores: list[float]
    best: float


class BM25Index:
    """A BM25 index of passages, cached on disk and rebuilt on demand."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        self._retriever = None
        self._ids: list[str] = []
        self._meta: dict = {}
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Number of passages in the loaded index."""
        return len(self._ids)

    def is_current(self, generation: str, count: int) -> bool:
        """Whether the loaded (or cached) index matches this state of the store."""
        if self._retriever is not None:
            return self._meta.get("generation") == generation and self._meta.get("count") == count
        meta_path = self.cache_dir / "state.json"
        if not meta_path.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return False
        return (
            meta.get("generation") == generation
            and meta.get("count") == count
            and meta.get("tokenizer") == TOKENIZER_VERSION
        )

    def ensure(self, generation: str, count: int, rows_factory) -> None:
        """Load the cache, or rebuild it from ``rows_factory()`` when it is stale.

        ``rows_factory`` yields (id, text, title) for every passage.
        """
        with self._lock:
            if self._retriever is not None and self.is_current(generation, count):
                return
            if self._retriever is None and self.is_current(generation, count):
                if self._load():
                    return
            self._build(generation, rows_factory)

    def _load(self) -> bool:
        try:
            self._retriever = _bm25s().BM25.load(str(self.cache_dir), mmap=False)
            self._ids = json.loads((self.cache_dir / "ids.json").read_text())
            self._meta = json.loads((self.cache_dir / "state.json").read_text())
            return True
        except (OSError, ValueError, KeyError):
            self._retriever = None
            return False

    def _build(self, generation: str, rows_factory) -> None:
        bm25s = _bm25s()
        ids, texts = [], []
        for pid, text, title in rows_factory():
            ids.append(pid)
            texts.append(lexical_text(text, title))
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        if texts:
            retriever.index(tokenize(texts), show_progress=False)
        self._retriever = retriever if texts else None
        self._ids = ids
        self._meta = {"generation": generation, "count": len(ids), "tokenizer": TOKENIZER_VERSION}
        if texts:
            self._save(retriever)

    def _save(self, retriever) -> None:
        self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=self.cache_dir.parent))
        try:
            retriever.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(self._ids))
            (tmp / "state.json").write_text(json.dumps(self._meta))
            old = self.cache_dir.with_name(self.cache_dir.name + f".old-{os.getpid()}")
            if self.cache_dir.exists():
                os.replace(self.cache_dir, old)
            os.replace(tmp, self.cache_dir)
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            # A read-only or racing cache directory only costs a rebuild next time.
            shutil.rmtree(tmp, ignore_errors=True)

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every passage for ``query`` (index order), or None if nothing matches."""
        if self._retriever is None or not self._ids:
            return None
        vocab = self._retriever.vocab_dict
        known = [t for t in tokenize([query])[0] if t in vocab]
        if not known:
            return None
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def search(self, query: str, n: int) -> LexicalHits:
        """Top ``n`` passages for ``query`` by BM25 (ids and scores, best first)."""
        scores = self.scores(query)
        if scores is None:
            return LexicalHits([], [], 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        ids = [self._ids[i] for i in top if scores[i] > 0]
        return LexicalHits(ids, [float(scores[i]) for i in top[: len(ids)]], float(scores[top[0]]))

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each (already tokenized) term.

        A term no passage contains gets the highest IDF: for a question it is the
        strongest sign that the index does not cover what is asked.
        """
        if self._retriever is None:
            return {t: 0.0 for t in tokens}
        vocab = self._retriever.vocab_dict
        indptr = self._retriever.scores["indptr"]
        n = len(self._ids)
        out = {}
        for t in tokens:
            tid = vocab.get(t)
            df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def ids(self) -> list[str]:
        """Passage ids in index order."""
        return self._ids

    def position(self, passage_id: str) -> int | None:
        """Where a passage stands in index order (None if unknown)."""
        if len(self._positions) != len(self._ids):
            self._positions = {pid: i for i, pid in enumerate(self._ids)}
        return self._positions.get(passage_id)
