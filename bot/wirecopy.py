"""Wire copy that arrived lower-cased, with apostrophes stripped and punctuation spaced
("china s communist party congress , saying"), made readable for quoting.

Only the text shown changes: the indexed passage and its citation offsets stay as they are.
Words are capitalized the way the other shown passages write them ("China", "Xi Jinping").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def is_flattened(text: str) -> bool:
    """Whether ``text`` reads as lower-cased wire copy (almost no capital letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 20:
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) < 0.01


def cased_vocabulary(texts: Iterable[str]) -> dict[str, str]:
    """The capitalized form of each word that ``texts`` mostly write capitalized
    (not counting the first word of a sentence)."""
    counts: dict[str, Counter] = {}
    for text in texts:
        if is_flattened(text):
            continue
        for match in _WORD.finditer(text):
            start = match.start()
            before = text[:start].rstrip()
            if not before or before[-1] in '.!?"“':
                continue
            word = match.group(0)
            counts.setdefault(word.lower(), Counter())[word] += 1
    vocabulary = {}
    for lower, forms in counts.items():
        form, n = forms.most_common(1)[0]
        if form[0].isupper() and n > sum(forms.values()) / 2:
            vocabulary[lower] = form
    return vocabulary


def readable(text: str, vocabulary: dict[str, str]) -> str:
    """``text`` with flattened wire copy repaired; other text is returned unchanged."""
    if not is_flattened(text):
        return text
    out = re.sub(r"\b(\w+) s\b(?=\s)", r"\1's", text)  # "china s" -> "china's"
    out = re.sub(r"\s+([,.;:!?)])", r"\1", out)
    out = re.sub(r"([(])\s+", r"\1", out)
    out = re.sub(r"\b([a-z])\.([a-z])\.", lambda m: f"{m[1].upper()}.{m[2].upper()}.", out)

    def case(match: re.Match) -> str:
        word = match.group(0)
        stem, suffix = (word[:-2], word[-2:]) if word.endswith("'s") else (word, "")
        return vocabulary.get(stem.lower(), stem) + suffix

    out = _WORD.sub(case, out)
    out = re.sub(r"(^|(?<![A-Z]\.[A-Z])[.!?]\s+)([a-z])", lambda m: m[1] + m[2].upper(), out)
    return out
