"""Metadata-only lines above and below a story: bylines, date, source and URL lines,
reporting credits and "Read more" links. They become fields and leave the text."""

from __future__ import annotations

import re

from retrieval.dates import normalize_date
from retrieval.line_shapes import ENDS_SENTENCE, is_upper, titlecase

_DATE_LINE = re.compile(
    r"^(?P<key>date|dated|published|posted|updated|last\s+updated)(?:\s+on)?\s*[:\-]?\s*"
    r"(?P<value>.+?)\s*(?:\((?P<who>[^()]{1,60})\))?(?:\s+by\s+(?P<by>[^()]{1,60}))?$",
    re.I,
)
_KEY_LINE = re.compile(
    r"^(?P<key>title|headline|source|publisher|outlet|author|authors|byline|url|link|permalink"
    r"|place|location)\s*:\s*(?P<value>\S.*)$",
    re.I,
)
_KEY_FIELDS = {
    **dict.fromkeys(("title", "headline"), "title"),
    **dict.fromkeys(("source", "publisher", "outlet"), "source"),
    **dict.fromkeys(("author", "authors", "byline"), "author"),
    **dict.fromkeys(("url", "link", "permalink"), "url"),
    **dict.fromkeys(("place", "location"), "place"),
}
# Lines that close a wire story and say nothing of the news: credits and "read more" links.
_CREDIT_LINE = re.compile(
    r"^(?:\((?:(?:additional )?reporting|writing|written|editing|compiled|edited)\s+by\b.*\)"
    r"|(?:read more|related|see also|more on this(?: story)?)\s*:.*)$",
    re.I,
)
# A line that is only a link.
LINK_LINE = re.compile(r"^<?(https?://\S+?)>?$")
_BYLINE = re.compile(r"^by\s*:?\s+(?P<names>[@\w].{0,100})$", re.I)
_NAME_CONNECTORS = set("and & de da del der van von la le bin al el di du y".split())


def _meta_line(line: str) -> dict[str, str] | None:
    """Fields of a metadata-only line (``date 2021-03-22 (@someone)``, ``Source: X``,
    ``By Jane Doe``, a lone URL), or None when the line is article text."""
    match = _DATE_LINE.match(line)
    if match:
        published = normalize_date(match["value"])
        if published:
            key = "updated" if "updated" in match["key"].lower() else "published"
            found = {key: published}
            author = _person(match["who"] or match["by"] or "")
            if author:
                found["author"] = author
            return found
    match = _KEY_LINE.match(line)
    if match:
        field, value = _KEY_FIELDS[match["key"].lower()], match["value"].strip()
        if field == "url":
            url = LINK_LINE.match(value)
            return {"url": url.group(1)} if url else None
        if field == "author":
            return {"author": _person(value) or value}
        return {field: value}
    match = LINK_LINE.match(line)
    if match:
        return {"url": match.group(1)}
    match = _BYLINE.match(line)
    if match and len(line.split()) <= 16 and not ENDS_SENTENCE.search(line):
        author = _person(match["names"])
        if not author:
            return None
        found = {"author": author}
        # "By Lena Marsh | The Harbor Post | 16 November 2023"
        for part in [p.strip() for p in match["names"].split("|")[1:]]:
            published = normalize_date(part) if re.search(r"\d", part) else None
            if published:
                found.setdefault("published", published)
            elif part:
                found.setdefault("source", part)
        return found
    return None


def _person(text: str) -> str | None:
    """A name or handle, without a trailing ", Reuters" / "| Staff Writer"; None if not a name."""
    name = re.split(r"\s*(?:[,|]|\s[-–—]\s)\s*", text.strip(), maxsplit=1)[0].strip()
    if not name:
        return None
    if name.startswith("@") and re.fullmatch(r"@\w{1,40}", name):
        return name
    words = name.split()
    if len(words) > 8 or any(ch.isdigit() for ch in name):
        return None
    if not all(w[:1].isupper() or w.lower() in _NAME_CONNECTORS for w in words):
        return None
    return titlecase(name) if is_upper(name) and len(name) > 3 else name


def take_trailers(paragraphs: list[str], found: dict[str, str]) -> None:
    """Move the metadata lines that close an article (``Permalink: ...``, ``URL: ...``,
    ``Source: ...``, a byline, reporting credits, "Read more" links) out of ``paragraphs``
    and into ``found``."""
    while len(paragraphs) > 1:
        last = paragraphs[-1].strip()
        if "\n" in last:
            break
        meta = _meta_line(last)
        if meta is not None:
            _keep_first(found, meta)
        elif not _CREDIT_LINE.match(last):
            break
        paragraphs.pop()


def take_header_lines(lines: list[str], index: int, found: dict[str, str]) -> int:
    """Consume blank and metadata-only lines from ``index``; return the first other line."""
    while index < len(lines):
        line = lines[index]
        if line:
            meta = _meta_line(line)
            if meta is None:
                break
            _keep_first(found, meta)
        index += 1
    return index


def _keep_first(found: dict[str, str], meta: dict[str, str]) -> None:
    for key, value in meta.items():
        found.setdefault(key, value)
