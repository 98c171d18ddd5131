"""The Chroma index: passages with their embeddings, and one record per article.

``ChromaStore`` is the ``retrieval.index.Index`` that Dateline ships: Chroma's ``where``
syntax and its rows stay in this module. Chroma is the single source of truth. Two
collections live side by side: ``<prefix>-passages`` (one row per passage, cosine space)
and ``<prefix>-articles`` (one row per article: its full indexed text, the mean of its
passage vectors, and a ``status`` that is ``pending`` while the article is being
written). The passages collection's metadata carries a ``generation`` that changes on
every write, so derived caches (BM25) know when to rebuild.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from retrieval.errors import IndexCorruptError, IndexUnavailableError, InvalidQueryError
from retrieval.filters import Filters, published_ts
from retrieval.models import ArticleInfo, ArticleRecord, Passage, StoredPassage
from retrieval.passage_rows import PassageCache, in_reading_order, passage_from_row
from retrieval.replica import MAX_PASSAGES as REPLICA_MAX_PASSAGES
from retrieval.replica import (
    Replica,
    build_replica,
    read_stamp,
    replica_dir,
    stamp_path,
    touch_stamp,
)
from retrieval.vectors import pack_vectors, unpack_vectors

_ARTICLE_FIELDS = (
    "key",
    "path",
    "title",
    "source",
    "published",
    "place",
    "url",
    "author",
    "content_hash",
    "status",
    "ingested_at",
)
_BATCH = 1000
# Seconds to wait for a Chroma server's answer; connecting gives up sooner.
DEFAULT_SERVER_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 3.0
_NOT_FOUND = object()
# Seconds before a build of the replica is tried again after one failed or was dropped.
REPLICA_RETRY = 30.0
# Tables every Chroma SQLite database has; a database without them belongs to something else.
_CHROMA_TABLES = {"collections", "migrations"}


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if v is not None}


def _stored(pid: str, text: str, meta: dict[str, Any], sim=None, emb=None) -> StoredPassage:
    passage = passage_from_row(pid, text, meta)
    packed = meta.get("svec")
    svecs = unpack_vectors(packed) if packed else np.zeros((0, 1), dtype=np.float32)
    return StoredPassage(passage, svecs, sim, None if emb is None else np.asarray(emb, np.float32))


def _record(aid: str, text: str | None, meta: dict[str, Any]) -> ArticleRecord:
    """Rebuild an ArticleRecord from a Chroma row."""
    return ArticleRecord(
        id=aid,
        text=text,
        passages=int(meta.get("passages", 0)),
        **{f: meta.get(f) for f in _ARTICLE_FIELDS},
    )


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One ``where`` clause requiring every one of ``clauses`` (None for none)."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _passage_where(filters: Filters) -> dict[str, Any] | None:
    """The ``where`` clause for a search's outlet and date filters (``published_by``
    cannot be one: Chroma cannot keep undated rows beside a date bound)."""
    since, until = filters.day_range()
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    for bound, op in ((since, "$gte"), (until, "$lte")):
        if bound is not None:
            clauses.append({"published_ts": {op: bound}})
    return _all_of(clauses)


def _article_where(
    keys: Sequence[str] | None, paths: Sequence[str] | None, status: str | None = None
) -> dict[str, Any] | None:
    """The ``where`` clause for records under ``keys`` or ``paths``, with ``status``
    (an empty sequence adds nothing: see ``_matches_nothing``)."""
    either = [
        {field: {"$in": list(values)}}
        for field, values in (("key", keys), ("path", paths))
        if values
    ]
    clauses = [{"$or": either}] if len(either) > 1 else either
    if status is not None:
        clauses.append({"status": status})
    return _all_of(clauses)


def _matches_nothing(*criteria: Sequence[str] | None) -> bool:
    """Whether every given criterion is an empty sequence (and at least one is given)."""
    given = [c for c in criteria if c is not None]
    return bool(given) and not any(given)


class ChromaStore:
    """Access to Dateline's Chroma collections, local or on a ``chroma run`` server.

    Construction is cheap; the client connects on first use and is reused. A local index
    is read from its replica (``retrieval.replica``) while that is current, without
    importing chromadb; ``sync`` builds the replica. Writes always go to Chroma.
    """

    def __init__(
        self,
        home: Path,
        url: str | None = None,
        prefix: str = "dateline",
        *,
        timeout: float = DEFAULT_SERVER_TIMEOUT,
    ):
        self.home = Path(home)
        self.url = url
        self.prefix = prefix
        self.timeout = float(timeout)
        self._client = None
        self._passages = None
        self._articles = None
        self._lock = threading.Lock()
        self._cache = PassageCache()
        self._replica: Replica | None = None
        self._replica_lock = threading.Lock()
        self._replica_retry = 0.0  # monotonic time before which no build is tried again

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        return self.url or str(self.home / "chroma")

    # -- the replica ----------------------------------------------------------------------

    @property
    def stamp_path(self) -> Path:
        """The file whose token changes with every change to a local index's passages."""
        return stamp_path(self.home, self.prefix)

    def _touch(self) -> None:
        if not self.url:
            touch_stamp(self.stamp_path)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """Around a write to the passages: the stamp of a local index gets a new token
        before (readers stop trusting the replica) and after (the change is done), even
        when the write fails."""
        self._touch()
        try:
            yield
        finally:
            self._touch()

    def replica(self) -> Replica | None:
        """The current replica of a local index, or None (server mode, none built yet,
        or the index changed since it was)."""
        if self.url:
            return None
        token = read_stamp(self.stamp_path)
        if token is None:
            return None
        database = self.home / "chroma" / "chroma.sqlite3"
        current = self._replica
        if current is not None and current.matches(token, database):
            return current
        opened = Replica.open(replica_dir(self.home, self.prefix))
        if opened is not None and opened.matches(token, database):
            self._replica = opened
            if self._passages is None:
                self._cache.observe(opened.generation)
            return opened
        self._replica = None
        return None

    def _from_replica(self, method: str, *args):
        """``method`` of the current replica, or ``_NOT_FOUND`` when there is none; a
        replica that cannot be read is deleted (the next ``sync`` rebuilds it) and the
        read goes to Chroma."""
        replica = self.replica()
        if replica is None:
            return _NOT_FOUND
        try:
            return getattr(replica, method)(*args)
        except (InvalidQueryError, TypeError):
            raise
        except Exception:  # noqa: BLE001 - damaged files: never a wrong answer or a crash
            self._replica = None
            replica.discard()
            return _NOT_FOUND

    def sync(self) -> None:
        """Build the replica of a local index when it is missing or stale (a no-op on a
        server). Reads go to Chroma until it is current; a build that the index changed
        under is dropped, and none is tried again for ``REPLICA_RETRY`` seconds."""
        if self.url or self.replica() is not None:
            return
        with self._replica_lock:
            if time.monotonic() < self._replica_retry or self.replica() is not None:
                return
            try:
                built = self._build_replica()
            except (IndexCorruptError, IndexUnavailableError):
                # e.g. rows whose vectors an ingest killed mid-write never stored: reads go
                # to Chroma, which says so itself if the index cannot be used at all.
                built = None
            if built is None:
                self._replica_retry = time.monotonic() + REPLICA_RETRY
            self._replica = built

    def _build_replica(self) -> Replica | None:
        passages, _ = self._collections()
        token = read_stamp(self.stamp_path) or touch_stamp(self.stamp_path)
        if token is None:
            return None
        generation = self.generation()
        count = self._call(passages.count)
        if count > REPLICA_MAX_PASSAGES:
            return None
        rows = list(self.iter_passages(embeddings=True))
        if len(rows) != count or self.generation() != generation:
            return None
        if read_stamp(self.stamp_path) != token:
            return None  # written to meanwhile
        return build_replica(
            replica_dir(self.home, self.prefix),
            token,
            generation,
            rows,
            self.home / "chroma" / "chroma.sqlite3",
            unpack_vectors,
        )

    def _connect(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        if self.url:
            parsed = urlparse(self.url if "://" in self.url else f"http://{self.url}")
            host = parsed.hostname or "localhost"
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
            try:
                # The client waits forever by default: a server that is down, unreachable
                # or hung must give a clear error in seconds instead.
                self._heartbeat(parsed.scheme == "https", host, port)
                client = chromadb.HttpClient(
                    host=host, port=port, ssl=parsed.scheme == "https", settings=settings
                )
            except Exception as exc:
                raise IndexUnavailableError(
                    f"cannot reach the Chroma server at {self.url}: "
                    f"{str(exc).rstrip('.') or type(exc).__name__}. "
                    "Start it with `chroma run --path DIR` or unset DATELINE_CHROMA_URL."
                ) from exc
            self._bound_requests(client)
            return client
        path = self.home / "chroma"
        if self.home.exists() and not self.home.is_dir():
            raise IndexUnavailableError(f"{self.home} is not a directory; choose another --home")
        if path.exists() and not path.is_dir():
            raise IndexCorruptError(f"{path} is not a directory; move it away or use --home")
        if path.is_dir() and any(path.iterdir()) and not (path / "chroma.sqlite3").exists():
            raise IndexCorruptError(
                f"{path} is not a Chroma index; move it away, or choose another --home"
            )
        if _foreign_database(path / "chroma.sqlite3"):
            raise IndexCorruptError(
                f"{path / 'chroma.sqlite3'} is an SQLite database of another program, not a "
                "Chroma index; move it away, or choose another --home"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # the home is a file, or not writable
            raise IndexUnavailableError(
                f"cannot create the index at {path}: {exc.strerror or exc}; choose another --home"
            ) from exc
        try:
            return chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise IndexCorruptError(
                f"cannot open the index at {path}: {exc}. "
                "Run `dateline reset` to start over, or choose another --home.",
                resettable=(path / "chroma.sqlite3").is_file(),
            ) from exc

    def _heartbeat(self, ssl: bool, host: str, port: int) -> None:
        """Raise unless the server answers its heartbeat within the connect timeout."""
        import httpx

        url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
        wait = min(_CONNECT_TIMEOUT, self.timeout)
        try:
            response = httpx.get(url, timeout=httpx.Timeout(wait, connect=wait))
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer within {wait:g} s") from exc
        except httpx.TransportError as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            raise ConnectionError("no Chroma API there (HTTP 404 for its heartbeat)")

    def _bound_requests(self, client) -> None:
        """Give the client's HTTP session timeouts (chromadb creates it with none)."""
        import httpx

        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            connect = min(_CONNECT_TIMEOUT, self.timeout)
            session.timeout = httpx.Timeout(self.timeout, connect=connect)

    def _collections(self):
        if self._passages is None:
            with self._lock:
                if self._passages is None:
                    client = self._connect()
                    try:
                        self._articles = client.get_or_create_collection(
                            f"{self.prefix}-articles",
                            embedding_function=None,
                            configuration={"hnsw": {"space": "cosine"}},
                        )
                        passages = client.get_or_create_collection(
                            f"{self.prefix}-passages",
                            embedding_function=None,
                            configuration={"hnsw": {"space": "cosine"}},
                            metadata={"generation": uuid.uuid4().hex},
                        )
                    except IndexCorruptError:
                        raise
                    except Exception as exc:
                        raise self._wrap(exc) from exc
                    self._client = client
                    self._passages = passages
        return self._passages, self._articles

    def _wrap(self, exc: Exception) -> Exception:
        if self.url:
            return IndexUnavailableError(
                f"the Chroma server at {self.url} did not answer ({type(exc).__name__}); "
                "is `chroma run` up?"
            )
        return IndexCorruptError(f"cannot use the index at {self.location}: {exc}")

    def _call(self, fn, *args, **kwargs):
        """Run a Chroma call, turning transport failures into typed errors."""
        try:
            return fn(*args, **kwargs)
        except (IndexUnavailableError, IndexCorruptError):
            raise
        except Exception as exc:
            if self.url:
                # Drop the cached client so the next call reconnects once the server is back.
                self._passages = self._articles = self._client = None
            raise self._wrap(exc) from exc

    # -- generation -------------------------------------------------------------------------

    def generation(self) -> str:
        """A token that changes whenever the passages change."""
        replica = self.replica()
        if replica is not None:
            self._cache.observe(replica.generation)
            return replica.generation
        passages, _ = self._collections()
        fresh = self._call(self._client.get_collection, passages.name, embedding_function=None)
        generation = str((fresh.metadata or {}).get("generation", ""))
        self._cache.observe(generation)
        return generation

    def bump_generation(self) -> str:
        """Mark the passages as changed; returns the new generation."""
        return self.set_generation(uuid.uuid4().hex)

    def set_generation(self, generation: str) -> str:
        """Set the passages' generation token (a no-op ingest puts the old one back)."""
        passages, _ = self._collections()
        with self._changing():
            self._call(passages.modify, metadata={"generation": generation})
        self._cache.observe(generation)
        return generation

    # -- passages ---------------------------------------------------------------------------

    def passage_count(self) -> int:
        """How many passages are indexed."""
        replica = self.replica()
        if replica is not None:
            return replica.count
        passages, _ = self._collections()
        return self._call(passages.count)

    def upsert_passages(
        self,
        passages: list[Passage],
        embeddings: np.ndarray,
        sentence_vectors: list[np.ndarray],
        content_hashes: list[str],
    ) -> None:
        """Write passages with their vectors (idempotent: ids are stable).

        ``content_hashes[i]`` is the hash of the article text ``passages[i]`` was cut from.
        """
        col, _ = self._collections()
        self._cache.clear()
        with self._changing():
            self._upsert(col, passages, embeddings, sentence_vectors, content_hashes)

    def _upsert(self, col, passages, embeddings, sentence_vectors, content_hashes) -> None:
        for i in range(0, len(passages), _BATCH):
            chunk = passages[i : i + _BATCH]
            metas = []
            svecs_chunk = sentence_vectors[i : i + _BATCH]
            hashes = content_hashes[i : i + _BATCH]
            for p, svecs, content_hash in zip(chunk, svecs_chunk, hashes, strict=True):
                meta = {k: v for k, v in asdict(p).items() if k not in ("id", "text", "sentences")}
                meta["sents"] = json.dumps([list(x) for x in p.sentences])
                meta["svec"] = pack_vectors(svecs)
                meta["published_ts"] = published_ts(p.published)
                meta["content_hash"] = content_hash
                metas.append(_clean_meta(meta))
            self._call(
                col.upsert,
                ids=[p.id for p in chunk],
                documents=[p.text for p in chunk],
                embeddings=embeddings[i : i + _BATCH],
                metadatas=metas,
            )

    def delete_passages(self, article_id: str, keep_hash: str | None = None) -> None:
        """Delete an article's passages, except those written for ``keep_hash``."""
        col, _ = self._collections()
        where: dict[str, Any] = {"article_id": article_id}
        if keep_hash is not None:
            where = {"$and": [where, {"content_hash": {"$ne": keep_hash}}]}
        self._cache.clear()
        with self._changing():
            self._call(col.delete, where=where)

    def nearest_passages(
        self, vector: np.ndarray, n: int, filters: Filters | None = None
    ) -> list[StoredPassage]:
        """Nearest passages by cosine similarity (best first) that pass ``filters``.

        ``published_by`` is checked on twice as many rows as asked for, since Chroma
        cannot keep undated rows beside a date bound; up to that many are returned.
        A local index keeps its vectors in this process's memory: after another process
        (``dateline ingest`` beside a running bot) deletes passages, the vector side can
        still return their ids, with no text or metadata. Those are skipped.
        """
        found = self._from_replica("nearest_passages", vector, n, filters)
        if found is not _NOT_FOUND:
            return found
        filters = filters or Filters()
        where = _passage_where(filters)
        col, _ = self._collections()
        res = self._call(
            col.query,
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=n * (2 if filters.published_by else 1),
            where=where,
            include=["distances"],
        )
        ids, distances = res["ids"][0], res["distances"][0]
        stored = self.get_passages(ids)  # from the cache; one more round trip for the rest
        out = []
        for pid, dist in zip(ids, distances, strict=True):
            sp = stored.get(pid)
            if sp is None:
                continue  # a passage another process deleted
            p = sp.passage
            if filters.published_by and not filters.accepts(p.source, p.published):
                continue
            out.append(replace(sp, similarity=1.0 - float(dist)))
        return out

    def article_passages(self, article_ids: list[str]) -> list[StoredPassage]:
        """Every passage of these articles, in article then reading order."""
        if not article_ids:
            return []
        found = self._from_replica("article_passages", article_ids)
        if found is not _NOT_FOUND:
            return found
        col, _ = self._collections()
        res = self._call(
            col.get,
            where={"article_id": {"$in": list(article_ids)}},
            include=["documents", "metadatas"],
        )
        stored = [
            _stored(pid, doc, meta)
            for pid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        ]
        return in_reading_order(stored, article_ids)

    def lead_passages(self, article_ids: list[str]) -> dict[str, StoredPassage]:
        """The first passage of each of these articles, by article id."""
        if not article_ids:
            return {}
        found = self._from_replica("lead_passages", article_ids)
        if found is not _NOT_FOUND:
            return found
        col, _ = self._collections()
        where = {"$and": [{"article_id": {"$in": list(article_ids)}}, {"ordinal": 0}]}
        res = self._call(col.get, where=where, include=["documents", "metadatas"])
        out = {}
        for pid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True):
            stored = _stored(pid, doc, meta)
            out[stored.passage.article_id] = stored
        return out

    def get_passages(self, ids: list[str], embeddings: bool = False) -> dict[str, StoredPassage]:
        """Passages by id (with their passage vectors when asked)."""
        if not ids:
            return {}
        found = self._from_replica("get_passages", ids, embeddings)
        if found is not _NOT_FOUND:
            return found
        out = {} if embeddings else self._cache.get_many(ids)
        missing = [pid for pid in dict.fromkeys(ids) if pid not in out]
        if not missing:
            return out
        col, _ = self._collections()
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        res = self._call(col.get, ids=missing, include=include)
        vecs = res["embeddings"] if embeddings else [None] * len(res["ids"])
        for pid, doc, meta, vec in zip(
            res["ids"], res["documents"], res["metadatas"], vecs, strict=True
        ):
            if doc is None or meta is None:
                continue
            out[pid] = _stored(pid, doc, meta, emb=vec)
            if not embeddings:
                self._cache.put(pid, out[pid])
        return out

    def passage_ids(self, batch: int = 20000) -> list[str]:
        """Every passage id, in pages."""
        found = self._from_replica("passage_ids")
        if found is not _NOT_FOUND:
            return found
        col, _ = self._collections()
        out: list[str] = []
        while True:
            res = self._call(col.get, include=[], limit=batch, offset=len(out))
            if not res["ids"]:
                return out
            out.extend(res["ids"])

    def passage_texts(self, ids: list[str]) -> list[tuple[str, str, str | None]]:
        """(id, text, title) of passages, without their vectors (for the BM25 side)."""
        if not ids:
            return []
        found = self._from_replica("passage_texts", ids)
        if found is not _NOT_FOUND:
            return found
        col, _ = self._collections()
        res = self._call(col.get, ids=list(ids), include=["documents", "metadatas"])
        return [
            (pid, doc, (meta or {}).get("title"))
            for pid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        ]

    def iter_passages(self, batch: int = 5000, *, embeddings: bool = False) -> Iterator[tuple]:
        """Every passage as (id, text, metadata), or (id, text, metadata, vector) with
        ``embeddings``, in pages, from Chroma."""
        col, _ = self._collections()
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        offset = 0
        while True:
            res = self._call(col.get, include=include, limit=batch, offset=offset)
            if not res["ids"]:
                return
            columns = [res["ids"], res["documents"], res["metadatas"]]
            if embeddings:
                columns.append(res["embeddings"])
            yield from zip(*columns, strict=True)
            offset += len(res["ids"])

    # -- articles ---------------------------------------------------------------------------

    def put_articles(self, records: Sequence[ArticleRecord], vectors: np.ndarray) -> None:
        """Write or replace article records (with their text) and their mean vectors
        (row ``i`` for ``records[i]``) in one call."""
        if not records:
            return
        _, col = self._collections()
        metas = []
        for record in records:
            meta = {k: v for k, v in asdict(record).items() if k not in ("id", "text")}
            meta["published_ts"] = published_ts(record.published)
            metas.append(_clean_meta(meta))
        self._call(
            col.upsert,
            ids=[r.id for r in records],
            documents=[r.text or "" for r in records],
            embeddings=np.asarray(vectors, dtype=np.float32),
            metadatas=metas,
        )

    def update_articles(
        self, article_ids: list[str], *, key: str | None = None, status: str | None = None
    ) -> None:
        """Set the given fields on several article records in one call.

        Chroma merges the given keys into the stored metadata and skips unknown ids, so no
        read is needed first.
        """
        if not article_ids:
            return
        _, col = self._collections()
        meta = _clean_meta({"key": key, "status": status})
        self._call(col.update, ids=list(article_ids), metadatas=[dict(meta) for _ in article_ids])

    def _records(self, res) -> list[ArticleRecord]:
        docs = res.get("documents") or [None] * len(res["ids"])
        return [
            _record(aid, doc, meta)
            for aid, doc, meta in zip(res["ids"], docs, res["metadatas"], strict=True)
        ]

    def get_articles(
        self, article_ids: list[str], with_text: bool = False
    ) -> dict[str, ArticleRecord]:
        """The records that exist among ``article_ids``, by id, read in one call."""
        if not article_ids:
            return {}
        _, col = self._collections()
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        res = self._call(col.get, ids=list(dict.fromkeys(article_ids)), include=include)
        return {record.id: record for record in self._records(res)}

    def find_articles(
        self,
        *,
        keys: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
        status: str | None = None,
        with_text: bool = False,
    ) -> list[ArticleRecord]:
        """The records under these keys or paths, and with this status when given."""
        if _matches_nothing(keys, paths):
            return []
        _, col = self._collections()
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        where = _article_where(keys, paths, status)
        return self._records(self._call(col.get, where=where, include=include))

    def nearest_articles(
        self, vectors: np.ndarray, n: int = 3
    ) -> list[list[tuple[ArticleRecord, float]]]:
        """For each row of ``vectors``, the ``n`` articles whose mean vector is closest,
        with cosine similarity, in one query."""
        if len(vectors) == 0:
            return []
        _, col = self._collections()
        count = self._call(col.count)
        if count == 0:
            return [[] for _ in vectors]
        res = self._call(
            col.query,
            query_embeddings=np.asarray(vectors, dtype=np.float32),
            n_results=min(n, count),
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for rows in zip(
            res["ids"], res["documents"], res["metadatas"], res["distances"], strict=True
        ):
            out.append(
                [
                    (_record(aid, doc, meta), 1.0 - float(dist))
                    for aid, doc, meta, dist in zip(*rows, strict=True)
                    if meta is not None  # an article deleted by another process
                ]
            )
        return out

    def delete_articles(self, article_ids: list[str]) -> None:
        """Delete articles and all their passages (passages first), a few calls per 1,000.

        The records are marked ``pending`` first: if the process dies half-way, the next
        ingest finishes the deletion instead of keeping a record without passages.
        """
        ids = list(dict.fromkeys(article_ids))
        passages, articles = self._collections()
        with self._changing():
            for i in range(0, len(ids), _BATCH):
                chunk = ids[i : i + _BATCH]
                self.update_articles(chunk, status="pending")
                self._call(passages.delete, where={"article_id": {"$in": chunk}})
                self._call(articles.delete, ids=chunk)

    def article_count(self) -> int:
        """How many article records exist."""
        _, col = self._collections()
        return self._call(col.count)

    def list_articles(
        self,
        ids: list[str] | None = None,
        *,
        keys: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
    ) -> list[ArticleInfo]:
        """Every complete article (or those with these ids, under these keys or paths),
        newest first."""
        if _matches_nothing(keys, paths):
            return []
        where = _article_where(keys, paths)
        _, col = self._collections()
        out: list[ArticleInfo] = []
        offset = 0
        while True:
            res = self._call(
                col.get, ids=ids, where=where, include=["metadatas"], limit=_BATCH, offset=offset
            )
            if not res["ids"]:
                break
            for aid, meta in zip(res["ids"], res["metadatas"], strict=True):
                if meta.get("status") != "complete":
                    continue
                out.append(
                    ArticleInfo(
                        id=aid,
                        title=meta.get("title"),
                        source=meta.get("source"),
                        published=meta.get("published"),
                        url=meta.get("url"),
                        path=meta.get("path"),
                        passages=int(meta.get("passages", 0)),
                    )
                )
            offset += len(res["ids"])
        out.sort(key=lambda a: (a.published or "", a.title or ""), reverse=True)
        return out

    def reset(self) -> None:
        """Delete both collections (the whole index).

        A local index too damaged to open is deleted from disk instead, so that ``dateline
        reset`` is the fix its error message names; files that may belong to another
        program are left alone.
        """
        try:
            self._collections()
        except IndexCorruptError as exc:
            if self.url or not exc.resettable:
                raise
            with self._changing():
                self._wipe_local()
            return
        with self._changing():
            for name in (f"{self.prefix}-passages", f"{self.prefix}-articles"):
                try:
                    self._client.delete_collection(name)
                except Exception:  # noqa: S110 - already gone is fine
                    pass
            self._passages = self._articles = None
            self._cache.clear()

    def _wipe_local(self) -> None:
        import shutil

        from chromadb.api.shared_system_client import SharedSystemClient

        path = self.home / "chroma"
        # chromadb caches one system per path; a cached one would keep the deleted files.
        system = SharedSystemClient._identifier_to_system.pop(str(path), None)
        if system is not None:
            with contextlib.suppress(Exception):
                system.stop()
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise IndexUnavailableError(
                f"cannot delete the damaged index at {path}: {exc.strerror or exc}; "
                "delete it by hand or choose another --home"
            ) from exc
        self._client = self._passages = self._articles = None


def _foreign_database(db: Path) -> bool:
    """Whether ``db`` is a readable SQLite database with tables, none of them Chroma's."""
    import sqlite3

    if not db.is_file() or db.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.Error:
        return False  # unreadable or damaged: Chroma's own error says so, and reset can fix it
    return bool(tables) and not tables & _CHROMA_TABLES
