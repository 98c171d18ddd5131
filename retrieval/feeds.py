"""Feeds and article pages read from the web: what a response is, its entries, their identity.

A response is told apart by its content, not its URL: RSS, Atom (feedparser), JSON Feed
(``https://jsonfeed.org/version/1*``) or an HTML article page (trafilatura, as for
``.html`` files). An article's identity is its canonical URL: tracking parameters
(``utm_*``, ``fbclid`` and the rest of courlan's list) and fragments removed, host
lower-cased, query sorted, and a page's ``<link rel=canonical>`` where it has one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit, urlunsplit

from retrieval.errors import RetrievalError
from retrieval.feed_files import entry_author, entry_published, entry_text
from retrieval.formats import sniff
from retrieval.html_pages import html_article, one_line, plain_line
from retrieval.metadata import parse_plain_text
from retrieval.models import Article, Skipped
from retrieval.textdecode import decode_bytes, fix_text, looks_binary

# An entry without full content and with fewer words than this is a teaser: the article
# page is fetched for the text.
SUMMARY_WORDS = 120
_CANONICAL = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical[\"']?[^>]*>", re.I | re.S)
_HREF = re.compile(rb"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


class ContentError(RetrievalError):
    """A response that holds no feed or article (HTML error page, binary, invalid XML)."""

    exit_code = 1


def canonical_url(url: str) -> str:
    """``url`` without tracking parameters or fragment, host lower-cased, query sorted."""
    from courlan import normalize_url

    url = url.strip()
    try:
        normalized = normalize_url(url)
    except Exception:  # courlan raises ValueError (and others) for odd URLs; keep them as given
        return url
    parts = urlsplit(normalized)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, with its text already plain."""

    key: str
    link: str | None
    title: str | None
    published: str | None
    author: str | None
    text: str
    has_content: bool
    fingerprint: str

    @property
    def summary_only(self) -> bool:
        """Whether the entry carries only a teaser, so its page should be read instead."""
        return bool(self.link) and not self.has_content and len(self.text.split()) < SUMMARY_WORDS


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title and its entries, in feed order (an entry without text is dropped)."""

    title: str | None
    entries: list[FeedEntry]
    skipped: list[Skipped]


def detect_kind(data: bytes) -> str:
    """What a response holds: "feed" (RSS/Atom), "jsonfeed", "html", "binary" or "other"."""
    if not data.strip():
        return "other"
    if looks_binary(data):
        return "binary"
    kind = sniff(data)
    if kind == "feed":
        return "feed"
    if kind == "json":
        try:
            doc = json.loads(decode_bytes(data, fix=False))
        except (ValueError, RecursionError):
            return "other"
        if isinstance(doc, dict) and str(doc.get("version", "")).startswith(
            "https://jsonfeed.org/version/"
        ):
            return "jsonfeed"
        return "other"
    if kind == "html":
        return "html"
    if kind == "xml" and re.search(rb"<(?:rss|feed|rdf:RDF)[\s>]", data[:4096]):
        return "feed"
    return "other" if kind != "text" else "other"


def parse_feed(data: bytes, url: str) -> ParsedFeed:
    """The entries of an RSS, Atom or JSON Feed document; raises ContentError otherwise."""
    kind = detect_kind(data)
    problem = None
    if kind == "jsonfeed":
        title, raw = _json_feed(data)
    elif kind == "feed":
        title, raw, problem = _xml_feed(data, url)
    elif kind == "html":
        raise ContentError(f"{url}: an HTML page, not a feed")
    elif kind == "binary":
        raise ContentError(f"{url}: binary content, not a feed")
    else:
        raise ContentError(f"{url}: not an RSS, Atom or JSON feed")
    entries, skipped = [], []
    for n, item in enumerate(raw, 1):
        try:
            entry = _entry(item, url, n)
        except Exception as exc:  # one odd entry must not cost the feed
            skipped.append(Skipped(f"{url}#{n}", f"cannot parse entry: {type(exc).__name__}"))
            continue
        if entry is None:
            skipped.append(Skipped(f"{url}#{n}", "feed entry has no text"))
        else:
            entries.append(entry)
    if problem and not entries:  # what the lenient parser recovered holds nothing usable
        raise ContentError(f"{url}: invalid XML ({problem})")
    return ParsedFeed(title, entries, skipped)


def _xml_feed(data: bytes, url: str) -> tuple[str | None, list[Mapping], str | None]:
    """Title, raw entries and, for a document that is not well-formed, the parser's
    complaint (feedparser still recovers what it can)."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": url})
    feed = parsed.get("feed", {})
    entries = parsed.get("entries", [])
    problem = None
    if parsed.get("bozo"):
        problem = " ".join(str(parsed.get("bozo_exception")).split())
        if not entries:
            raise ContentError(f"{url}: invalid XML ({problem})")
    return plain_line(feed.get("title")), entries, problem


def _json_feed(data: bytes) -> tuple[str | None, list[Mapping]]:
    doc = json.loads(decode_bytes(data, fix=False))
    items = doc.get("items") if isinstance(doc.get("items"), list) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        content = []
        if isinstance(item.get("content_html"), str):
            content.append({"type": "text/html", "value": item["content_html"]})
        if isinstance(item.get("content_text"), str):
            content.append({"type": "text/plain", "value": item["content_text"]})
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = next((a.get("name") for a in authors if isinstance(a, dict)), None)
        out.append(
            {
                "title": item.get("title"),
                "link": item.get("url") or item.get("external_url"),
                "id": item.get("id"),
                "content": content,
                "summary": item.get("summary") or "",
                "summary_detail": {"type": "text/plain"},
                "published": item.get("date_published"),
                "updated": item.get("date_modified"),
                "author": author,
            }
        )
    return one_line(doc.get("title")), out


def _entry(item: Mapping, feed_url: str, n: int) -> FeedEntry | None:
    link = one_line(item.get("link"))
    if link:
        link = urljoin(feed_url, link)
        if urlsplit(link).scheme.lower() not in ("http", "https"):
            link = None
    link = canonical_url(link) if link else None
    text = fix_text(entry_text(item)).strip()
    title = plain_line(item.get("title"))
    if not text and not link:
        return None
    published = entry_published(item)
    author = entry_author(item)
    guid = one_line(item.get("id"))
    key = link or f"{feed_url}#{guid or n}"
    basis = json.dumps([key, title, published, text], ensure_ascii=False)
    return FeedEntry(
        key=key,
        link=link,
        title=title,
        published=published,
        author=author,
        text=text,
        has_content=any((c.get("value") or "").strip() for c in item.get("content") or []),
        fingerprint=hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16],
    )


def entry_article(entry: FeedEntry, source: str | None) -> Article | Skipped:
    """The article an entry carries in the feed itself."""
    known = {
        "title": entry.title,
        "url": entry.link,
        "published": entry.published,
        "author": entry.author,
        "source": source,
    }
    body, fields = parse_plain_text(entry.text, None, known=known)
    if not body:
        return Skipped(entry.key, "feed entry has no text")
    return Article(text=body, key=entry.link or entry.key, **fields)


def page_canonical(data: bytes, url: str) -> str:
    """The page's canonical URL: its ``<link rel=canonical>`` (when http(s)), else ``url``;
    either way canonicalized."""
    match = _CANONICAL.search(data[:262144])
    if match:
        href = _HREF.search(match.group(0))
        if href:
            raw = next(g for g in href.groups() if g is not None)
            target = urljoin(url, raw.decode("utf-8", errors="replace").strip())
            if urlsplit(target).scheme.lower() in ("http", "https"):
                return canonical_url(target)
    return canonical_url(url)


def page_article(data: bytes, url: str, entry: FeedEntry | None = None) -> Article | Skipped:
    """The article of an HTML page fetched from ``url`` (main text with trafilatura).

    The entry that linked to it, if any, fills the fields the page lacks.
    """
    kind = detect_kind(data)
    if kind != "html":
        what = {"binary": "binary content", "feed": "a feed"}.get(kind, "not an HTML page")
        return Skipped(url, f"{what}, not an article page")
    canonical = page_canonical(data, url)
    article = html_article(canonical, data)
    if isinstance(article, Skipped):
        return Skipped(url, article.reason)
    fields = {"key": canonical, "path": None, "url": canonical}
    if entry is not None:
        fields["title"] = entry.title or article.title
        fields["published"] = entry.published or article.published
        fields["author"] = article.author or entry.author
    return replace(article, **fields)
