"""Ingestion: articles in, passages and vectors out, idempotent and crash-safe.

Each article is written in an order that a kill at any point can recover from:
its record is written ``pending`` first, then its passages (stable ids, upserted),
then stale passages are deleted and the record is marked ``complete``. A later run
deletes whatever is still ``pending`` and writes it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from retrieval.chunking import chunk_text
from retrieval.dedup import article_id, content_hash, jaccard, shingles
from retrieval.embeddings import Embedder
from retrieval.errors import IndexBusyError, IndexUnavailableError
from retrieval.index import Index
from retrieval.loaders import iter_articles
from retrieval.models import Article, ArticleRecord, Passage, Skipped
from retrieval.tokens import TokenCounter

_ENCODE_GROUP = 256
# Articles looked up in the index together (one Chroma read for their records, one for
# the records sharing their keys) before they are chunked.
_LOOKUP_GROUP = 64
# Articles whose mean passage vectors are this close are compared word by word.
_CANDIDATE_COSINE = 0.85


@dataclass
class Duplicate:
    """An article that was not indexed because the index already holds a copy."""

    key: str
    title: str | None
    of_id: str
    of_title: str | None
    similarity: float


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    passages: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    recovered: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the index changed."""
        return bool(self.added or self.updated or self.removed or self.recovered)

    def summary(self) -> str:
        """One paragraph for people."""
        parts = [
            f"{self.added} added",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{len(self.duplicates)} duplicates",
            f"{len(self.skipped)} skipped",
        ]
        if self.removed:
            parts.append(f"{self.removed} removed")
        text = ", ".join(parts) + f"; {self.passages} passages written in {self.seconds:.1f} s."
        if not self.changed:
            text += " Nothing changed: the index was already up to date."
        return text

    def to_json(self) -> dict:
        """A JSON-ready form."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "recovered": self.recovered,
            "passages": self.passages,
            "duplicates": [d.__dict__ for d in self.duplicates],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Work:
    article: Article
    id: str
    hash: str
    stale_ids: list[str]
    spans: list
    passages: list[Passage]
    embed_texts: list[str]
    existed: bool = False

    def release(self) -> _Work:
        """Drop the text, passages and spans once written; the run keeps only the ids."""
        self.article = _claim(self.article)
        self.spans, self.passages, self.embed_texts = [], [], []
        return self


def _claim(article: Article) -> Article:
    """What a run remembers of an article it has met: everything but the text, so that
    memory follows the encode group, not the corpus."""
    return replace(article, text="")


def _halves(batch: list[_Work]) -> list[list[_Work]]:
    """``batch`` cut in two at the first article boundary past half its passages."""
    total = sum(len(w.passages) for w in batch)
    seen, cut = 0, len(batch)
    for i, work in enumerate(batch):
        if seen >= total / 2:
            cut = i
            break
        seen += len(work.passages)
    return [part for part in (batch[:cut], batch[cut:]) if part]


def _yield_to_the_model() -> None:
    """Lower this thread's CPU priority (Linux: niceness is per thread).

    The writer thread then runs in the gaps the model leaves instead of taking a core
    from it; when the model waits for this thread (for the GIL), the cores are free and
    it runs at full speed.
    """
    import os
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def embedding_text(text: str, title: str | None) -> str:
    """What the model encodes for a passage: the article title gives it context.

    The passage text always comes last, so its offsets shift by a known amount.
    """
    return f"{title}. {text}" if title else text


class Ingestor:
    """Turns files into indexed passages. Cheap to build; the model loads when needed."""

    def __init__(
        self,
        store: Index,
        embedder: Embedder,
        tokens: TokenCounter,
        *,
        lock_path: Path,
        max_tokens: int = 200,
        overlap: int = 1,
        near_duplicate: float = 0.8,
        on_written: Callable[[list[Passage]], None] | None = None,
    ):
        self.store = store
        self.embedder = embedder
        self.tokens = tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.near_duplicate = near_duplicate
        # One ingest at a time per data directory (the index itself may be a server).
        self.lock_path = Path(lock_path)
        # Called on the writer thread with each group's passages once they are stored
        # (the service uses it to tokenize them for BM25 while the model is busy).
        self.on_written = on_written

    def lock(self):
        """The data directory's ingest lock (raises IndexBusyError when taken)."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.lock_path), timeout=0)
        folder = self.lock_path.parent
        if folder.exists() and not folder.is_dir():
            raise IndexUnavailableError(f"{folder} is not a directory; choose another --home")
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout as exc:
            raise IndexBusyError(
                f"another ingest is running on {folder}; wait for it to finish"
            ) from exc
        except OSError as exc:  # the home is a file, or not writable
            raise IndexUnavailableError(
                f"cannot lock {self.lock_path}: {exc.strerror or exc}; choose another --home"
            ) from exc
        return lock

    def ingest(
        self,
        paths: Iterable[str | Path],
        on_event: Callable[[str, str], None] | None = None,
    ) -> IngestReport:
        """Index every article under ``paths``; see IngestReport for what is counted.

        ``on_event(kind, detail)`` is called as work proceeds (kind: ``article``,
        ``skipped``, ``duplicate``), so an interface can show progress.
        """
        return self.ingest_items(iter_articles(paths), on_event)

    def ingest_items(
        self,
        items: Iterable[Article | Skipped],
        on_event: Callable[[str, str], None] | None = None,
    ) -> IngestReport:
        """Index already-read articles (``Skipped`` items are only reported)."""
        started = time.perf_counter()
        report = IngestReport()
        notify = on_event or (lambda kind, detail: None)
        lock = self.lock()
        try:
            # The generation changes before the first write, so a cache built while this
            # run is under way is stale afterwards even if the run is killed.
            previous = self.store.generation()
            self.store.bump_generation()
            report.recovered = self._recover()
            self._run(items, report, notify)
            if report.changed or report.passages:
                self.store.bump_generation()
            else:
                self.store.set_generation(previous)
        finally:
            lock.release()
        report.seconds = time.perf_counter() - started
        return report

    def _recover(self) -> int:
        pending = self.store.find_articles(status="pending")
        self.store.delete_articles([rec.id for rec in pending])
        return len(pending)

    def _lookup(
        self, articles: list[Article], ids: list[str]
    ) -> tuple[dict[str, ArticleRecord], dict[str, list[str]]]:
        """The stored records of these articles (``ids``, by id) and the ids stored under
        their keys."""
        existing = self.store.get_articles(ids)
        keys = list(dict.fromkeys(a.key for a in articles))
        by_key: dict[str, list[str]] = {}
        if keys:
            for rec in self.store.find_articles(keys=keys):
                by_key.setdefault(rec.key, []).append(rec.id)
        return existing, by_key

    def _prepare(
        self,
        article: Article,
        aid: str,
        report: IngestReport,
        claimed: dict[str, Article],
        known: tuple[dict[str, ArticleRecord], dict[str, list[str]]],
    ) -> _Work | None:
        """Decide what to do with one article; chunk it when it must be written.

        ``claimed`` maps each article id met so far in this run to the article holding it.
        An id belongs to one place: the same article under another file is a duplicate,
        while under another key of the same file (records added or removed above it in a
        JSONL file or feed) it has only moved. ``aid`` is the article's id and ``known``
        what ``_lookup`` found.
        """
        text = article.text
        h = content_hash(text)
        holder = claimed.get(aid)
        if holder is not None:
            report.duplicates.append(Duplicate(article.key, article.title, aid, holder.title, 1.0))
            return None
        existing = known[0].get(aid)
        if existing and existing.complete:
            same_hash = existing.content_hash == h
            if existing.key != article.key:
                if not article.path or existing.path != article.path:
                    report.duplicates.append(
                        Duplicate(article.key, article.title, aid, existing.title, 1.0)
                    )
                    return None
                if same_hash:
                    self.store.update_articles([aid], key=article.key)
            if same_hash:
                claimed[aid] = _claim(article)
                report.unchanged += 1
                return None
        stale = [i for i in known[1].get(article.key, []) if i != aid]
        spans = chunk_text(
            text, self.tokens.count_many, max_tokens=self.max_tokens, overlap=self.overlap
        )
        # A passage id names the article, the place and the version of the text, so a
        # changed article gets new passage ids and caches keyed by id never go stale.
        passages = [
            Passage(
                id=f"{aid}:{s.ordinal}:{h[:8]}",
                article_id=aid,
                ordinal=s.ordinal,
                start=s.start,
                end=s.end,
                text=text[s.start : s.end],
                title=article.title,
                source=article.source,
                published=article.published,
                url=article.url,
                path=article.path,
                place=article.place,
                author=article.author,
                sentences=s.sentences,
                key=article.key,
            )
            for s in spans
        ]
        if not passages:
            report.skipped.append(Skipped(article.key, "no sentences to index"))
            return None
        claimed[aid] = _claim(article)
        return _Work(
            article,
            aid,
            h,
            stale,
            spans,
            passages,
            [embedding_text(p.text, article.title) for p in passages],
            existed=existing is not None,
        )

    def _run(self, items, report: IngestReport, notify) -> None:
        # Articles are chunked and collected until a group is large enough, then encoded in
        # one call (the model sorts by length, so padding stays low). A single writer thread
        # stores the previous group in Chroma while the model encodes the next one, so the
        # index writes hide behind the model instead of adding to it. The write starts with
        # the encoding and is awaited before more articles are prepared: Chroma holds the
        # GIL while it writes, which would stall Python work on this thread but not the model.
        from concurrent.futures import ThreadPoolExecutor

        paths: set[str] = set()
        claimed: dict[str, Article] = {}
        written: list[_Work] = []
        batch: list[_Work] = []
        pending_texts = 0
        with ThreadPoolExecutor(
            1, thread_name_prefix="dateline-index-writer", initializer=_yield_to_the_model
        ) as writer:
            encoded_before = None

            def store(work: tuple | None):
                return self._store_batch(*work, report, notify, claimed) if work else []

            def flush(batch: list[_Work]):
                nonlocal encoded_before
                storing = writer.submit(store, encoded_before)
                encoded = (batch, self._encode(batch))
                written.extend(storing.result())
                encoded_before = encoded

            def prepare(group: list[Article | Skipped]):
                nonlocal batch, pending_texts
                articles = [a for a in group if not isinstance(a, Skipped)]
                ids = [article_id(a.text, a.url) for a in articles]
                known = self._lookup(articles, ids)
                next_id = iter(ids)
                for item in group:
                    if isinstance(item, Skipped):
                        report.skipped.append(item)
                        notify("skipped", f"{item.path}: {item.reason}")
                        continue
                    if item.path:
                        paths.add(item.path)
                    work = self._prepare(item, next(next_id), report, claimed, known)
                    notify("article", item.title or item.key)
                    if work is None:
                        continue
                    batch.append(work)
                    pending_texts += len(work.passages)
                    if pending_texts >= _ENCODE_GROUP:
                        flush(batch)
                        batch, pending_texts = [], 0

            group: list[Article | Skipped] = []
            for item in items:
                group.append(item)
                if len(group) >= _LOOKUP_GROUP:
                    prepare(group)
                    group = []
            prepare(group)
            # The last group's write cannot hide behind an encoding: halve the group so
            # that only the second half's write is left waiting at the end.
            for part in _halves(batch):
                flush(part)
            written.extend(store(encoded_before))
        swept = self._remove_missing_records(paths, claimed, report, written)
        for work in written:
            if work.existed or swept & set(work.stale_ids):
                report.updated += 1
            else:
                report.added += 1

    def _encode(self, batch: list[_Work]):
        """Passage and sentence vectors for every passage of the batch."""
        texts = [t for w in batch for t in w.embed_texts]
        spans = []
        for w in batch:
            shift = len(embedding_text("", w.article.title))
            spans.extend([[(a + shift, b + shift) for a, b in p.sentences] for p in w.passages])
        return self.embedder.encode_passages(texts, spans)

    def _store_batch(
        self, batch: list[_Work], encoded, report: IngestReport, notify, claimed
    ) -> list[_Work]:
        """Write an encoded batch (skipping near-duplicates); returns the written work."""
        vectors, sentence_vectors = encoded
        parts, offset = [], 0
        for work in batch:
            end = offset + len(work.passages)
            parts.append((work, vectors[offset:end], sentence_vectors[offset:end]))
            offset = end
        means = np.stack([vecs.mean(axis=0) for _, vecs, _ in parts])
        means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-12)
        nearest = self.store.nearest_articles(means, n=3)
        kept, seen = [], []
        for (work, vecs, svecs), mean, near in zip(parts, means, nearest, strict=True):
            mine = shingles(work.article.text)
            dup = self._near_duplicate(work, mean, mine, seen, near, claimed)
            if dup is not None:
                claimed.pop(work.id, None)
                report.duplicates.append(dup)
                notify("duplicate", f"{work.article.key} copies {dup.of_title or dup.of_id}")
                continue
            seen.append((work, mean, mine))
            kept.append((work, vecs, svecs, mean))
        self._write_articles(kept)
        stored = [p for work, *_ in kept for p in work.passages]
        report.passages += len(stored)
        if self.on_written is not None and stored:
            self.on_written(stored)
        return [work.release() for work, *_ in kept]

    def _near_duplicate(
        self, work: _Work, mean, mine: set[int], seen, near, claimed
    ) -> Duplicate | None:
        """A copy of ``work`` already indexed or written earlier in this batch, if any.

        Candidates are articles whose mean passage vector is close (cosine >= 0.85):
        those of ``seen`` (kept earlier in this batch) and ``near`` (the nearest stored
        articles); a candidate is a copy when the two texts' word 5-gram Jaccard reaches
        the configured threshold.
        """
        candidates: list[tuple[str, str | None, str | None, set[int]]] = [
            (w.id, w.article.key, w.article.title, sh)
            for w, vec, sh in seen
            if float(vec @ mean) >= _CANDIDATE_COSINE
        ]
        for rec, sim in near:
            if sim < _CANDIDATE_COSINE or rec.id == work.id or rec.id in work.stale_ids:
                continue
            if work.article.path and rec.path == work.article.path:
                if rec.id not in claimed:
                    continue  # an earlier version of a record of this file, about to go
            candidates.append((rec.id, rec.key, rec.title, shingles(rec.text or "")))
        for cid, ckey, ctitle, other in candidates:
            if ckey == work.article.key or cid == work.id:
                continue
            sim = jaccard(mine, other)
            if sim >= self.near_duplicate:
                return Duplicate(work.article.key, work.article.title, cid, ctitle, round(sim, 3))
        return None

    def _write_articles(self, kept: list) -> None:
        """Write a batch of articles in the order a kill can recover from.

        Records go in ``pending``, then every passage, then old passages of changed
        articles are deleted and the records marked ``complete``: one Chroma call per
        step for the whole batch, since each call has a fixed cost far above its rows'.
        """
        if not kept:
            return
        records = []
        for work, *_ in kept:
            a = work.article
            records.append(
                ArticleRecord(
                    id=work.id,
                    key=a.key,
                    path=a.path,
                    title=a.title,
                    source=a.source,
                    published=a.published,
                    place=a.place,
                    url=a.url,
                    author=a.author,
                    content_hash=work.hash,
                    passages=len(work.passages),
                    status="pending",
                    ingested_at=time.time(),
                    text=a.text,
                )
            )
        self.store.put_articles(records, np.stack([mean for *_, mean in kept]))
        self.store.upsert_passages(
            [p for work, *_ in kept for p in work.passages],
            np.concatenate([vecs for _, vecs, _, _ in kept]),
            [s for _, _, svecs, _ in kept for s in svecs],
            [work.hash for work, *_ in kept for _ in work.passages],
        )
        for work, *_ in kept:
            # Only an article stored before can have passages of another version (a record
            # left half-written by a crash was deleted by _recover before this run wrote).
            if work.existed:
                self.store.delete_passages(work.id, keep_hash=work.hash)
        self.store.update_articles([work.id for work, *_ in kept], status="complete")
        # Records from files are swept once the whole file has been read.
        self.store.delete_articles(
            [old for work, *_ in kept if not work.article.path for old in work.stale_ids]
        )

    def _remove_missing_records(
        self,
        paths: set[str],
        claimed: dict[str, Article],
        report: IngestReport,
        written: list[_Work],
    ) -> set[str]:
        """Delete the records of files read in this run that no longer hold them.

        That is an earlier version of a changed file, or an entry gone from a re-read
        JSONL file or feed. Returns the ids deleted; those that a written article replaced
        (same key) count as updates, the rest as removals.
        """
        replaced = {sid for w in written for sid in w.stale_ids}
        swept: list[str] = []
        ordered = sorted(paths)
        for i in range(0, len(ordered), _LOOKUP_GROUP):
            chunk = ordered[i : i + _LOOKUP_GROUP]
            for rec in self.store.find_articles(paths=chunk):
                holder = claimed.get(rec.id)
                if holder is not None and holder.path == rec.path:
                    continue
                swept.append(rec.id)
                if rec.id not in replaced:
                    report.removed += 1
        self.store.delete_articles(swept)
        return set(swept)
