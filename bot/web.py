"""Articles from URLs: a feed's entries or an article page, fetched through the safe Fetcher.

Entries that carry only a teaser get their article page read (when ``robots.txt``
allows it); if the page cannot be read the teaser is indexed instead, so nothing the
feed announced is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.text import one_line
from config import Settings
from config.settings import FetchSettings
from retrieval.feeds import (
    ContentError,
    FeedEntry,
    detect_kind,
    entry_article,
    page_article,
    parse_feed,
)
from retrieval.fetch import Fetcher, FetchError, FetchResult
from retrieval.models import Article, Skipped

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def make_fetcher(settings: Settings) -> Fetcher:
    """The Fetcher the settings describe."""
    return Fetcher(**fetch_limits(settings.fetch))


def fetch_limits(f: FetchSettings) -> dict[str, Any]:
    """The ``Fetcher`` arguments that ``[fetch]`` settings give."""
    return {
        "allow_private": f.allow_private_addresses,
        "timeout": f.timeout,
        "total_timeout": f.total_timeout,
        "max_bytes": f.max_bytes,
        "max_redirects": f.max_redirects,
        "per_host": f.per_host,
        "user_agent": f.user_agent,
    }


def reason(exc: BaseException, url: str) -> str:
    """An error's message without the URL it starts with (the caller shows the URL)."""
    text = one_line(str(exc))
    return text.removeprefix(f"{url}: ") or type(exc).__name__


@dataclass
class EntryArticles:
    """What a feed's entries gave: articles (or skips) and the page problems met."""

    items: list[Article | Skipped] = field(default_factory=list)
    page_notes: list[str] = field(default_factory=list)


class WebReader:
    """Turns URLs into articles; threads read article pages in parallel."""

    def __init__(self, fetcher: Fetcher, workers: int):
        self.fetcher = fetcher
        self.workers = max(1, workers)

    def fetch_feed(self, url: str, etag: str | None = None, last_modified: str | None = None):
        """The feed's HTTP answer (conditional when validators are given)."""
        return self.fetcher.get(url, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT)

    def read_urls(self, urls: Iterable[str]) -> list[Article | Skipped]:
        """Every article behind ``urls`` (feeds or pages); a URL that fails is one Skipped.

        ``robots.txt`` is asked first: the URL may be an article page.
        """
        out: list[Article | Skipped] = []
        for url in urls:
            try:
                if not self.fetcher.robots_allow(url):
                    out.append(Skipped(url, "robots.txt disallows it"))
                    continue
                result = self.fetcher.get(url, accept=FEED_ACCEPT)
            except FetchError as exc:
                out.append(Skipped(url, reason(exc, url)))
                continue
            out.extend(self.read_result(result))
        return out

    def read_result(self, result: FetchResult) -> list[Article | Skipped]:
        """The articles of one fetched URL, by what its content is."""
        url = result.url
        kind = detect_kind(result.content)
        if kind == "html":
            return [page_article(result.content, url)]
        try:
            parsed = parse_feed(result.content, url)
        except ContentError as exc:
            return [Skipped(url, reason(exc, url))]
        if not parsed.entries and not parsed.skipped:
            return [Skipped(url, "feed has no entries")]
        got = self.entry_articles(parsed.entries, parsed.title)
        return [*got.items, *parsed.skipped]

    def entry_articles(self, entries: list[FeedEntry], source: str | None) -> EntryArticles:
        """Articles for ``entries``, reading the pages of summary-only ones in parallel."""
        got = EntryArticles()
        teasers = [e for e in entries if e.summary_only]
        pages: dict[str, Article | Skipped] = {}
        if teasers:
            with ThreadPoolExecutor(
                min(self.workers, len(teasers)), thread_name_prefix="dateline-page"
            ) as pool:
                for entry, page in zip(teasers, pool.map(self.read_page, teasers), strict=True):
                    pages[entry.key] = page
        for entry in entries:
            page = pages.get(entry.key)
            if isinstance(page, Article):
                got.items.append(replace_source(page, source))
                continue
            if isinstance(page, Skipped):
                got.page_notes.append(f"{entry.link}: {page.reason}")
            got.items.append(entry_article(entry, source))
        return got

    def read_page(self, entry: FeedEntry) -> Article | Skipped:
        """The article page an entry links to, or a Skipped saying why it was not read."""
        url = entry.link or ""
        try:
            if not self.fetcher.robots_allow(url):
                return Skipped(url, "robots.txt disallows it")
            result = self.fetcher.get(url, accept=PAGE_ACCEPT)
        except FetchError as exc:
            return Skipped(url, reason(exc, url))
        return page_article(result.content, result.url, entry)


def replace_source(article: Article, source: str | None) -> Article:
    """``article`` with the feed's title as outlet when its page named none."""
    from dataclasses import replace

    return article if article.source or not source else replace(article, source=source)
