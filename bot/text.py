"""Plain text for chat replies: one line, clipped, or split at a length limit.

Splitting keeps every ``[n]`` citation marker whole, so a front-end that must send an
answer in several messages (Discord's 2,000 characters, say) never breaks one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

MARKER = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’»)]*(?:[ \t]*" + MARKER.pattern + r")*\s+|\n\s*",
)
_ATOM = re.compile(r"(?:" + MARKER.pattern + r"|\S)+\s*|\s+")


def one_line(text: str | None) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join((text or "").split())


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    return text[: limit - 1].rstrip() + "…"


def marker_safe_cut(text: str, limit: int) -> int:
    """The largest cut position <= ``limit`` that does not fall inside a ``[n]`` marker."""
    cut = limit
    for m in MARKER.finditer(text, 0, limit + 64):
        if m.start() < cut < m.end():
            cut = m.start()
            break
    return cut if cut > 0 else limit


def _sentence_pieces(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > start:
            pieces.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _pack(pieces: Iterable[str], limit: int, split_long: Callable[[str], list[str]]) -> list[str]:
    """Pieces joined into chunks of at most ``limit``; a piece over it goes to ``split_long``."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if len((current + piece).rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current.rstrip())
        current = ""
        piece = piece.lstrip()
        if len(piece.rstrip()) <= limit:
            current = piece
            continue
        parts = split_long(piece)
        chunks.extend(parts[:-1])
        current = parts[-1] + piece[len(piece.rstrip()) :] if parts else ""
    if current.strip():
        chunks.append(current.rstrip())
    return chunks


def _cut_word(word: str, limit: int) -> list[str]:
    """One word longer than ``limit`` cut into pieces, never inside a ``[n]`` marker."""
    parts: list[str] = []
    while len(word.rstrip()) > limit:
        cut = marker_safe_cut(word, limit)
        parts.append(word[:cut])
        word = word[cut:]
    parts.append(word.rstrip())
    return parts


def _split_words(text: str, limit: int) -> list[str]:
    """Split one over-long sentence between words, keeping ``[n]`` markers whole."""
    return _pack(_ATOM.findall(text), limit, lambda word: _cut_word(word, limit))


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters.

    Splits fall on sentence boundaries (a sentence's trailing ``[n]`` markers stay with
    it) or line breaks; a sentence longer than ``limit`` is split between words. A
    ``[n]`` marker is never broken. Whitespace at the split points is dropped.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    return _pack(_sentence_pieces(text), limit, lambda sentence: _split_words(sentence, limit))


def pack_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Lines (each clipped to ``limit``) joined by newlines into chunks of at most ``limit``."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
