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


_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:of\s+|de\s+|van\s+)?[A-Z][\w'’-]+)+")
# What an answer says before its quote ("11 February 2025 (Meridian Wire): ") and its markers.
_ANSWER_FURNITURE = re.compile(r"(?:As of )?[^:\n]{0,60}\([^)]{1,60}\):\s|\[\d+\]|^- ", re.M)
MAX_CARRIED_NAMES = 3
CARRIED_WITH_NAMES = 2
_SINGLE_NAME = re.compile(r"(?<=[a-z,] )([A-Z][a-z][\w'’-]+)\b")
_PERSON = re.compile(r"\b(he|she|him|his|her)\b", re.I)
_POSSESSIVE = re.compile(r"\b(its|their)\b", re.I)


def refers_to_person(text: str) -> bool:
    """Whether ``text`` refers back to a person ("he", "her successor")."""
    return bool(_PERSON.search(text))


def answer_names(answer: str) -> list[str]:
    """The names an earlier answer gave (people, places, organisations), first first."""
    text = _ANSWER_FURNITURE.sub(" ", answer)
    found: list[tuple[int, str]] = []
    for match in _NAME.finditer(text):
        name, at = match.group(0), match.start()
        first, _, rest = name.partition(" ")
        if first.lower() in _STOP:  # "At Ostrander-Pell's" opens a sentence: not a name
            name, at = rest, at + len(first) + 1
        found.append((at, name))
    spans = [(m.start(), m.end()) for m in _NAME.finditer(text)]
    for match in _SINGLE_NAME.finditer(text):  # "in Grayhaven": one word, mid-sentence
        inside = any(a <= match.start(1) < b for a, b in spans)
        if not inside and match.group(1).lower() not in _STOP:
            found.append((match.start(1), match.group(1)))
    names: list[str] = []
    for _, name in sorted(found):
        if name and not any(name in n for n in names):
            names.append(name)
    return names[:MAX_CARRIED_NAMES]


def expand_query(question: str, history: Sequence[Turn]) -> str:
    """The search query for ``question``: for a follow-up, the first names the previous
    answer gave (who "he" or "that plant" is) are carried along, or, when it gave none, the
    previous question's content words (the entities it was about)."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1]
    names = [n for n in answer_names(previous.answer) if n.lower() not in question.lower()]
    if names and _PERSON.search(question):
        # "What did he say ...?" after "Rohan Deshal.": "What did Rohan Deshal say ...?"
        name = names.pop(0)
        question = _PERSON.sub(
            lambda m: name + ("'s" if m.group(0).lower() in ("his", "her") else ""),
            question,
            count=1,
        )
        return f"{question} {' '.join(names[:1])}".strip()
    if names and _POSSESSIVE.search(question):
        # "Who is its project director?" after "The Halvorsen-Brisk Joint Venture, ...":
        # "Who is The Halvorsen-Brisk Joint Venture's project director?"
        name = names.pop(0)
        return _POSSESSIVE.sub(lambda m: name + "'s", question, count=1)
    lowered = question.lower()
    # The first names an answer gives say what "that plant" is; the earlier question's
    # words only when it gave none (more words than that drown the question's own).
    carried = names[:CARRIED_WITH_NAMES] or [
        w for w in content_words(previous.question) if w.lower() not in lowered
    ]
    return f"{question} {' '.join(carried)}".strip() if carried else question
