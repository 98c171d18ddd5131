"""Cutting an article into passages of whole sentences that fit the model's window."""

from __future__ import annotations

import re
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


def _split_long(
    sentence: Sentence,
    tokens: int,
    max_tokens: int,
    count_tokens: Callable[[list[str]], list[int]],
) -> list[Sentence]:
    """Cut a sentence longer than the window at word boundaries into roughly equal parts.

    Words are packed by their own token counts (word pieces never cross whitespace, so
    they add up), so no part exceeds ``max_tokens`` unless a single word does.
    """
    parts = -(-tokens // max_tokens)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence.text)]
    counts = count_tokens([sentence.text[a:b] for a, b in words])
    target = min(max_tokens, -(-sum(counts) // parts))
    out: list[Sentence] = []
    first, total = 0, 0
    for i, n in enumerate(counts):
        if i > first and total + n > target:
            out.append(_piece(sentence, words[first][0], words[i - 1][1]))
            first, total = i, 0
        total += n
    if words:
        out.append(_piece(sentence, words[first][0], words[-1][1]))
    return out


def _piece(sentence: Sentence, a: int, b: int) -> Sentence:
    return Sentence(sentence.start + a, sentence.start + b, sentence.text[a:b])


def chunk_text(
    text: str,
    count_tokens: Callable[[list[str]], list[int]],
    *,
    max_tokens: int,
    overlap: int,
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
            pieces = _split_long(s, n, max_tokens, count_tokens)
            units.extend(zip(pieces, count_tokens([p.text for p in pieces]), strict=True))
        else:
            units.append((s, n))

    spans: list[Span] = []
    i, covered = 0, 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][1] <= max_tokens):
            total += units[j][1]
            j += 1
        if j <= covered:
            # Only the overlap fits beside the next sentence: a passage of it alone would
            # repeat part of the previous one, so start the next passage without overlap.
            i = covered
            continue
        covered = j
        start = units[i][0].start
        sents = tuple((u.start - start, u.end - start) for u, _ in units[i:j])
        spans.append(Span(len(spans), start, units[j - 1][0].end, sents))
        if j >= len(units):
            break
        i = max(i + 1, j - overlap)
    return spans
