"""Metadata from the plain text of a news article, and the text left to index.

``parse_plain_text`` is the entry point; each kind of metadata has a module of its own
(``bylines``, ``titles``, ``datelines``, ``dates``, ``boilerplate``), and
``markdown_text.parse_markdown`` adds front matter and markdown syntax on top. Every field
is optional and nothing is guessed: a date without a year (``nov. 1``, ``on thursday``)
gives no published date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from retrieval.boilerplate import strip_boilerplate
from retrieval.bylines import take_header_lines, take_trailers
from retrieval.datelines import parse_dateline
from retrieval.dates import filename_date
from retrieval.line_shapes import ENDS_SENTENCE
from retrieval.titles import derive_title, drop_labels, same_title, title_line

FIELDS = ("title", "source", "published", "place", "url", "author")

_LIST_ITEM = re.compile(r"^(?:[-*•▪]|\d{1,3}[.)])\s+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")


def _normalize_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_SPACES.sub(" ", line).strip() for line in text.split("\n")]


def _paragraphs(lines: list[str]) -> list[str]:
    """Join lines into paragraphs: a blank line always ends one, a single line break ends one
    after a full sentence or before a list item, and otherwise is a hard wrap."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and (ENDS_SENTENCE.search(current[-1]) or _LIST_ITEM.match(line)):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def empty_fields() -> dict[str, str | None]:
    """A metadata dict with every field set to None."""
    return dict.fromkeys(FIELDS)


def parse_plain_text(
    text: str, path: str | None = None, *, known: Mapping[str, object] | None = None
) -> tuple[str, dict[str, str | None]]:
    """Split a plain-text article into the text to index and its metadata.

    Returns ``(text, fields)``; ``fields`` has the keys title, source, published, place, url
    and author (None when unknown). Metadata-only lines at the top (`` date 2021-03-22
    (@someone)``, ``Source: ...``, ``By Jane Doe``) and a title line are removed from the text;
    the dateline stays in it. Boilerplate (app promos, newsletter prompts, copyright lines)
    is dropped. Paragraphs are separated by blank lines.

    ``known`` holds fields the caller already has (a JSON record, front matter, HTML
    metadata); they win over anything found in the text, and a known title stops a first
    line from being taken as a title unless it repeats that title.
    """
    explicit = {k: v for k, v in (known or {}).items() if k in FIELDS and v}
    found: dict[str, str] = {}
    lines = _normalize_lines(text)

    index = take_header_lines(lines, 0, found)
    title = None
    if index < len(lines):
        known_title = explicit.get("title")
        if known_title:
            if same_title(lines[index], str(known_title)):
                index += 1
        else:
            title = title_line(lines, index)
            if title is not None:
                index += 1
        index = take_header_lines(lines, index, found)

    paragraphs, outlet = strip_boilerplate(_paragraphs(lines[index:]))
    take_trailers(paragraphs, found)
    drop_labels(paragraphs, explicit.get("title") or title)

    dateline, dateline_first = None, False
    for position, paragraph in enumerate(paragraphs[:2]):
        dateline = parse_dateline(paragraph)
        if dateline:
            dateline_first = position == 0
            break
    fields = empty_fields()
    fields.update(
        title=title or found.get("title"),
        source=found.get("source") or (dateline and dateline.source) or outlet,
        published=found.get("published")
        or (dateline and dateline.published)
        or found.get("updated")
        or filename_date(path),
        place=found.get("place") or (dateline and dateline.place),
        url=found.get("url"),
        author=found.get("author"),
    )
    fields.update({k: str(v) for k, v in explicit.items()})
    if not fields["title"] and paragraphs:
        first = paragraphs[0]
        if dateline and dateline_first:
            first = first[dateline.end :]
        fields["title"] = derive_title(first)
    return "\n\n".join(paragraphs), fields
