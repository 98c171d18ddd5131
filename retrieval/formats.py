"""The file formats Dateline reads, each declared once: suffixes, content sniffing, reader.

``retrieval.loaders`` walks folders and hands each file to the reader its format names;
the CLI's help and Discord's ``/ingest`` list the formats from here. A new format is one
more ``Format`` in ``FORMATS`` (with its reader, here or in a module of its own).

A file whose suffix names no format is skipped; a file without a suffix is sniffed: the
first format in ``FORMATS`` whose ``sniff`` accepts the file's first bytes reads it, and
plain text reads the rest.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from retrieval.models import Article, Skipped
from retrieval.textdecode import SNIFF_BYTES, bom_encoding, guess_utf16

Items = Iterable[Article | Skipped]


@dataclass(frozen=True)
class Head:
    """The start of a file as sniffing sees it: ``text`` is decoded, lower-cased and without
    leading space; ``markup`` is that text past any XML declaration, comments and doctype
    (None unless the text starts with ``<``), and ``root`` the first element's name."""

    data: bytes
    text: str
    markup: str | None
    root: str | None


@dataclass(frozen=True)
class Format:
    """One file format.

    ``read(name, data)`` gives the articles of a whole file; ``read_lines(name, handle)``,
    when set, reads a file as it streams instead (no size limit). ``binary`` formats are
    not refused for content that looks binary. ``label`` names the format in help texts.
    """

    name: str
    label: str
    suffixes: tuple[str, ...]
    read: Callable[[str, bytes], Items]
    sniff: Callable[[Head], bool] | None = None
    binary: bool = False
    read_lines: Callable[[str, BinaryIO], Items] | None = None


_FEED_ROOTS = ("rss", "feed", "rdf:rdf", "rdf")
_HTML_BODY = re.compile(r"<(?:body|p|div)[\s>]")


# The readers import their modules when first called, so that importing this registry (for
# the CLI's help) stays cheap.


def _read_text(name: str, data: bytes) -> Iterator[Article | Skipped]:
    from retrieval.metadata import parse_plain_text
    from retrieval.models import file_article
    from retrieval.textdecode import decode_bytes

    yield file_article(name, *parse_plain_text(decode_bytes(data), name))


def _read_markdown(name: str, data: bytes) -> Iterator[Article | Skipped]:
    from retrieval.markdown_text import parse_markdown
    from retrieval.models import file_article
    from retrieval.textdecode import decode_bytes

    yield file_article(name, *parse_markdown(decode_bytes(data), name))


def _read_html(name: str, data: bytes) -> Iterator[Article | Skipped]:
    from retrieval.html_pages import html_article

    yield html_article(name, data)


def _read_json(name: str, data: bytes) -> Items:
    from retrieval.json_records import read_json

    return read_json(name, data)


def _read_jsonl(name: str, handle: BinaryIO) -> Items:
    from retrieval.json_records import read_jsonl

    return read_jsonl(name, handle)


def _read_jsonl_bytes(name: str, data: bytes) -> Items:
    return _read_jsonl(name, io.BytesIO(data))


def _read_feed(name: str, data: bytes) -> Items:
    from retrieval.feed_files import read_feed

    return read_feed(name, data)


def _read_xml(name: str, data: bytes) -> Items:
    """An ``.xml`` file is read as the feed or page its content shows."""
    kind = sniff(data)
    if kind == "feed":
        return _read_feed(name, data)
    if kind == "html":
        return _read_html(name, data)
    return [Skipped(name, "unsupported XML document (not an RSS or Atom feed)")]


def _is_html(head: Head) -> bool:
    if head.markup is None:
        return False
    if head.text.startswith("<!doctype html") or head.markup.startswith("<html"):
        return True
    return head.root not in _FEED_ROOTS and bool(_HTML_BODY.search(head.text))


FORMATS: tuple[Format, ...] = (
    Format("text", ".txt", (".txt", ".text"), _read_text),
    Format("markdown", ".md", (".md", ".markdown", ".mdown", ".mkd"), _read_markdown),
    Format("html", ".html", (".html", ".htm", ".xhtml"), _read_html, sniff=_is_html),
    Format(
        "json",
        ".json",
        (".json",),
        _read_json,
        sniff=lambda head: head.text.startswith(("{", "[")),
    ),
    Format("jsonl", ".jsonl", (".jsonl", ".ndjson"), _read_jsonl_bytes, read_lines=_read_jsonl),
    Format(
        "feed",
        "RSS/Atom",
        (".rss", ".atom", ".feed"),
        _read_feed,
        sniff=lambda head: head.root in _FEED_ROOTS,
    ),
    Format("xml", "", (".xml",), _read_xml, sniff=lambda head: head.markup is not None),
)
_FALLBACK = "text"
_BY_NAME = {f.name: f for f in FORMATS}
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}


def format_for_suffix(suffix: str) -> Format | None:
    """The format a file suffix (``.md``; any case) names, or None."""
    return _BY_SUFFIX.get(suffix.lower())


def sniff(data: bytes) -> str:
    """The name of the format of ``data`` guessed from its first bytes ("feed", "html",
    "xml", "json" or "text" for the formats above)."""
    head = _head(data)
    return next((f.name for f in FORMATS if f.sniff and f.sniff(head)), _FALLBACK)


def format_for_content(data: bytes) -> Format:
    """The format ``data`` is read as when its file name has no suffix."""
    return _BY_NAME[sniff(data)]


def suffixes() -> list[str]:
    """Every suffix a format is read from, sorted."""
    return sorted(_BY_SUFFIX)


def describe() -> str:
    """The formats in a few words, for help texts: ``.txt, .md, .html, ...``."""
    return ", ".join(f.label for f in FORMATS if f.label)


def _head(data: bytes) -> Head:
    encoding, skip = bom_encoding(data)
    encoding = encoding or guess_utf16(data) or "utf-8"
    text = data[skip : skip + SNIFF_BYTES].decode(encoding, errors="ignore").lstrip().lower()
    if not text.startswith("<"):
        return Head(data[:SNIFF_BYTES], text, None, None)
    markup = re.sub(r"<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>", "", text, flags=re.S).lstrip()
    root = re.match(r"<([\w:.-]+)", markup)
    return Head(data[:SNIFF_BYTES], text, markup, root.group(1) if root else None)
