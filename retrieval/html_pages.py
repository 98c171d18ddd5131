"""HTML: article pages (main text and metadata with trafilatura), fragments to plain text,
and one-line fields (titles, names) that may carry markup."""

from __future__ import annotations

import re

from retrieval.dates import normalize_date
from retrieval.metadata import parse_plain_text
from retrieval.models import Article, Skipped, file_article
from retrieval.textdecode import SNIFF_BYTES, decode_bytes
from retrieval.titles import same_title

_NOISE_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button")
_CHROME_TAGS = ("nav", "header", "footer", "aside", "menu")
_BLOCK_TAGS = (
    "p",
    "div",
    "section",
    "article",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "table",
    "figure",
    "figcaption",
    "dd",
    "dt",
    "main",
    "header",
    "footer",
    "address",
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
)
_HTML_HINT = re.compile(r"</(?:p|div|br|li|span|a|h[1-6])>|<br\s*/?>|<p[\s>]", re.I)
# Any tag at all: a one-line field (a feed's or an entry's title) is never meant to hold one.
_ANY_TAG = re.compile(r"</?[a-z][\w:-]*(?:\s[^<>]*)?/?>", re.I)


def holds_html(text: str) -> bool:
    """Whether ``text`` (a record's or an entry's body) is HTML rather than plain text."""
    return bool(_HTML_HINT.search(text))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: scripts and styles removed, block elements become
    paragraphs separated by blank lines."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises several types for garbage; the text is still worth keeping
        return re.sub(r"<[^>]+>", " ", html)
    return _element_text(root, drop=_NOISE_TAGS)


def one_line(value: object) -> str | None:
    """``value`` with its whitespace squashed to single spaces; None if it is not a string or
    holds nothing."""
    if not isinstance(value, str):
        return None
    value = re.sub(r"\s+", " ", value).strip()
    return value or None


def plain_line(value: object, html: bool = False) -> str | None:
    """A one-line field as plain text: like ``one_line``, with markup removed when it has a
    tag (or always, when ``html`` says the field is HTML)."""
    line = one_line(value)
    if line and (html or _ANY_TAG.search(line)):
        line = one_line(html_to_text(line))
    return line


def html_article(path: str, data: bytes) -> Article | Skipped:
    """The article of an HTML page: its main text and metadata, keyed by ``path``."""
    import lxml.html
    import trafilatura
    from trafilatura.settings import set_date_params

    charset = _META_CHARSET.search(data[:SNIFF_BYTES])
    html = decode_bytes(data, hint=charset.group(1).decode("ascii") if charset else None)
    # lxml refuses str input that declares an encoding; the text is decoded already.
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception:
        return Skipped(path, "no article text found")
    published = _html_published(tree)
    visible = _element_text(tree, drop=_NOISE_TAGS + _CHROME_TAGS)
    if not visible:
        return Skipped(path, "no article text found")
    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=set_date_params(extensive=False),
    )
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    title = one_line(getattr(doc, "title", None))
    if text:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if title and lines and same_title(lines[0], title):
            lines = lines[1:]
        text = "\n\n".join(lines)
    else:
        text = visible
    known = {
        "title": title,
        "author": one_line(getattr(doc, "author", None)),
        "source": one_line(getattr(doc, "sitename", None)),
        "url": one_line(getattr(doc, "url", None)),
        "published": published or normalize_date(getattr(doc, "date", None)),
    }
    body, fields = parse_plain_text(text, path, known=known)
    return file_article(path, body, fields)


def _element_text(root, drop: tuple[str, ...]) -> str:
    for element in root.iter(*drop):
        element.drop_tree()
    for element in root.iter("br"):
        element.tail = "\n" + (element.tail or "")
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = "\n\n" + (element.tail or "")
        if element.text:
            element.text = "\n\n" + element.text
        else:
            element.text = "\n\n"
    text = root.text_content()
    text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _html_published(tree) -> str | None:
    """A publication datetime from meta tags or a ``<time>`` element, keeping its time of day."""
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name in _PUBLISHED_META:
            published = normalize_date(meta.get("content"))
            if published:
                return published
    for element in tree.iter("time"):
        if element.get("itemprop", "").lower() == "datepublished" or element.get("pubdate"):
            published = normalize_date(element.get("datetime"))
            if published:
                return published
    return None
