"""Cutting an article into passages of whole sentences that fit the model's window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from retrieval.sentences import Sentence, split_sentences


@dataclass(frozen=True)
class Span:
    """A passage-to-be: character offsets into the article text and its ordinal."""

    ordinal: int
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...] = ()


def _split_long(sentence: Sentence, tokens: int, max_tokens: int) -> list[Sentence]:
    """Cut a sentence longer than the window at word boundaries into roughly equal parts."""
    parts = -(-tokens // max_tokens)
    words = sentence.text.split(" ")
    per = -(-len(words) // parts)
    out, pos = [], sentence.start
    for i in range(0, len(words), per):
        piece = " ".join(words[i : i + per]).strip()
        if not piece:
            continue
        start = sentence.start + sentence.text.find(piece, pos - sentence.start)
        out.append(Sentence(start, start + len(piece), piece))
        pos = start + len(piece)
    return out


def chunk_text(
    text: str,
    count_tokens: Callable[[list[str]], list[int]],
    *,
    max_tokens: int = 200,
    overlap: int = 1,
) -> list[Span]:
    """Group sentences into passages of at most ``max_tokens`` tokens.

    Consecutive passages share ``overlap`` sentences, so a fact stated across a
    boundary is whole in at least one passage. Span offsets point into ``text``;
    each span's sentence offsets are relative to the span's start.
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    counts = count_tokens([s.text for s in sentences])
    units: list[tuple[Sentence, int]] = []
    for s, n in zip(sentences, counts, strict=True):
        if n > max_tokens:
            pieces = _split_long(s, n, max_tokens)
            units.extend(zip(pieces, count_tokens([p.text for p in pieces]), strict=True))
        else:
            units.append((s, n))

    spans: list[Span] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][1] <= max_tokens):
            total += units[j][1]
            j += 1
        start = units[i][0].start
        sents = tuple((u.start - start, u.end - start) for u, _ in units[i:j])
        spans.append(Span(len(spans), start, units[j - 1][0].end, sents))
        if j >= len(units):
            break
        i = max(i + 1, j - overlap)
    return spans
