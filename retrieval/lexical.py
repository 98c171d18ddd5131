"""BM25 over the indexed passages: a derived cache, rebuilt from Chroma when stale.

The cache lives under ``<home>/cache/bm25-<prefix>/`` and records the Chroma
generation and passage count it was built from; any process that finds them
changed rebuilds it, so several processes sharing one Chroma server agree.

Tokenizing and scoring are plain ``re``, PyStemmer and NumPy, the same results as
``bm25s.tokenize`` and ``bm25s.BM25`` (Lucene variant), which a test checks: a question
never imports bm25s (and with it scipy), which would cost a cold ``ask`` ~0.2 s. The
score matrix is saved as ``.npy`` files and memory-mapped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN_PATTERN = r"(?u)\b\w+\b"
_SPLIT = re.compile(_TOKEN_PATTERN).findall
# Bumped whenever tokenization changes, so cached indexes are rebuilt.
TOKENIZER_VERSION = 2
# Bumped whenever the files of the cache change (3: the score matrix as .npy files).
CACHE_FORMAT = 3
# bm25s.stopwords.STOPWORDS_EN (NLTK's short list), copied so that tokenizing does not
# import bm25s; tests/test_search.py checks that they are the same.
STOPWORDS_EN = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
    "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
    "there", "these", "they", "this", "to", "was", "will", "with",
)  # fmt: skip
# Question words carry no topic: left in, they would favour passages that ask questions.
_QUESTION_WORDS = ("who", "whom", "whose", "what", "when", "where", "which", "why", "how")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(STOPWORDS_EN) | frozenset(_QUESTION_WORDS)


@lru_cache(maxsize=1)
def _bm25s():
    import logging

    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its chatter out of our output.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


_K1, _B = 1.2, 0.75


def bm25_matrix(token_ids: list[np.ndarray], vocab: dict[str, int]) -> dict:
    """The BM25 score matrix (Lucene variant, k1=1.2, b=0.75) of documents given as token
    ids: a CSC matrix, one column per token (``data``, ``indices``, ``indptr``,
    ``num_docs``), the same as ``bm25s.BM25.index`` builds.

    Computed in whole-array NumPy operations: bm25s loops over documents in Python, which
    at 100k passages is most of an index update. Adds the empty token to ``vocab`` as
    ``index`` does.
    """
    n_docs, n_vocab = len(token_ids), len(vocab)
    lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=n_docs)
    flat = np.concatenate(token_ids).astype(np.int64) if n_docs else np.zeros(0, np.int64)
    docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # One entry per (token, document) pair, in column (token) then row (document) order.
    pairs, tf = np.unique(flat * n_docs + docs, return_counts=True)
    tokens, rows = np.divmod(pairs, n_docs)
    df = np.bincount(tokens, minlength=n_vocab)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    idf[df == 0] = 0.0
    norm = _K1 * ((1 - _B) + _B * lengths[rows] / lengths.mean())
    data = (idf[tokens] * (tf / (norm + tf))).astype(np.float32)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    if "" not in vocab:  # added after the matrix is built, as BM25.index does
        vocab[""] = max(vocab.values(), default=-1) + 1
    return {"data": data, "indices": rows.astype(np.int32), "indptr": indptr, "num_docs": n_docs}


def matrix_scores(matrix: dict, token_ids: list[int]) -> np.ndarray:
    """The BM25 score of every document for a query of ``token_ids`` (repeats count
    again), summed in the order ``bm25s.BM25.get_scores`` sums them, in float32."""
    data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
    scores = np.zeros(int(matrix["num_docs"]), dtype=np.float32)
    if not token_ids:
        return scores
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in token_ids]
    np.add.at(
        scores,
        np.concatenate([indices[a:b] for a, b in spans]),
        np.concatenate([data[a:b] for a, b in spans]),
    )
    return scores


def bm25_retriever(token_ids: list[np.ndarray], vocab: dict[str, int]):
    """A ``bm25s.BM25`` holding ``bm25_matrix(token_ids, vocab)`` (for comparisons with
    bm25s; Dateline itself scores with ``matrix_scores``)."""
    bm25s = _bm25s()
    retriever = bm25s.BM25(k1=_K1, b=_B)
    retriever.scores = bm25_matrix(token_ids, vocab)
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None
    return retriever


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens, the same for passages and queries
    (what ``bm25s.tokenize`` gives with our pattern, stop words and stemmer)."""
    stop = _stopwords()
    split = [[t for t in _SPLIT(text.lower()) if t not in stop] for text in texts]
    unique = list(dict.fromkeys(t for words in split for t in words))
    stems = dict(zip(unique, _stemmer().stemWords(unique), strict=True))
    return [[stems[t] for t in words] for words in split]


def lexical_text(text: str, title: str | None) -> str:
    """What BM25 indexes for a passage: its article's title, then the text."""
    return f"{title}\n{text}" if title else text


def _tokenize_rows(rows) -> list[tuple[str, list[str]]]:
    """(id, tokens) for each (id, text, title) row."""
    rows = list(rows)
    tokenized = tokenize([lexical_text(text, title) for _, text, title in rows])
    return [(pid, toks) for (pid, _, _), toks in zip(rows, tokenized, strict=True)]


@dataclass
class LexicalHits:
    """Passage ids and BM25 scores, best first, the best score for the query, and the
    score of every passage in index order (None when no query term is indexed)."""

    ids: list[str]
    scores: list[float]
    best: float
    all_scores: np.ndarray | None = None


class BM25Index:
    """A BM25 index of passages, cached on disk and brought up to date incrementally.

    Besides the score matrix, the cache keeps every passage's token ids, so when Chroma
    changes only the passages that are new since the cache was written are fetched and
    tokenized; the matrix itself is then rebuilt from token ids, which is fast.
    """

    _MATRIX = ("data", "indices", "indptr")

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        self._matrix: dict | None = None
        self._terms: dict[str, int] = {}  # the matrix's vocabulary
        self._ids: list[str] = []
        self._meta: dict = {}
        self._positions: dict[str, int] = {}
        self._tokens: dict[str, np.ndarray] = {}
        self._vocab: dict[str, int] = {}  # grows with tokenized passages, ahead of the matrix
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Number of passages in the loaded index."""
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """The indexed passage ids, in index order."""
        return self._ids

    def _state_matches(self, meta: dict, generation: str, count: int) -> bool:
        return (
            meta.get("generation") == generation
            and meta.get("count") == count
            and meta.get("tokenizer") == TOKENIZER_VERSION
            and meta.get("format") == CACHE_FORMAT
        )

    def is_current(self, generation: str, count: int) -> bool:
        """Whether the loaded (or cached) index matches this state of the store."""
        if self._meta:
            return self._state_matches(self._meta, generation, count)
        try:
            meta = json.loads((self.cache_dir / "state.json").read_text())
        except (OSError, ValueError):
            return False
        return isinstance(meta, dict) and self._state_matches(meta, generation, count)

    def ensure(self, generation: str, count: int, list_ids, fetch_rows) -> None:
        """Load the cache, or bring it up to date with the store when it is stale.

        ``list_ids()`` returns every passage id in the store; ``fetch_rows(ids)`` yields
        (id, text, title) for the given ids.
        """
        with self._lock:
            if self._meta and self.is_current(generation, count):
                return
            if not self._meta and self.is_current(generation, count) and self._load():
                return
            self._update(generation, list_ids, fetch_rows)

    def _load(self) -> bool:
        try:
            meta = json.loads((self.cache_dir / "state.json").read_text())
            ids = json.loads((self.cache_dir / "ids.json").read_text())
            terms = json.loads((self.cache_dir / "terms.json").read_text())
            matrix = None
            if ids:
                matrix = {
                    k: np.load(self.cache_dir / f"{k}.npy", mmap_mode="r") for k in self._MATRIX
                }
                matrix["num_docs"] = len(ids)
            # A damaged cache must cost a rebuild, never a wrong answer or a crash.
            if not isinstance(ids, list) or len(ids) != meta.get("count"):
                return False
            if not isinstance(terms, dict):
                return False
            if matrix is not None and (
                len(matrix["indptr"]) < len(terms)
                or int(matrix["indptr"][-1]) != len(matrix["data"])
                or len(matrix["indices"]) != len(matrix["data"])
            ):
                return False
        except Exception:  # any unreadable file of the cache: rebuild it
            return False
        self._matrix, self._terms, self._ids, self._meta = matrix, terms, ids, meta
        self._positions = {}
        return True

    def _load_tokens(self) -> None:
        """Token ids of the cached passages, read from disk once per process."""
        if self._tokens or not (self.cache_dir / "tokens.npz").exists():
            return
        try:
            meta = json.loads((self.cache_dir / "state.json").read_text())
            if meta.get("tokenizer") != TOKENIZER_VERSION:
                return
            ids = json.loads((self.cache_dir / "ids.json").read_text())
            vocab = json.loads((self.cache_dir / "vocab.json").read_text())
            with np.load(self.cache_dir / "tokens.npz") as data:
                flat, offsets = data["flat"], data["offsets"]
            consistent = (
                isinstance(ids, list)
                and isinstance(vocab, dict)
                and len(offsets) == len(ids) + 1
                and (len(flat) == 0 or (int(offsets[-1]) == len(flat) and flat.max() < len(vocab)))
                and bool(np.all(np.diff(offsets) >= 0))
            )
        except Exception:  # any unreadable file of the cache: tokenize everything again
            return
        if not consistent:
            return
        self._vocab = vocab
        self._tokens = {pid: flat[offsets[i] : offsets[i + 1]] for i, pid in enumerate(ids)}

    def pretokenize(self, rows) -> None:
        """Tokenize (id, text, title) rows ahead of the next update, e.g. while ingest is
        still encoding, so that the update only has to re-index."""
        tokenized = _tokenize_rows(rows)
        with self._lock:
            self._load_tokens()
            for pid, toks in tokenized:
                self._tokens[pid] = self._token_ids(toks)

    def _token_ids(self, tokens: list[str]) -> np.ndarray:
        vocab = self._vocab
        return np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int32)

    def _update(self, generation: str, list_ids, fetch_rows) -> None:
        self._load_tokens()
        all_ids = list(list_ids())
        wanted = set(all_ids)
        tokens = {pid: t for pid, t in self._tokens.items() if pid in wanted}
        new_ids = [pid for pid in all_ids if pid not in tokens]
        for i in range(0, len(new_ids), 5000):
            for pid, toks in _tokenize_rows(fetch_rows(new_ids[i : i + 5000])):
                tokens[pid] = self._token_ids(toks)
        ids = [pid for pid in all_ids if pid in tokens]
        matrix = bm25_matrix([tokens[pid] for pid in ids], self._vocab) if ids else None
        self._matrix, self._ids, self._tokens = matrix, ids, tokens
        self._terms = dict(self._vocab)
        self._positions = {}
        self._meta = {
            "generation": generation,
            "count": len(ids),
            "tokenizer": TOKENIZER_VERSION,
            "format": CACHE_FORMAT,
        }
        self._save(matrix)

    def _save(self, matrix: dict | None) -> None:
        self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=self.cache_dir.parent))
        try:
            if matrix is not None:
                for key in self._MATRIX:
                    np.save(tmp / f"{key}.npy", matrix[key])
            arrays = [self._tokens[pid] for pid in self._ids]
            offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
            np.cumsum([len(a) for a in arrays], out=offsets[1:])
            flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)
            np.savez(tmp / "tokens.npz", flat=flat, offsets=offsets)
            (tmp / "vocab.json").write_text(json.dumps(self._vocab))
            (tmp / "terms.json").write_text(json.dumps(self._terms))
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

    def _term_id(self, term: str) -> int | None:
        """The matrix column of ``term`` (None when no indexed passage has it)."""
        tid = self._terms.get(term)
        if tid is None or self._matrix is None or tid + 1 >= len(self._matrix["indptr"]):
            return None
        return tid

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 score of every passage for the (already tokenized) query ``terms``, in
        index order, or None if nothing matches."""
        if self._matrix is None or not self._ids:
            return None
        known = [tid for tid in map(self._term_id, terms) if tid is not None]
        if not known:
            return None
        return matrix_scores(self._matrix, known)

    def search(self, query: str, n: int) -> LexicalHits:
        """Top ``n`` passages for ``query`` by BM25 (ids and scores, best first)."""
        return self.search_terms(tokenize([query])[0], n)

    def search_terms(self, terms: list[str], n: int) -> LexicalHits:
        """Top ``n`` passages for the (already tokenized) query ``terms`` by BM25."""
        scores = self.scores(terms)
        if scores is None:
            return LexicalHits([], [], 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        ids = [self._ids[i] for i in top if scores[i] > 0]
        return LexicalHits(
            ids, [float(scores[i]) for i in top[: len(ids)]], float(scores[top[0]]), scores
        )

    def _df(self, term: str) -> int:
        tid = self._term_id(term)
        if tid is None:
            return 0
        indptr = self._matrix["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each (already tokenized) term.

        A term no passage contains gets the highest IDF: for a question it is the
        strongest sign that the index does not cover what is asked.
        """
        if self._matrix is None:
            return {t: 0.0 for t in tokens}
        n = len(self._ids)
        out = {}
        for t in tokens:
            df = self._df(t)
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def unknown(self, tokens: list[str]) -> set[str]:
        """The (already tokenized) terms that no indexed passage contains."""
        if self._matrix is None:
            return set(tokens)
        return {t for t in tokens if self._df(t) == 0}

    def position(self, passage_id: str) -> int | None:
        """Where a passage stands in index order (None if unknown)."""
        if len(self._positions) != len(self._ids):
            self._positions = {pid: i for i, pid in enumerate(self._ids)}
        return self._positions.get(passage_id)
