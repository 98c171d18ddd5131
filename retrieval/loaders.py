"""Read news articles from files and folders: plain text, markdown, HTML, JSON, JSONL, RSS/Atom.

``iter_articles`` yields an ``Article`` for every article found and a ``Skipped`` (with a
reason a user can act on) for every input that gives none; it never raises for a bad file.

Keys: a file holding one article is keyed by its absolute, resolved path. A file holding
several is keyed per record as ``{path}#{n}``, where ``n`` is the 1-based line number in a
JSONL file and the 1-based position of the record in a JSON array or of the entry in a feed.
Positions rather than URLs keep keys unique (a URL can repeat) and stable when the same file
is read again. A skipped JSONL line is reported as ``{path}:{lineno}``, a skipped JSON
record or feed entry as ``{path}#{n}``.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from retrieval.metadata import normalize_date, parse_markdown, parse_plain_text
from retrieval.models import Article, Skipped
from retrieval.textdecode import (
    SNIFF_BYTES,
    TextDecodeError,
    bom_encoding,
    decode_bytes,
    fix_text,
    guess_utf16,
    looks_binary,
)

# Formats that are read whole are refused above this size; JSONL is streamed and has no limit.
MAX_FILE_BYTES = 200 * 1024 * 1024

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
FEED_SUFFIXES = {".rss", ".atom", ".feed"}
XML_SUFFIXES = {".xml"}
SUPPORTED_SUFFIXES = (
    TEXT_SUFFIXES
    | MARKDOWN_SUFFIXES
    | HTML_SUFFIXES
    | JSON_SUFFIXES
    | JSONL_SUFFIXES
    | FEED_SUFFIXES
    | XML_SUFFIXES
)

_TEXT_KEYS = ("text", "content", "body")
_RECORD_FIELDS = {
    "title": ("title", "headline"),
    "url": ("url", "link"),
    "published": ("published", "date", "published_at", "publishedAt", "pubDate", "datePublished"),
    "source": ("source", "outlet", "publisher", "site_name"),
    "author": ("author", "authors", "byline"),
    "place": ("place", "location"),
}
_RECORD_LISTS = ("articles", "items", "data", "records", "entries", "results")
_HTML_HINT = re.compile(r"</(?:p|div|br|li|span|a|h[1-6])>|<br\s*/?>|<p[\s>]", re.I)
# Any tag at all: a one-line field (a feed's or an entry's title) is never meant to hold one.
_ANY_TAG = re.compile(r"</?[a-z][\w:-]*(?:\s[^<>]*)?/?>", re.I)


def iter_articles(paths: Iterable[str | os.PathLike]) -> Iterator[Article | Skipped]:
    """Yield the articles in ``paths`` (files or folders), and a ``Skipped`` for each input
    that gives no article.

    Folders are walked recursively in name order, skipping hidden entries and following
    symlinks without looping; a file reached twice is read once. Only KeyboardInterrupt
    (and other non-``Exception`` errors) escape.
    """
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for raw in paths:
        yield from _walk(Path(raw), seen_dirs, seen_files)


# ---------------------------------------------------------------------------------------------
# Walking


def _walk(path: Path, seen_dirs: set[str], seen_files: set[str]) -> Iterator[Article | Skipped]:
    shown = os.path.abspath(path)
    try:
        info = path.stat()
        resolved = str(path.resolve())
    except (OSError, RuntimeError) as exc:  # Path.resolve raises RuntimeError on a symlink loop
        yield Skipped(shown, _os_reason(exc))
        return
    if stat.S_ISDIR(info.st_mode):
        if resolved in seen_dirs:
            return  # a symlink loop, or a folder given twice
        seen_dirs.add(resolved)
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            yield Skipped(shown, _os_reason(exc))
            return
        for name in names:
            if not name.startswith("."):
                yield from _walk(path / name, seen_dirs, seen_files)
        return
    if not stat.S_ISREG(info.st_mode):
        yield Skipped(shown, "not a regular file")
        return
    if resolved in seen_files:
        return
    seen_files.add(resolved)
    try:
        target = Path(resolved)
        # A symlink is read as what it points to, unless the target's name has no extension.
        suffix = (target.suffix or path.suffix).lower()
        yield from _load(target, info.st_size, suffix)
    except Exception as exc:  # a bug in a parser must not stop the rest of the ingest
        yield Skipped(resolved, _exc_reason(exc))


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "cannot read: symlink loop"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return f"cannot read: {exc}"


def _exc_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return _os_reason(exc)
    if isinstance(exc, TextDecodeError):
        return exc.reason
    return f"cannot parse: {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# Dispatch


def _load(path: Path, size: int, suffix: str) -> Iterator[Article | Skipped]:
    """Read one regular file whose format is named by ``suffix`` (or sniffed when it has none)."""
    name = str(path)
    if suffix and suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(name, f"unsupported file type {suffix}")
        return
    if size == 0:
        yield Skipped(name, "empty file")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _load_jsonl(path)
        return
    if size > MAX_FILE_BYTES:
        mb = MAX_FILE_BYTES // (1024 * 1024)
        yield Skipped(name, f"file too large ({size // (1024 * 1024)} MB > {mb} MB)")
        return
    data = _read_bytes(path)
    if data.isspace():
        yield Skipped(name, "empty file")
        return
    if looks_binary(data):
        yield Skipped(name, "binary file")
        return
    kind = _kind(suffix, data)
    if kind in {"text", "markdown"}:
        text = decode_bytes(data)
        del data  # big files: keep one copy in memory, not two
        parse = parse_plain_text if kind == "text" else parse_markdown
        yield _single(name, *parse(text, name))
    elif kind == "html":
        yield _load_html(name, data)
    elif kind == "json":
        yield from _load_json(name, data)
    elif kind == "feed":
        yield from _load_feed(name, data)
    else:
        yield Skipped(name, "unsupported XML document (not an RSS or Atom feed)")


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _kind(suffix: str, data: bytes) -> str:
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in FEED_SUFFIXES:
        return "feed"
    sniffed = sniff(data)
    if suffix in XML_SUFFIXES:
        return sniffed if sniffed in {"feed", "html"} else "xml"
    return sniffed


def sniff(data: bytes) -> str:
    """Guess the format of a file from its first bytes: "feed", "html", "xml", "json" or
    "text"."""
    encoding, skip = bom_encoding(data)
    encoding = encoding or guess_utf16(data) or "utf-8"
    head = data[skip : skip + SNIFF_BYTES].decode(encoding, errors="ignore").lstrip().lower()
    if head.startswith("<"):
        # Skip the XML declaration, comments and doctype to reach the root element.
        body = re.sub(r"<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>", "", head, flags=re.S).lstrip()
        if head.startswith("<!doctype html") or body.startswith("<html"):
            return "html"
        root = re.match(r"<([\w:.-]+)", body)
        if root and root.group(1) in {"rss", "feed", "rdf:rdf", "rdf"}:
            return "feed"
        return "html" if re.search(r"<(?:body|p|div)[\s>]", head) else "xml"
    if head.startswith(("{", "[")):
        return "json"
    return "text"


def _single(path: str, text: str, fields: Mapping[str, str | None]) -> Article | Skipped:
    if not text.strip():
        return Skipped(path, "no article text found")
    return Article(text=text.strip(), key=path, path=path, **fields)


# ---------------------------------------------------------------------------------------------
# JSON and JSONL


def _load_json(path: str, data: bytes) -> Iterator[Article | Skipped]:
    text = decode_bytes(data, fix=False)
    try:
        doc = json.loads(text)
    except RecursionError:
        yield Skipped(path, "invalid JSON: nested too deeply")
        return
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several objects, one per line: JSON Lines in disguise
            yield from _jsonl_lines(path, io.StringIO(text))
        else:
            yield Skipped(path, f"invalid JSON: {exc.msg} (line {exc.lineno})")
        return
    records = doc
    if isinstance(doc, dict):
        lists = [doc[k] for k in _RECORD_LISTS if isinstance(doc.get(k), list)]
        if lists and not _record_text(doc):
            records = lists[0]
        else:
            yield _record(doc, path, path, path)
            return
    if not isinstance(records, list):
        yield Skipped(path, "JSON is not an object or a list of articles")
        return
    if not records:
        yield Skipped(path, "no articles in JSON file")
        return
    for n, record in enumerate(records, 1):
        yield _guarded(_record, f"{path}#{n}", record, f"{path}#{n}", path, f"{path}#{n}")


def _load_jsonl(path: Path) -> Iterator[Article | Skipped]:
    name = str(path)
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        bom, skip = bom_encoding(head)
        wide = bom if bom and not bom.startswith("utf-8") else guess_utf16(head)
        if wide is None and looks_binary(head):
            yield Skipped(name, "binary file")
            return
        handle.seek(skip if wide else 0)
        if wide:
            lines: Iterable = io.TextIOWrapper(handle, encoding=wide, errors="replace")
        else:
            lines = handle
        yield from _jsonl_lines(name, lines)


def _jsonl_lines(path: str, lines: Iterable[str | bytes]) -> Iterator[Article | Skipped]:
    empty = True
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        empty = False
        where = f"{path}:{lineno}"
        try:
            if isinstance(line, bytes):
                line = _decode_line(line, first=lineno == 1)
            record = json.loads(line)
        except TextDecodeError as exc:
            yield Skipped(where, f"{exc.reason} content on line {lineno}")
            continue
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"invalid JSON on line {lineno}: {exc.msg}")
            continue
        except RecursionError:  # one absurdly nested line must not cost the rest of the file
            yield Skipped(where, f"invalid JSON on line {lineno}: nested too deeply")
            continue
        yield _guarded(_record, where, record, f"{path}#{lineno}", path, where)
    if empty:
        yield Skipped(path, "empty file")


def _guarded(build, where: str, *args) -> Article | Skipped:
    """``build(*args)``, or a Skipped for ``where`` if it fails: one odd record must not cost
    the rest of its file."""
    try:
        return build(*args)
    except Exception as exc:
        return Skipped(where, _exc_reason(exc))


def _decode_line(line: bytes, first: bool) -> str:
    if first:
        line = line.removeprefix(b"\xef\xbb\xbf")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(line, fix=False)


def _record(record: object, key: str, path: str, where: str) -> Article | Skipped:
    """One JSON record as an Article; explicit record fields win over what the text implies."""
    if not isinstance(record, dict):
        return Skipped(where, "record is not a JSON object")
    text = _record_text(record)
    if not text:
        return Skipped(where, "no text field (text, content or body)")
    known = {field: _record_value(record, names, field) for field, names in _RECORD_FIELDS.items()}
    if _HTML_HINT.search(text):
        text = html_to_text(text)
    body, fields = parse_plain_text(fix_text(text), None, known=known)
    if not body:
        return Skipped(where, "no article text found")
    return Article(text=body, key=key, path=path, **fields)


def _record_text(record: Mapping) -> str | None:
    for name in _TEXT_KEYS:
        value = record.get(name)
        if isinstance(value, list):
            value = "\n\n".join(v for v in value if isinstance(v, str))
        if isinstance(value, str) and value.strip():
            return value
    return None


def _record_value(record: Mapping, names: tuple[str, ...], field: str) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, dict):  # e.g. NewsAPI's "source": {"id": ..., "name": ...}
            value = value.get("name") or value.get("title")
        if isinstance(value, list):
            value = ", ".join(str(v.get("name", "") if isinstance(v, dict) else v) for v in value)
        if value is None or value == "":
            continue
        if field == "published":
            published = normalize_date(value)
            if published:
                return published
            continue
        text = fix_text(str(value)).strip()
        if text:
            return re.sub(r"\s+", " ", text)
    return None


# ---------------------------------------------------------------------------------------------
# HTML

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


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: scripts and styles removed, block elements become
    paragraphs separated by blank lines."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml raises several types for garbage; the text is still worth keeping
        return re.sub(r"<[^>]+>", " ", html)
    return _element_text(root, drop=_NOISE_TAGS)


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


def _load_html(path: str, data: bytes) -> Article | Skipped:
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
    title = _clean(getattr(doc, "title", None))
    if text:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if title and lines and _same(lines[0], title):
            lines = lines[1:]
        text = "\n\n".join(lines)
    else:
        text = visible
    known = {
        "title": title,
        "author": _clean(getattr(doc, "author", None)),
        "source": _clean(getattr(doc, "sitename", None)),
        "url": _clean(getattr(doc, "url", None)),
        "published": published or normalize_date(getattr(doc, "date", None)),
    }
    body, fields = parse_plain_text(text, path, known=known)
    return _single(path, body, fields)


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


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = re.sub(r"\s+", " ", value).strip()
    return value or None


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


# ---------------------------------------------------------------------------------------------
# RSS and Atom feeds


def _load_feed(path: str, data: bytes) -> Iterator[Article | Skipped]:
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
    source = _clean(feed.get("title"))
    if source and _ANY_TAG.search(source):
        source = _clean(html_to_text(source))
    for n, entry in enumerate(entries, 1):
        yield _guarded(_feed_entry, f"{path}#{n}", entry, n, path, source)


def _feed_entry(entry: Mapping, n: int, path: str, source: str | None) -> Article | Skipped:
    key = f"{path}#{n}"
    text = _entry_text(entry)
    if not text:
        return Skipped(key, "feed entry has no text")
    title = _clean(entry.get("title"))
    if title and (
        entry.get("title_detail", {}).get("type") == "text/html" or _ANY_TAG.search(title)
    ):
        title = _clean(html_to_text(title))
    known = {
        "title": title,
        "url": _clean(entry.get("link")),
        "published": normalize_date(entry.get("published")) or normalize_date(entry.get("updated")),
        "author": _clean((entry.get("author_detail") or {}).get("name"))
        or _clean(entry.get("author")),
        "source": source,
    }
    body, fields = parse_plain_text(fix_text(text), None, known=known)
    if not body:
        return Skipped(key, "feed entry has no text")
    return Article(text=body, key=key, path=path, **fields)


def _entry_text(entry: Mapping) -> str:
    candidates = [(c.get("type", ""), c.get("value", "")) for c in entry.get("content", []) or []]
    summary = entry.get("summary_detail") or {}
    candidates.append((summary.get("type", ""), entry.get("summary", "")))
    best = ""
    for kind, value in candidates:
        if not value or not value.strip():
            continue
        text = html_to_text(value) if "html" in kind or _HTML_HINT.search(value) else value
        text = text.strip()
        if len(text) > len(best):
            best = text
    return best
