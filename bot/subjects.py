"""Who a quoted "he" or "she" is.

A sentence cut out of its article loses the sentence that named its subject: "She said the
line would reopen in May." is no answer to "What did the transport minister say?" unless the
reader sees who "she" is. When a quote opens with a personal pronoun, the last full name
(two or more capitalised words) of the sentences before it in the same passage is put in
brackets after the pronoun.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Pronouns that stand for one person; "they" and "it" name organisations as often as people.
_OPENING_PRONOUN = re.compile(r"^(?P<p>He|She)\b(?! \()")
# A full name: two to four capitalised words ("Ines Varga", "Mary-Ann de Wit" is missed).
_FULL_NAME = re.compile(r"\b[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,3}\b")
# Capitalised words that open sentences or name days and months, not people.
_NOT_A_NAME_START = re.compile(
    r"^(?:The|A|An|In|On|At|But|And|After|Before|When|Monday|Tuesday|Wednesday|Thursday|"
    r"Friday|Saturday|Sunday|January|February|March|April|May|June|July|August|September|"
    r"October|November|December)\b"
)


def last_full_name(sentences: Sequence[str]) -> str | None:
    """The last full name in ``sentences`` (read in order), if any."""
    for sentence in reversed(sentences):
        names = [
            m.group(0)
            for m in _FULL_NAME.finditer(sentence)
            if not _NOT_A_NAME_START.match(m.group(0))
        ]
        if names:
            return names[-1]
    return None


def name_the_subject(quote: str, before: Sequence[str]) -> str:
    """``quote`` with ``(Full Name)`` after an opening "He"/"She" when a sentence of
    ``before`` (those preceding it in its passage) names someone; else ``quote`` unchanged."""
    match = _OPENING_PRONOUN.match(quote)
    if not match:
        return quote
    name = last_full_name(before)
    if name is None:
        return quote
    return f"{match.group('p')} ({name}){quote[match.end() :]}"
