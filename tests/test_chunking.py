"""Sentence splitting and chunking: abbreviations, token budgets, exact offsets, overlap."""

from __future__ import annotations

import random

import pytest

from retrieval.chunking import chunk_text
from retrieval.model_files import model_dir
from retrieval.sentences import split_sentences
from retrieval.tokens import TokenCounter
from tests.helpers import SEEDS

REUTERS = next(SEEDS.glob("000_*.txt"))


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(model_dir())


@pytest.fixture(scope="module")
def seed_text() -> str:
    return REUTERS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def one_paragraph(seed_text) -> str:
    # The seed has one sentence per line; joined into one paragraph the splitter has to
    # find every boundary itself (and must not cut at the abbreviations).
    return " ".join(line.strip() for line in seed_text.splitlines() if line.strip())


def check_spans(text: str, spans, counter: TokenCounter, max_tokens: int) -> None:
    for n, span in enumerate(spans):
        assert span.ordinal == n
        passage = text[span.start : span.end]
        assert passage == passage.strip() and passage
        assert counter.count(passage) <= max_tokens, (n, counter.count(passage))
        assert span.sentences, n
        assert span.sentences[0][0] == 0 and span.sentences[-1][1] == len(passage)
        for (a, b), (c, _) in zip(span.sentences, span.sentences[1:], strict=False):
            assert 0 <= a < b <= c
            assert not passage[b:c].strip(), "text between sentences must be whitespace"


@pytest.mark.parametrize(
    "abbreviation", ["u.s. president donald trump", "u.n. resolutions", "nov. 1 ,", "sept. 3 ,"]
)
def test_abbreviations_stay_inside_sentences(one_paragraph, abbreviation):
    sentences = split_sentences(one_paragraph)
    assert len(sentences) == 21
    holders = [s for s in sentences if abbreviation in s.text]
    assert len(holders) == 1
    sentence = holders[0].text
    # The abbreviation is in the middle of its sentence, not at an edge.
    assert not sentence.startswith(abbreviation) and not sentence.endswith(abbreviation)
    assert sentence.endswith(" .")


def test_sentence_offsets_are_exact(seed_text, one_paragraph):
    for text in (seed_text, one_paragraph, "First one.\n\n  Second   one here.  \n\nThird."):
        sentences = split_sentences(text)
        assert sentences
        for s in sentences:
            assert text[s.start : s.end] == s.text
            assert s.text == s.text.strip()
        assert [s.start for s in sentences] == sorted(s.start for s in sentences)


def test_paragraph_break_ends_a_sentence():
    texts = [s.text for s in split_sentences("A heading without a stop\n\nThe body starts here.")]
    assert texts == ["A heading without a stop", "The body starts here."]


@pytest.mark.parametrize("max_tokens", [200, 64])
def test_passages_fit_and_offsets_are_exact(seed_text, one_paragraph, counter, max_tokens):
    for text in (seed_text, one_paragraph):
        spans = chunk_text(text, counter.count_many, max_tokens=max_tokens, overlap=1)
        assert len(spans) > 1
        check_spans(text, spans, counter, max_tokens)
        # Sentence offsets are relative to the passage; each names a whole sentence of the
        # splitter, or (when the sentence alone exceeds the budget) a part of one.
        sentences = split_sentences(text)
        units = sorted(
            {(span.start + a, span.start + b) for span in spans for a, b in span.sentences}
        )
        for a, b in units:
            (owner,) = [s for s in sentences if s.start <= a and b <= s.end]
            if counter.count(owner.text) <= max_tokens:
                assert (a, b) == (owner.start, owner.end)
        # Every word of the text is in some passage, in order, exactly once per unit.
        assert [w for a, b in units for w in text[a:b].split()] == text.split()


def test_consecutive_passages_share_one_sentence(one_paragraph, counter):
    spans = chunk_text(one_paragraph, counter.count_many, max_tokens=120, overlap=1)
    assert len(spans) >= 4
    for prev, nxt in zip(spans, spans[1:], strict=False):
        last = (prev.start + prev.sentences[-1][0], prev.start + prev.sentences[-1][1])
        first = (nxt.start + nxt.sentences[0][0], nxt.start + nxt.sentences[0][1])
        assert first == last
        second = nxt.start + nxt.sentences[1][0] if len(nxt.sentences) > 1 else None
        assert second is None or second > prev.end


def test_no_overlap(one_paragraph, counter):
    spans = chunk_text(one_paragraph, counter.count_many, max_tokens=120, overlap=0)
    for prev, nxt in zip(spans, spans[1:], strict=False):
        assert nxt.start > prev.end


def _long_sentence(seed: int, words: int) -> str:
    rng = random.Random(seed)
    short = ["the", "a", "of", "cat", "dog", "ran", "and", "north", "talks"]
    long = [
        "pneumonoultramicroscopic",
        "antidisestablishmentarianism",
        "floccinaucinihilipilification",
        "hippopotomonstrosesquippedaliophobia",
    ]
    # Costly words first, cheap words after: parts of equal word counts would not fit.
    head = [rng.choice(long) for _ in range(words // 6)]
    tail = [rng.choice(short) for _ in range(words - len(head))]
    return " ".join(head + tail)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_very_long_sentence_is_split(counter, seed):
    sentence = _long_sentence(seed, 420) + " ."
    text = f"A short opening sentence.\n\n{sentence}\n\nA short closing sentence."
    assert counter.count(sentence) > 3 * 200
    spans = chunk_text(text, counter.count_many, max_tokens=200, overlap=1)
    assert len(spans) >= 4
    check_spans(text, spans, counter, 200)
    # The pieces, in order, rebuild the sentence word for word.
    start = text.index(sentence)
    pieces = []
    for span in spans:
        for a, b in span.sentences:
            if start <= span.start + a < start + len(sentence) and (
                not pieces or span.start + a > pieces[-1][0]
            ):
                pieces.append((span.start + a, text[span.start + a : span.start + b]))
    assert " ".join(p for _, p in pieces).split() == sentence.split()
    # No passage is just a repeat of part of its neighbour.
    for prev, nxt in zip(spans, spans[1:], strict=False):
        assert nxt.end > prev.end


def test_single_overlong_sentence_alone(counter):
    sentence = _long_sentence(9, 300)
    spans = chunk_text(sentence, counter.count_many, max_tokens=64, overlap=1)
    check_spans(sentence, spans, counter, 64)
    # Pieces are cut at word boundaries and none repeats another.
    assert [w for s in spans for w in sentence[s.start : s.end].split()] == sentence.split()


def test_empty_and_blank_text(counter):
    assert chunk_text("", counter.count_many, max_tokens=200, overlap=1) == []
    assert chunk_text(" \n\n \n", counter.count_many, max_tokens=200, overlap=1) == []
    (span,) = chunk_text("Just one.", counter.count_many, max_tokens=200, overlap=1)
    assert (span.start, span.end, span.sentences) == (0, 9, ((0, 9),))
