"""RSS and Atom files (feedparser): one article per entry, keyed ``{path}#{n}`` by the
entry's 1-based position; the feed's title is each entry's source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from retrieval.dates import normalize_date
from retrieval.html_pages import holds_html, html_to_text, one_line, plain_line
from retrieval.metadata import parse_plain_text
from retrieval.models import Article, Skipped
from retrieval.skip_reasons import guarded
from retrieval.textdecode import fix_text


def read_feed(path: str, data: bytes) -> Iterator[Article | Skipped]:
    """The entries of an RSS or Atom document as articles."""
    import feedparser

    parsed = feedparser.parse(data)
    feed = parsed.get("feed", {})
    entries = parsed.get("entries", [])
    if not entries:
        if parsed.get("bozo") and not feed:
            reason = parsed.get("bozo_exception")
            yield Skipped(path, f"cannot parse feed: {reason}")
        else:
            yield Skipped(path, "feed has no entries")
        return
    source = plain_line(feed.get("title"))
    for n, entry in enumerate(entries, 1):
        yield guarded(_feed_entry, f"{path}#{n}", entry, n, path, source)


def entry_text(entry: Mapping) -> str:
    """The longest of an entry's contents and summary, as plain text."""
    candidates = [(c.get("type", ""), c.get("value", "")) for c in entry.get("content", []) or []]
    summary = entry.get("summary_detail") or {}
    candidates.append((summary.get("type", ""), entry.get("summary", "")))
    best = ""
    for kind, value in candidates:
        if not value or not value.strip():
            continue
        text = html_to_text(value) if "html" in kind or holds_html(value) else value
        text = text.strip()
        if len(text) > len(best):
            best = text
    return best


def entry_published(entry: Mapping) -> str | None:
    """An entry's publication date, or its update date when it has none."""
    return normalize_date(entry.get("published")) or normalize_date(entry.get("updated"))


def entry_author(entry: Mapping) -> str | None:
    """An entry's author's name."""
    return one_line((entry.get("author_detail") or {}).get("name")) or one_line(entry.get("author"))


def _feed_entry(entry: Mapping, n: int, path: str, source: str | None) -> Article | Skipped:
    key = f"{path}#{n}"
    text = entry_text(entry)
    if not text:
        return Skipped(key, "feed entry has no text")
    title_is_html = entry.get("title_detail", {}).get("type") == "text/html"
    known = {
        "title": plain_line(entry.get("title"), html=title_is_html),
        "url": one_line(entry.get("link")),
        "published": entry_published(entry),
        "author": entry_author(entry),
        "source": source,
    }
    body, fields = parse_plain_text(fix_text(text), None, known=known)
    if not body:
        return Skipped(key, "feed entry has no text")
    return Article(text=body, key=key, path=path, **fields)
