"""JSON and JSON Lines files of article records (``{"title": ..., "text": ...}``).

A record is keyed ``{path}#{n}``: ``n`` is the 1-based line number in a JSONL file and the
1-based position in a JSON array. A skipped JSONL line is reported as ``{path}:{lineno}``,
a skipped JSON record as ``{path}#{n}``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO

from retrieval.dates import normalize_date
from retrieval.html_pages import holds_html, html_to_text
from retrieval.metadata import parse_plain_text
from retrieval.models import Article, Skipped
from retrieval.skip_reasons import guarded
from retrieval.textdecode import (
    SNIFF_BYTES,
    TextDecodeError,
    bom_encoding,
    decode_bytes,
    fix_text,
    guess_utf16,
    looks_binary,
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


def read_json(path: str, data: bytes) -> Iterator[Article | Skipped]:
    """The records of a JSON document: one object, a list of them, or an object holding a
    list under a key such as ``articles`` or ``items``; several objects one per line are
    read as JSON Lines."""
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
        yield guarded(_record, f"{path}#{n}", record, f"{path}#{n}", path, f"{path}#{n}")


def read_jsonl(path: str, handle: BinaryIO) -> Iterator[Article | Skipped]:
    """The records of a JSON Lines file, read from ``handle`` one line at a time."""
    head = handle.read(SNIFF_BYTES)
    bom, skip = bom_encoding(head)
    wide = bom if bom and not bom.startswith("utf-8") else guess_utf16(head)
    if wide is None and looks_binary(head):
        yield Skipped(path, "binary file")
        return
    handle.seek(skip if wide else 0)
    if wide:
        lines: Iterable = io.TextIOWrapper(handle, encoding=wide, errors="replace")
    else:
        lines = handle
    yield from _jsonl_lines(path, lines)


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
        yield guarded(_record, where, record, f"{path}#{lineno}", path, where)
    if empty:
        yield Skipped(path, "empty file")


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
    if holds_html(text):
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
