"""A read-only local copy of the passages, so that a question does not import chromadb.

Opening a local Chroma index costs a cold process about 1.4 s (importing chromadb, whose
``overrides`` dependency checks signatures at import, and starting its client) while a
search over a few thousand passages takes milliseconds. The replica is a derived cache,
like the BM25 one, under ``<home>/cache/replica-<prefix>/``:

- ``vectors.npy``: the passage vectors as Chroma returns them (float32, memory-mapped),
  with ``norms.npy``; dense search is a matrix product (exact cosine, where Chroma's HNSW
  is approximate: the same passages on every set we measured);
- ``svec.npy`` and ``svec_offsets.npy``: every passage's sentence vectors, decoded once;
- ``source.npy``, ``published_ts.npy``: what the outlet and date filters need;
- ``rows.sqlite3``: text and metadata by passage id (stdlib ``sqlite3``);
- ``state.json``: the stamp token, generation and count it was built from.

Whether it is current is told by a stamp file, ``<home>/cache/index-<prefix>.stamp``,
that ``ChromaStore`` rewrites with a fresh token before and after every change to the
passages in local mode (``touch_stamp``). A replica whose token is the stamp's is
current; otherwise reads go to Chroma and the next ``sync`` rebuilds it. Every writer
of a local index must therefore be a ``ChromaStore`` of this version (a process that
writes Chroma by other means would go unnoticed). A build that sees the token change
while it reads is dropped. Above ``MAX_PASSAGES`` no replica is built (its vectors would
be read in full on every question: 1.5 KB a passage).

This module imports neither chromadb nor anything of ours outside ``retrieval``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.filters import Filters
from retrieval.models import StoredPassage
from retrieval.passage_rows import PassageCache, in_reading_order, passage_from_row

# Bumped whenever the files of the replica change.
FORMAT = 1
# No replica above this many passages (~300 MB of 384-d vectors, read by every search).
MAX_PASSAGES = 200_000
_NO_TS = np.iinfo(np.int64).min
_NO_SOURCE = -1


def stamp_path(home: Path, prefix: str) -> Path:
    """The stamp file of the local index at ``home`` (collections ``prefix``)."""
    return Path(home) / "cache" / f"index-{prefix}.stamp"


def replica_dir(home: Path, prefix: str) -> Path:
    """Where the replica of that index lives."""
    return Path(home) / "cache" / f"replica-{prefix}"


def read_stamp(path: Path) -> str | None:
    """The stamp's token, or None when there is none."""
    try:
        token = Path(path).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return token or None


def touch_stamp(path: Path) -> str | None:
    """Give the stamp a new token (atomically); None when it cannot be written, which
    leaves any replica stale only if the old stamp is gone too (see ``read_stamp``)."""
    path = Path(path)
    token = uuid.uuid4().hex
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(token, encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        try:
            path.unlink(missing_ok=True)  # no stamp: no replica is current
        except OSError:
            pass
        return None
    return token


def _file_id(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


class Replica:
    """One built replica, opened read-only (files are never changed once written)."""

    def __init__(self, folder: Path, state: dict[str, Any]):
        self.folder = folder
        self.state = state
        self.token: str = state["token"]
        self.generation: str = state["generation"]
        self.count: int = int(state["count"])
        self.sources: list[str] = list(state["sources"])
        load = lambda name: np.load(folder / f"{name}.npy", mmap_mode="r")  # noqa: E731
        if self.count:
            self.vectors = load("vectors")
            self.norms = load("norms")
            self.svec = load("svec")
            self.source = load("source")
            self.published = load("published_ts")
            self.has_svec = load("has_svec")
        self.svec_offsets = load("svec_offsets")
        if len(self.svec_offsets) != self.count + 1 or (
            self.count
            and (
                self.vectors.shape[0] != self.count
                or len(self.norms) != self.count
                or len(self.source) != self.count
                or len(self.published) != self.count
                or int(self.svec_offsets[-1]) != len(self.svec)
            )
        ):
            raise ValueError("inconsistent replica")
        self._db = sqlite3.connect(
            f"file:{folder / 'rows.sqlite3'}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        (last,) = self._db.execute("SELECT max(pos) FROM rows").fetchone()
        if (last is None and self.count) or (last is not None and last != self.count - 1):
            raise ValueError("inconsistent replica")
        self._lock = threading.Lock()
        self._cache = PassageCache()  # files never change: no generation to observe

    @classmethod
    def open(cls, folder: Path) -> Replica | None:
        """The replica in ``folder``, or None when there is none or it is unreadable."""
        try:
            state = json.loads((folder / "state.json").read_text())
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                return None
            return cls(folder, state)
        except Exception:  # a damaged replica costs a rebuild, never a wrong answer
            return None

    def discard(self) -> None:
        """Delete this replica's folder (it could not be read: the next sync rebuilds it)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def matches(self, token: str | None, database: Path) -> bool:
        """Whether this replica is of the index as the stamp ``token`` describes it, and
        of the same database file (a deleted and recreated index is another one)."""
        return (
            token is not None
            and token == self.token
            and _file_id(database) == self.state.get("database")
        )

    # -- reads ------------------------------------------------------------------------------

    def _rows(self, sql: str, args: Iterable[Any]) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _stored(self, row: tuple) -> StoredPassage:
        pos, pid, text, meta = row
        cached = self._cache.get(pid)
        if cached is not None:
            return cached
        passage = passage_from_row(pid, text, json.loads(meta))
        if self.has_svec[pos]:
            a, b = int(self.svec_offsets[pos]), int(self.svec_offsets[pos + 1])
            svecs = np.asarray(self.svec[a:b])
        else:
            svecs = np.zeros((0, 1), dtype=np.float32)
        stored = StoredPassage(passage, svecs)
        self._cache.put(pid, stored)
        return stored

    def _select(self, where: str, values: list[Any]) -> list[tuple]:
        out: list[tuple] = []
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out += self._rows(
                f"SELECT pos, id, text, meta FROM rows WHERE {where.format(marks)}", chunk
            )
        return out

    def get_passages(self, ids: list[str], embeddings: bool = False) -> dict[str, StoredPassage]:
        """Passages by id, as ``ChromaStore.get_passages`` gives them."""
        if not ids:
            return {}
        wanted = list(dict.fromkeys(ids))
        out: dict[str, StoredPassage] = {}
        if not embeddings:
            out = self._cache.get_many(wanted)
            wanted = [pid for pid in wanted if pid not in out]
        for row in self._select("id IN ({})", wanted):
            stored = self._stored(row)
            if embeddings:
                vec = np.array(self.vectors[row[0]], dtype=np.float32)
                stored = StoredPassage(stored.passage, stored.sentence_vectors, None, vec)
            out[row[1]] = stored
        return out

    def article_passages(self, article_ids: list[str]) -> list[StoredPassage]:
        """Every passage of these articles, in article then reading order."""
        if not article_ids:
            return []
        stored = [self._stored(r) for r in self._select("article_id IN ({})", list(article_ids))]
        return in_reading_order(stored, article_ids)

    def lead_passages(self, article_ids: list[str]) -> dict[str, StoredPassage]:
        """The first passage of each of these articles, by article id."""
        if not article_ids:
            return {}
        rows = self._select("ordinal = 0 AND article_id IN ({})", list(article_ids))
        out = {}
        for row in rows:
            stored = self._stored(row)
            out[stored.passage.article_id] = stored
        return out

    def passage_ids(self) -> list[str]:
        """Every passage id, in Chroma's order."""
        return [r[0] for r in self._rows("SELECT id FROM rows ORDER BY pos", ())]

    def passage_texts(self, ids: list[str]) -> list[tuple[str, str, str | None]]:
        """(id, text, title) of these passages."""
        out = []
        for _, pid, text, meta in self._select("id IN ({})", list(ids)):
            out.append((pid, text, json.loads(meta).get("title")))
        return out

    def _mask(self, filters: Filters) -> np.ndarray | None:
        """Rows that Chroma's ``where`` for ``filters`` keeps (see ``_passage_where``):
        an outlet among ``sources``, a stored date within ``since``/``until``."""
        since, until = filters.day_range()
        mask = None
        if filters.sources:
            codes = [i for i, s in enumerate(self.sources) if s in set(filters.sources)]
            mask = np.isin(self.source, np.asarray(codes, dtype=np.int32))
        for bound, keep in ((since, np.greater_equal), (until, np.less_equal)):
            if bound is not None:
                dated = (self.published != _NO_TS) & keep(self.published, bound)
                mask = dated if mask is None else mask & dated
        return mask

    def nearest_passages(
        self, vector: np.ndarray, n: int, filters: Filters | None = None
    ) -> list[StoredPassage]:
        """What ``ChromaStore.nearest_passages`` returns, by exact cosine similarity."""
        filters = filters or Filters()
        mask = self._mask(filters)
        if self.count == 0:
            return []
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        sims = (self.vectors @ q) / (self.norms * max(float(np.linalg.norm(q)), 1e-30))
        # Chroma's similarity is 1 - its float32 cosine distance.
        sims = sims.astype(np.float32)
        candidates = np.arange(self.count) if mask is None else np.flatnonzero(mask)
        want = min(n * (2 if filters.published_by else 1), len(candidates))
        if want <= 0:
            return []
        picked = sims[candidates]
        if want < len(candidates):
            top = np.argpartition(-picked, want - 1)[:want]
        else:
            top = np.arange(len(candidates))
        top = top[np.argsort(-picked[top], kind="stable")]
        positions = [int(p) for p in candidates[top]]
        rows = {
            r[0]: r
            for r in self._select("pos IN ({})", positions)  # pos is the primary key
        }
        out = []
        for pos in positions:
            row = rows.get(pos)
            if row is None:
                continue
            stored = self._stored(row)
            p = stored.passage
            if filters.published_by and not filters.accepts(p.source, p.published):
                continue
            out.append(StoredPassage(p, stored.sentence_vectors, float(sims[pos]), None))
        return out


def build_replica(
    folder: Path,
    token: str,
    generation: str,
    rows: Iterable[tuple[str, str, dict[str, Any], Any]],
    database: Path,
    unpack: Callable[[str], np.ndarray],
) -> Replica | None:
    """Write a replica of ``rows`` (id, text, metadata, vector) into ``folder``, atomically
    (a new folder renamed into place); None when there is nothing usable to write (too
    many passages, a row without its vector) or the folder cannot be written."""
    ids, texts, metas, vectors = [], [], [], []
    for pid, text, meta, vec in rows:
        if text is None or meta is None or vec is None:
            return None  # a row half written by another process: try again later
        ids.append(pid)
        texts.append(text)
        metas.append(meta)
        vectors.append(np.asarray(vec, dtype=np.float32))
        if len(ids) > MAX_PASSAGES:
            return None
    sources = sorted({m["source"] for m in metas if isinstance(m.get("source"), str)})
    code = {s: i for i, s in enumerate(sources)}
    svecs, offsets, has_svec = [], [0], []
    for meta in metas:
        packed = meta.get("svec")
        part = unpack(packed) if packed else None
        has_svec.append(part is not None)
        if part is not None:
            svecs.append(np.asarray(part, dtype=np.float32))
        offsets.append(offsets[-1] + (0 if part is None else len(part)))
    dims = len(vectors[0]) if vectors else 0
    matrix = np.stack(vectors) if vectors else np.zeros((0, dims), np.float32)
    state = {
        "format": FORMAT,
        "token": token,
        "generation": generation,
        "count": len(ids),
        "sources": sources,
        "database": _file_id(database),
    }
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    except OSError:
        return None
    try:
        np.save(tmp / "vectors.npy", matrix)
        np.save(tmp / "norms.npy", np.linalg.norm(matrix, axis=1).astype(np.float32))
        width = svecs[0].shape[1] if svecs else max(dims, 1)
        np.save(tmp / "svec.npy", np.concatenate(svecs) if svecs else np.zeros((0, width)))
        np.save(tmp / "svec_offsets.npy", np.asarray(offsets, dtype=np.int64))
        np.save(tmp / "has_svec.npy", np.asarray(has_svec, dtype=bool))
        np.save(
            tmp / "source.npy",
            np.asarray([code.get(m.get("source"), _NO_SOURCE) for m in metas], dtype=np.int32),
        )
        np.save(
            tmp / "published_ts.npy",
            np.asarray(
                [
                    m["published_ts"] if isinstance(m.get("published_ts"), int) else _NO_TS
                    for m in metas
                ],
                dtype=np.int64,
            ),
        )
        db = sqlite3.connect(tmp / "rows.sqlite3")
        try:
            db.execute(
                "CREATE TABLE rows (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                "article_id TEXT, ordinal INTEGER, text TEXT, meta TEXT)"
            )
            db.executemany(
                "INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (
                        pos,
                        pid,
                        meta.get("article_id"),
                        meta.get("ordinal"),
                        text,
                        json.dumps({k: v for k, v in meta.items() if k != "svec"}),
                    )
                    for pos, (pid, text, meta) in enumerate(zip(ids, texts, metas, strict=True))
                ),
            )
            db.execute("CREATE INDEX rows_article ON rows (article_id, ordinal)")
            db.commit()
        finally:
            db.close()
        (tmp / "state.json").write_text(json.dumps(state))
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}-{threading.get_ident()}")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except (OSError, sqlite3.Error):
        # A read-only or racing cache directory only costs Chroma reads.
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    return Replica.open(folder)
