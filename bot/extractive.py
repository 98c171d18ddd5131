"""Extractive answers: quote the sentences of the retrieved passages that answer.

Each sentence of the shown passages is scored from evidence that needs no LLM:
its cosine similarity to the question (sentence vectors come from the index),
the share of the question's IDF mass it contains, the fused score of its passage,
and whether it holds the kind of thing the question asks for (a year for "when",
a number for "how many", a name for "who"), since a sentence that only restates
the question does not answer it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.lexical import tokenize
from retrieval.models import Hit

_YEAR = r"\b(1[0-9]{3}|20[0-9]{2})s?\b"
_MONTH = (
    r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?)\b"
)
_NUMBER = (
    r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)s?\b"
)
_EXPECT = [
    (
        re.compile(r"\b(when|what year|which year|what century|what date|what decade)\b", re.I),
        re.compile(f"{_YEAR}|{_MONTH}|\\bcentur(y|ies)\\b|\\bdecades?\\b", re.I),
    ),
    (
        re.compile(
            r"\bhow (many|much|long|old|far|large|big|high)\b|\bwhat (percent|percentage|"
            r"number|amount|proportion)\b",
            re.I,
        ),
        None,  # a quantity: see _has_quantity
    ),
]
_QUANTITY = re.compile(f"{_NUMBER}|%|\\bpercent\\b", re.I)
_DATE_NUMBER = re.compile(
    rf"{_MONTH}\.?\s+\d{{1,2}}\b|\b\d{{1,2}}(st|nd|rd|th)?\s+{_MONTH}|{_YEAR}", re.I
)


def _has_quantity(sentence: str) -> bool:
    """Whether ``sentence`` gives an amount: a number that is not part of a date or a year."""
    return bool(_QUANTITY.search(_DATE_NUMBER.sub(" ", sentence)))


RATIO = 0.75
_CAPITAL = re.compile(r"\b[A-Z][a-z]+")
# Questions whose answer is a name: a person, an organisation or a place.
_ASKS_NAME = re.compile(
    r"\b(who|whom|whose|where)\b|\b(which|what)\s+(companies|company|firms?|groups?|"
    r"organi[sz]ations?|agency|agencies|body|bodies|authority|court|banks?|consultancy|"
    r"contractors?|hotel|city|town|village|country|countries|person|people|officials?|judges?|"
    r"outlets?|newspapers?|unions?|part(?:y|ies)|insurers?|lawyers?|law firms?|manufacturers?|"
    r"builders?|suppliers?|investigators?|regulators?)\b|\bwhat (?:is|was) the name\b",
    re.I,
)
# Questions whose answer is an organisation, and the shape of an organisation's name:
# capitalised words ending in a word that says what kind of body it is, or "X & Y".
_ASKS_ORGANISATION = re.compile(
    r"\b(?:which|what)\s+(?:(?:\w+\s+)?(?:company|companies|firms?|consortium|contractors?|"
    r"manufacturers?|insurers?|banks?|suppliers?|builders?|consultancy))\b",
    re.I,
)
_ORGANISATION_KINDS = frozenset(
    "group construction services ltd limited inc llp partners holdings corporation corp company "
    "consortium joint venture pharmaceuticals telecom industries engineering consulting "
    "associates bank capital insurance infrastructure tunnelling civil systems technologies "
    "motors airlines energy and".split()
)
_ORGANISATION = re.compile(
    r"\b(?:[A-Z][\w'-]*\s+){0,3}(?:"
    + "|".join(sorted((w.upper() if w == "llp" else w.title()) for w in _ORGANISATION_KINDS))
    + r")\b|\b[A-Z][\w'-]+\s+(?:&|and)\s+[A-Z][\w'-]+\b"
)
_WORD = re.compile(r"[a-z][\w'-]*")
# "Who is the joint venture's project director?": the role whose holder is asked for.
_ASKS_ROLE = re.compile(
    r"\b[Ww]ho (?:is|was|are|were) (?:(?:the|its|their|his|her) )?(?:[^?]*?'s )?"
    r"(?P<role>[a-z][\w-]*(?: [a-z][\w-]*){0,2}?)"
    r"(?=(?:\s+(?:now|currently|today|then))?\s*(?:\?|$|\b(?:of|at|for|in|on)\b))"
)
# Capitalised words that are not names.
_NOT_NAMES = frozenset(
    "a an the i it its this that these those he she they we his her their our in on at of for "
    "to by but and or as if when while after before since on monday tuesday wednesday thursday "
    "friday saturday sunday january february march april may june july august september october "
    "november december mr mrs ms dr st".split()
)
# A sentence that opens by pointing back continues the one before it.
_ANAPHOR = re.compile(
    r"^\W*(it|its|this|these|those|that|they|their|them|he|his|she|her|such|there|indeed|"
    r"however|thus|the latter|the former|both)\b",
    re.I,
)
# A sentence ending in a question mark (inside closing quotes or brackets too): headlines,
# FAQ headings and rhetorical questions in web text ask rather than report.
_ASKING = re.compile(r"\?[\"'”’)\]]*\s*$")
CARRY = 0.7
NEIGHBOUR = False
# The fewest words worth quoting from a sentence cut down to fit the budget.
PART_MIN_WORDS = 8


@dataclass(frozen=True)
class Quote:
    """A sentence chosen for the answer: which shown passage (0-based) and where in it.

    ``also`` names (passage, sentence) pairs from other outlets that report the same fact;
    ``lead`` is what the answer says before the quote (the report's date and outlet).
    """

    hit: int
    sentence: int
    text: str
    score: float
    also: tuple[tuple[int, int], ...] = ()
    lead: str = ""
    # Part of a sentence from another passage than the first quote's, cut to fit the words
    # left: it adds the likeliest answer, but is not evidence that the articles name what
    # is asked (see :func:`organisation_not_given`).
    cut: bool = False


@dataclass(frozen=True)
class Weights:
    """How the evidence for a sentence is combined."""

    semantic: float = 0.45
    lexical: float = 0.35
    passage: float = 0.2
    expected: float = 0.1
    # A sentence without the kind of thing the question asks for keeps this share.
    missing: float = 0.85
    # A sentence that is itself a question keeps this share: it asks, it states nothing.
    asking: float = 0.5


def expected_bonus(question: str, sentence: str) -> float | None:
    """1.0 when ``sentence`` holds the kind of thing ``question`` asks for, 0.0 when it does
    not, None when the question asks for no particular kind."""
    for asks, has in _EXPECT:
        if asks.search(question):
            found = has.search(sentence) if has is not None else _has_quantity(sentence)
            return 1.0 if found else 0.0
    if _ASKS_ORGANISATION.search(question):
        asked = names_in(question, asked=True) | _ORGANISATION_KINDS
        found = [set(_WORD.findall(m.lower())) - asked for m in _ORGANISATION.findall(sentence)]
        return 1.0 if any(found) else 0.0
    if _ASKS_NAME.search(question):
        if not names_in(sentence) - names_in(question, asked=True):
            return 0.0
        role = _ASKS_ROLE.search(question)  # a name, and the role asked about beside it
        if role and not all(w in sentence.lower() for w in role["role"].split()):
            return 0.0
        return 1.0
    return None


def names_in(text: str, *, asked: bool = False) -> set[str]:
    """The lower-cased capitalised words of ``text`` that can be names: not the first word of
    a sentence or label, not a weekday, month or function word. With ``asked`` (a question),
    every capitalised word counts, so that no word of the question passes for an answer."""
    out = set()
    for m in _CAPITAL.finditer(text):
        word = m.group().lower()
        before = text[: m.start()].rstrip()
        opens = not before or before[-1] in ".:;!?\"“'(-–—"
        if word in _NOT_NAMES or (opens and not asked):
            continue
        out.add(word)
    return out


_QUESTION_WORDS = frozenset({"how", "what", "who", "when", "where", "which", "why"})
_ASKS_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\b(?:his|her|their|'s) age\b", re.I)
_GIVES_AGE = re.compile(
    r"\b\d{1,3}-year-old\b|\b\d{1,3} years? old\b|\b(?i:aged) \d{1,3}\b|"
    r"\b[A-Z][\w'-]+, \d{1,3},"
)


def age_not_given(question: str, sentences: Sequence[str]) -> bool:
    """Whether ``question`` asks someone's age and none of ``sentences`` that names them
    gives one ("Korvath, 60,", "a 54-year-old", "aged 61"): then no article states it."""
    if not _ASKS_AGE.search(question):
        return False
    names = names_in(question, asked=True) - _QUESTION_WORDS
    for sentence in sentences:
        if _GIVES_AGE.search(sentence) and (not names or names & names_in(sentence, asked=True)):
            return False
    return True


def organisation_not_given(question: str, quoted: Sequence[str]) -> bool:
    """Whether ``question`` asks which company or firm, and none of the sentences ``quoted``
    for it names anything the question does not ("a forensic investigation by outside
    specialists"): the articles do not say which."""
    if not _ASKS_ORGANISATION.search(question):
        return False
    asked = names_in(question, asked=True)
    return not any(names_in(text) - asked for text in quoted)


def _words(text: str) -> int:
    return len(text.split())


def _answer_words(question: str, words: list[str]) -> np.ndarray:
    """1 for each of ``words`` that is of the kind ``question`` asks for (a year or month for
    "when", an amount for "how many", a name the question does not give for "who"), else 0."""
    for asks, has in _EXPECT:
        if asks.search(question):
            found = has.search if has is not None else _has_quantity
            return np.array([1 if found(w) else 0 for w in words])
    if _ASKS_NAME.search(question) or _ASKS_ORGANISATION.search(question):
        asked = names_in(question, asked=True)
        return np.array(
            [
                1
                if k
                and _CAPITAL.match(w)
                and (n := w.strip(".,;:'\"()").lower()) not in asked
                and n not in _NOT_NAMES
                else 0
                for k, w in enumerate(words)
            ]
        )
    return np.zeros(len(words), dtype=int)


def _trim(text: str, terms: set[str], max_words: int, question: str = "") -> str:
    """The ``max_words`` window of a long sentence that holds most question terms
    (``terms`` are stems, as the BM25 tokenizer makes them). With ``question``, a window
    that also holds a word of the kind asked for (:func:`_answer_words`) comes first."""
    words = text.split()
    if len(words) <= max_words:
        return text
    hits = np.array([1 if terms.intersection(toks) else 0 for toks in tokenize(words)])
    window = np.convolve(hits, np.ones(max_words, dtype=int), mode="valid")
    if question:
        kind = np.convolve(_answer_words(question, words), np.ones(max_words, dtype=int), "valid")
        window = window + (kind > 0) * len(words)
    best = np.flatnonzero(window == window.max())
    start = int(best[len(best) // 2])  # of the windows holding as many terms, the middle one
    piece = " ".join(words[start : start + max_words])
    return ("… " if start else "") + piece + (" …" if start + max_words < len(words) else "")


def score_sentences(
    question: str,
    hits: Sequence[Hit],
    question_terms: list[str],
    idf: dict[str, float],
    tokenize: Callable[[list[str]], list[list[str]]],
    weights: Weights = Weights(),
) -> list[tuple[float, int, int, str]]:
    """(score, hit index, sentence index, text) for every sentence of ``hits``, best first."""
    mass = sum(idf.get(t, 0.0) for t in set(question_terms)) or 1.0
    top_score = max((h.score for h in hits), default=1.0) or 1.0
    rows = []
    texts = [
        (i, j, s) for i, h in enumerate(hits) for j, s in enumerate(h.passage.sentence_texts())
    ]
    tokens = tokenize([s for _, _, s in texts]) if texts else []
    qset = set(question_terms)
    previous: tuple[int, float, float] | None = None
    for (i, j, sentence), toks in zip(texts, tokens, strict=True):
        hit = hits[i]
        sims = hit.sentence_sims
        semantic = sims[j] if j < len(sims) else (hit.dense or 0.0)
        lexical = sum(idf.get(t, 0.0) for t in qset & set(toks)) / mass
        own = (semantic, lexical)
        if previous and previous[0] == i and _ANAPHOR.search(sentence):
            semantic = max(semantic, CARRY * previous[1] + (1 - CARRY) * semantic)
            lexical = max(lexical, CARRY * previous[2] + (1 - CARRY) * lexical)
        previous = (i, *own)
        novel = 1.0 if set(toks) - qset else 0.0
        expected = expected_bonus(question, sentence)
        score = (
            weights.semantic * semantic
            + weights.lexical * lexical
            + weights.passage * hit.score / top_score
            + weights.expected * (expected or 0.0)
        ) * (0.5 + 0.5 * novel)
        if expected == 0.0:
            score *= weights.missing
        if _ASKING.search(sentence):
            score *= weights.asking
        rows.append((score, i, j, sentence))
    rows.sort(key=lambda r: r[0], reverse=True)
    return rows


def _overlap(a: str, b: str) -> float:
    """Overlap coefficient of the two sentences' word sets (case-insensitive)."""
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def _same_fact(
    hits: Sequence[Hit], i: int, j: int, min_cosine: float = 0.65, min_overlap: float = 0.6
) -> tuple[tuple[int, int], ...]:
    """Other shown passages, from other outlets, with a sentence saying the same thing:
    close in meaning (sentence vectors) and sharing most of its words."""
    vectors = hits[i].sentence_vectors
    if vectors is None or j >= len(vectors):
        return ()
    mine, text = vectors[j], hits[i].passage.sentence_texts()[j]
    source = (hits[i].passage.source or "").lower()
    out = []
    for other, hit in enumerate(hits):
        if other == i or hit.sentence_vectors is None or not len(hit.sentence_vectors):
            continue
        if hit.passage.article_id == hits[i].passage.article_id:
            continue
        if source and (hit.passage.source or "").lower() == source:
            continue
        sims = hit.sentence_vectors @ mine
        sentences = hit.passage.sentence_texts()
        for k in np.argsort(-sims)[:3]:
            if sims[k] < min_cosine or k >= len(sentences):
                break
            if _overlap(text, sentences[k]) >= min_overlap:
                out.append((other, int(k)))
                break
    return tuple(out)


def _part_of_passage(
    chosen: list[Quote],
    rows: list[tuple[float, int, int, str]],
    hits: Sequence[Hit],
    terms: set[str],
    max_words: int,
    cut_elsewhere: bool = False,
    question: str = "",
) -> list[Quote]:
    """The second quote: the chosen one, unless a better-scoring sentence was passed over for
    being too long; then the part of it that holds the question's words, in the words left.
    A sentence of the first quote's passage comes first (the passage that matched best often
    states the answer in the sentence next to the one that matched); else the best such
    sentence of another passage (with ``cut_elsewhere``), since a weaker sentence that fits is
    less likely to answer."""
    first = chosen[0]
    second = chosen[1:2]
    room = max_words - _words(first.text)
    floor = max(second[0].score if second else 0.0, RATIO * first.score)
    if room < PART_MIN_WORDS:
        return second
    first_text = next((r[3] for r in rows if (r[1], r[2]) == (first.hit, first.sentence)), "")
    passed = None
    for row in rows:
        score, i, j, sentence = row
        if score <= floor:
            break
        if (i, j) == (first.hit, first.sentence) or sentence.strip() == first_text.strip():
            continue
        if i == first.hit:
            passed = row
            break
        if passed is None and cut_elsewhere and _words(sentence) > room:
            passed = row
    if passed is None:
        return second
    score, i, j, sentence = passed
    text = _trim(sentence, terms, room, question)
    return [Quote(i, j, text, score, _same_fact(hits, i, j), cut=i != first.hit)]


def choose_quotes(
    question: str,
    hits: Sequence[Hit],
    question_terms: list[str],
    idf: dict[str, float],
    tokenize: Callable[[list[str]], list[list[str]]],
    *,
    max_sentences: int,
    max_words: int,
    weights: Weights = Weights(),
    rows: list[tuple[float, int, int, str]] | None = None,
    cut_elsewhere: bool = False,
) -> list[Quote]:
    """The sentences to quote, in the order they are shown, within the word budget.

    ``rows`` are the scored sentences when the caller has them already (re-ranked).
    ``cut_elsewhere`` lets the second quote be part of a long sentence of another passage
    (see :func:`_part_of_passage`); answers whose shape quotes whole sentences leave it off.
    """
    if rows is None:
        rows = score_sentences(question, hits, question_terms, idf, tokenize, weights)
    if not rows:
        return []
    chosen: list[Quote] = []
    used = 0
    seen_texts: set[str] = set()
    terms = {t for t in question_terms if len(t) > 2}
    by_place = {(i, j): (score, sentence) for score, i, j, sentence in rows}
    for score, i, j, sentence in rows:
        if len(chosen) >= max_sentences:
            break
        if NEIGHBOUR and len(chosen) == 1:
            first = chosen[0]
            follow = by_place.get((first.hit, first.sentence + 1))
            if follow and _ANAPHOR.search(follow[1]) and used + _words(follow[1]) <= max_words:
                score, i, j, sentence = follow[0], first.hit, first.sentence + 1, follow[1]
        key = sentence.strip().lower()
        if key in seen_texts:
            continue
        if chosen and score < RATIO * chosen[0].score:
            break
        text = sentence
        if not chosen:
            text = _trim(sentence, terms, max_words)
        elif used + _words(sentence) > max_words:
            continue
        seen_texts.add(key)
        chosen.append(Quote(i, j, text, score, _same_fact(hits, i, j)))
        used += _words(text)
    if chosen and max_sentences > 1:
        chosen[1:2] = _part_of_passage(
            chosen, rows, hits, terms, max_words, cut_elsewhere, question
        )
    return chosen
