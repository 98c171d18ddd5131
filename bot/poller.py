"""The feed poller: fetch each feed when it is due, index what is new or changed.

State per feed (validators, when it is due, failures, the fingerprint of every entry
seen) lives in ``feeds-state.json`` in the data directory and is written only after the
poll's ingest has completed, so a poller killed at any moment leaves the previous state:
the next poll fetches again (no 304) and the ingest, idempotent and crash-safe, completes
what was cut short without duplicates.

Scheduling: a feed is due ``every`` seconds after its last poll, with +-``jitter`` so that
feeds added together spread out; after an error it waits ``every * 2**failures`` (at most
``max_backoff``). Conditional requests make an unchanged feed cost one 304.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.feeds import Feed, FeedStore, parse_duration
from bot.web import WebReader, make_fetcher, reason
from config import Settings
from retrieval.dedup import article_id
from retrieval.errors import RetrievalError
from retrieval.feeds import ContentError, parse_feed
from retrieval.fetch import FetchError
from retrieval.models import Article, Skipped

log = logging.getLogger(__name__)


@dataclass
class FeedResult:
    """How one feed's poll went; ``error`` is None when the feed answered."""

    url: str
    error: str | None = None
    not_modified: bool = False
    entries: int = 0
    changed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the feed answered with a feed (or a 304)."""
        return self.error is None

    def line(self) -> str:
        """One line for people."""
        if self.error:
            return f"{self.url}: {self.error}"
        if self.not_modified:
            return f"{self.url}: not modified"
        return f"{self.url}: {self.entries} entries, {self.changed} new or changed"


@dataclass
class PollReport:
    """One poll of some feeds."""

    results: list[FeedResult] = field(default_factory=list)
    new_articles: list[Article] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> list[FeedResult]:
        """The feeds that did not answer."""
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{len(self.results)} feeds polled, {len(self.failed)} failed; "
            f"{self.added} articles added, {self.updated} updated, "
            f"{self.duplicates} duplicates in {self.seconds:.1f} s"
        )


class PollState:
    """``feeds-state.json``: what the poller remembers about each feed."""

    def __init__(self, home: Path):
        self.path = Path(home) / "feeds-state.json"

    def load(self) -> dict[str, dict]:
        """The state of every feed polled so far (empty when none or unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, state: dict[str, dict]) -> None:
        """Replace the file atomically (a kill leaves the old or the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def feed_store(settings: Settings) -> FeedStore:
    """The followed feeds of the settings' data directory."""
    return FeedStore(
        settings.home, settings.feeds.urls, default_every=parse_duration(settings.feeds.every)
    )


@dataclass
class _Fetched:
    feed: Feed
    result: FeedResult
    items: list[Article | Skipped] = field(default_factory=list)
    new_state: dict | None = None


class Poller:
    """Polls the followed feeds of one data directory into its index.

    ``service`` needs ``ingest_articles(items)`` and ``store``; ``clock`` and ``rng`` are
    seams for tests. ``on_new(articles)`` is called with the articles each poll added.
    """

    def __init__(
        self,
        service,
        settings: Settings,
        *,
        reader: WebReader | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_new: Callable[[list[Article]], None] | None = None,
    ):
        self.service = service
        self.settings = settings
        self.feeds = feed_store(settings)
        self.state = PollState(settings.home)
        self._reader = reader
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_new = on_new
        self.jitter = settings.feeds.jitter
        self.max_backoff = parse_duration(settings.feeds.max_backoff)
        self.workers = settings.feeds.workers

    @property
    def reader(self) -> WebReader:
        """The URL reader (its HTTP client is built on first use)."""
        if self._reader is None:
            self._reader = WebReader(make_fetcher(self.settings), self.workers)
        return self._reader

    # -- scheduling ------------------------------------------------------------------

    def due(self, now: float | None = None) -> list[Feed]:
        """The feeds whose next poll time has come."""
        now = self.clock() if now is None else now
        state = self.state.load()
        return [f for f in self.feeds.list() if state.get(f.url, {}).get("next_due", 0) <= now]

    def next_due(self) -> float | None:
        """When the next feed is due (None when no feed is followed)."""
        state = self.state.load()
        times = [state.get(f.url, {}).get("next_due", 0) for f in self.feeds.list()]
        return min(times) if times else None

    def _after(self, feed: Feed, failures: int, now: float) -> float:
        if failures:
            return now + min(feed.every * 2 ** (failures - 1), self.max_backoff)
        spread = feed.every * self.jitter
        return now + feed.every + self.rng.uniform(-spread, spread)

    # -- one poll --------------------------------------------------------------------

    def poll(self, feeds: list[Feed] | None = None) -> PollReport:
        """Poll ``feeds`` (default: every followed feed) once and index what changed."""
        from filelock import FileLock

        started = time.perf_counter()
        feeds = self.feeds.list() if feeds is None else feeds
        report = PollReport()
        if not feeds:
            return report
        Path(self.settings.home).mkdir(parents=True, exist_ok=True)
        with FileLock(str(Path(self.settings.home) / "poll.lock"), timeout=600):
            state = self.state.load()
            with ThreadPoolExecutor(
                min(self.workers, len(feeds)), thread_name_prefix="dateline-feed"
            ) as pool:
                fetched = list(pool.map(lambda f: self._fetch(f, state.get(f.url, {})), feeds))
            self._ingest(fetched, report)
            now = self.clock()
            state = self.state.load()  # another process may have added feeds meanwhile
            for item in fetched:
                previous = state.get(item.feed.url, {})
                if item.result.ok and item.new_state is not None:
                    new = {**item.new_state, "failures": 0, "last_error": None}
                else:
                    new = {**previous, "failures": previous.get("failures", 0) + 1}
                    new["last_error"] = item.result.error
                new["last_poll"] = now
                new["next_due"] = self._after(item.feed, new["failures"], now)
                state[item.feed.url] = new
            self.state.save(state)
        report.results = [item.result for item in fetched]
        report.seconds = time.perf_counter() - started
        if report.new_articles and self.on_new is not None:
            try:
                self.on_new(report.new_articles)
            except Exception:
                log.exception("announcing new articles failed")
        return report

    def _fetch(self, feed: Feed, previous: dict) -> _Fetched:
        """Fetch and parse one feed; the articles of new or changed entries."""
        result = FeedResult(feed.url)
        out = _Fetched(feed, result)
        try:
            answer = self.reader.fetch_feed(
                feed.url, previous.get("etag"), previous.get("last_modified")
            )
        except FetchError as exc:
            result.error = reason(exc, feed.url)
            return out
        except Exception as exc:  # a bug must cost one feed, not the poll
            log.exception("fetching %s failed", feed.url)
            result.error = f"unexpected error ({type(exc).__name__})"
            return out
        if answer.not_modified:
            result.not_modified = True
            out.new_state = dict(previous)
            return out
        try:
            parsed = parse_feed(answer.content, feed.url)
        except ContentError as exc:
            result.error = reason(exc, feed.url)
            return out
        seen = previous.get("seen", {})
        changed = [e for e in parsed.entries if seen.get(e.key) != e.fingerprint]
        result.entries = len(parsed.entries)
        result.changed = len(changed)
        got = self.reader.entry_articles(changed, parsed.title)
        out.items = got.items
        result.notes = got.page_notes
        out.new_state = {
            "etag": answer.etag,
            "last_modified": answer.last_modified,
            "seen": {e.key: e.fingerprint for e in parsed.entries},
        }
        return out

    def _ingest(self, fetched: list[_Fetched], report: PollReport) -> None:
        articles = [a for f in fetched for a in f.items if isinstance(a, Article)]
        if not articles:
            return
        ids = list(dict.fromkeys(article_id(a.text, a.url) for a in articles))
        try:
            before = set(self.service.store.get_articles(ids))
            ingest = self.service.ingest_articles([a for f in fetched for a in f.items])
            after = self.service.store.get_articles(ids)
        except RetrievalError as exc:
            for item in fetched:
                if item.items:  # retried at the next poll: the state is not advanced
                    item.result.error = f"not indexed: {exc}"
                    item.new_state = None
            return
        report.added += ingest.added
        report.updated += ingest.updated
        report.duplicates += len(ingest.duplicates)
        fresh = {aid for aid, rec in after.items() if aid not in before and rec.complete}
        for article in articles:
            aid = article_id(article.text, article.url)
            if aid in fresh:
                fresh.discard(aid)
                report.new_articles.append(article)

    # -- forever ---------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        on_report: Callable[[PollReport], None] | None = None,
        *,
        idle: float = 30.0,
    ) -> None:
        """Poll due feeds until ``stop`` is set; checks for added feeds every ``idle`` s."""
        while not stop.is_set():
            try:
                due = self.due()
                if due:
                    report = self.poll(due)
                    if on_report is not None:
                        on_report(report)
            except Exception:
                log.exception("feed poll failed")
            upcoming = self.next_due()
            wait = idle if upcoming is None else min(idle, max(0.5, upcoming - self.clock()))
            stop.wait(wait)
