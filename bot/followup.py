"""Resolving follow-up questions against the conversation so far (extractive mode)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answer import Turn

_REFERS_BACK = re.compile(
    r"\b(he|him|his|she|her|hers|it|its|they|them|their|theirs|this|that|these|those|"
    r"there|then|the same|the latter|the former)\b",
    re.I,
)
_WORD = re.compile(r"[A-Za-z][\w'-]*")
_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having how i if in into is it its itself just me more most my no nor
    not now of off on once only or other our out over own same should so some such than that the
    their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your tell said say says
    also many much""".split()
)


def content_words(text: str) -> list[str]:
    """Words of ``text`` that carry meaning (no stop words), in order, without repeats."""
    seen: dict[str, str] = {}
    for w in _WORD.findall(text):
        key = w.lower()
        if key not in _STOP and len(key) > 1 and key not in seen:
            seen[key] = w
    return list(seen.values())


def is_follow_up(question: str) -> bool:
    """Whether the question leans on an earlier turn (a pronoun, or almost no content)."""
    return bool(_REFERS_BACK.search(question)) or len(content_words(question)) <= 1


def expand_query(question: str, history: Sequence[Turn]) -> str:
    """The search query for ``question``: for a follow-up, the previous question's content
    words (the entities it was about) are carried along."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1]
    carried = [w for w in content_words(previous.question) if w.lower() not in question.lower()]
    return f"{question} {' '.join(carried)}".strip() if carried else question
