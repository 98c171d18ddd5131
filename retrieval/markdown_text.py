"""Markdown articles: markdown syntax to plain text, with front matter and a leading heading
as metadata."""

from __future__ import annotations

import re
from collections.abc import Mapping

from retrieval.front_matter import parse_front_matter
from retrieval.metadata import parse_plain_text

_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
_INLINE_MARKDOWN = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]+)\]\((?:[^()\s]+|\([^)]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_MD_RULE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+)\s*$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_MD_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def strip_markdown(text: str) -> tuple[str, str | None]:
    """Turn markdown into plain text; return it and the first heading (removed from the text)
    when the document starts with one (``# Title`` or a ``===`` underlined line)."""
    lines = text.replace("\r\n", "\n").split("\n")
    title = None
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if start < len(lines):
        heading = _MD_HEADING.match(lines[start])
        if heading:
            title, start = heading.group(1).strip(), start + 1
        elif start + 1 < len(lines) and re.match(r"^\s*=+\s*$", lines[start + 1]):
            title, start = lines[start].strip(), start + 2
    out: list[str] = []
    for line in lines[start:]:
        if _MD_FENCE.match(line) or _MD_REFERENCE.match(line) or _MD_TABLE_RULE.match(line):
            continue
        if _MD_RULE.match(line):
            out.append("")
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            out.extend(["", heading.group(1), ""])
            continue
        line = re.sub(r"^\s{0,3}(?:>\s?)+", "", line)
        if _MD_LIST.match(line):
            out.extend(["", _MD_LIST.sub("", line)])
            continue
        out.append(line)
    body = "\n".join(out)
    if title:
        title = _strip_inline(title)
    return _strip_inline(body), title


def _strip_inline(text: str) -> str:
    # Escaped characters are parked in the private use area so emphasis rules skip them.
    text = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_MARKDOWN:
        text = pattern.sub(replacement, text)
    return re.sub("[\ue000-\ue07f]", lambda m: chr(ord(m.group(0)) - 0xE000), text)


def parse_markdown(
    text: str, path: str | None = None, *, known: Mapping[str, object] | None = None
) -> tuple[str, dict[str, str | None]]:
    """Like ``parse_plain_text`` for markdown: front matter fields and a leading ``# Heading``
    give metadata, and markdown syntax (links, emphasis, heading marks, lists) is removed."""
    body, front = parse_front_matter(text)
    plain, heading = strip_markdown(body)
    merged: dict[str, object] = {"title": heading} if heading else {}
    merged.update(front)
    merged.update({k: v for k, v in (known or {}).items() if v})
    return parse_plain_text(plain, path, known=merged)
