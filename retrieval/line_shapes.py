"""The shape of a line of article text: all capitals, title case, the end of a sentence."""

from __future__ import annotations

import re

# A line that ends a sentence: a stop, then closing quotes or brackets.
ENDS_SENTENCE = re.compile(r"[.!?…][\"”’')\]]*$")


def is_upper(text: str) -> bool:
    """Whether ``text`` has at least two letters and all of them are capitals."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def titlecase(text: str) -> str:
    """``text`` with each run of letters capitalized ("SEOUL/BEIJING" gives "Seoul/Beijing")."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), text)
