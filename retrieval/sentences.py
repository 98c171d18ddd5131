"""Sentence boundaries with character offsets.

Uses sentencex (rule-based, with English abbreviation lists, compiled core): it
keeps ``u.s.``, ``u.n.``, ``nov. 1`` and ``sept. 3`` inside their sentence like
pysbd does, at a few hundred times pysbd's speed, which matters because
sentence splitting runs on every ingested passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Sentence:
    """A sentence and where it stands in the text it was cut from."""

    start: int
    end: int
    text: str


def _paragraphs(text: str):
    start = 0
    for m in _PARAGRAPH.finditer(text):
        yield start, text[start : m.start()]
        start = m.end()
    yield start, text[start:]


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences; ``text[s.start:s.end] == s.text`` for each.

    Paragraph breaks always end a sentence.
    """
    import sentencex

    out: list[Sentence] = []
    for offset, para in _paragraphs(text):
        if not para.strip():
            continue
        pos = 0
        for raw in sentencex.segment("en", para):
            body = raw.strip()
            if not body:
                continue
            found = para.find(body, pos)
            if found < 0:
                continue
            pos = found + len(body)
            out.append(Sentence(offset + found, offset + pos, body))
    return out
