"""Which sentences hold the kind of thing a question asks for (bot/extractive.py), and how
the news shapes weigh causes and freshness (bot/news_answers.py)."""

from __future__ import annotations

import pytest

from bot.extractive import (
    Weights,
    _trim,
    choose_quotes,
    expected_bonus,
    names_in,
    organisation_not_given,
    score_sentences,
)
from bot.news_answers import CAUSE_BONUS, _cause_bonus
from retrieval.models import Hit, Passage


def test_names_skip_sentence_openers_months_and_labels():
    sentence = "Correction: An earlier version misstated the date as 2 March. Claims open in April."
    assert names_in(sentence) == set()
    assert names_in("The fund will be run by Fairhall Claims Services.") == {
        "fairhall",
        "claims",
        "services",
    }


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        (
            "Which company will administer the fund?",
            "The fund will be run by an administrator, Fairhall Claims Services.",
            1.0,
        ),
        (
            "Which company will administer the fund?",
            "Correction: An earlier version misstated the date on which claims open.",
            0.0,
        ),
        (
            "Where were the talks held?",
            "He arrived at the Stellan Hotel, where talks are held.",
            1.0,
        ),
        ("Who led the Kestrel trial?", "The Kestrel trial enrolled 4,212 patients.", 0.0),
        ("How many lots were recalled?", "The company recalled 118 lots.", 1.0),
        ("Why did the talks fail?", "The talks failed.", None),
    ],
)
def test_expected_bonus(question, sentence, expected):
    assert expected_bonus(question, sentence) == expected


def test_a_cause_after_the_event_counts_fully():
    stems = {"recal", "cardi"}
    full = "The company recalled 118 lots of Cardivexa after tests found an impurity."
    temporal = "Reports stand at 61, unchanged since the first recall."
    weak = "Shares fell sharply after the company warned on profits."
    elsewhere = "The head of the company apologised for the failures that led to the crisis."
    assert _cause_bonus(full, stems) == CAUSE_BONUS
    assert _cause_bonus(temporal, stems) == 0.0  # "since the first ..." says when
    assert _cause_bonus(weak, stems) == CAUSE_BONUS / 2
    assert _cause_bonus(elsewhere, stems) == CAUSE_BONUS / 2
    assert _cause_bonus("The heart failure drug went on sale in March.", stems) == 0.0


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("Which company paid the bribes?", "Deltamar Construction paid them.", 1.0),
        ("Which company paid the bribes?", "The Court of Appeal cut the sentence.", 0.0),
        ("Which firm led the inquiry?", "The engineers Arlen & Voss led it.", 1.0),
        ("Which firm investigated Vantelle?", "Vantelle Telecom said it was hacked.", 0.0),
    ],
)
def test_an_organisation_question_expects_an_organisations_name(question, sentence, expected):
    assert expected_bonus(question, sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Lukas Brenner, the joint venture's project director, said it would open.", 1.0),
        ("Project director Lukas Brenner said it was too early to speculate.", 1.0),
        ("The Serravel Metropolitan Transit Authority awarded the contract.", 0.0),
    ],
)
def test_a_who_is_question_expects_the_role_asked_about_beside_a_name(sentence, expected):
    question = "Who is the Halvorsen-Brisk Joint Venture's project director?"
    assert expected_bonus(question, sentence) == expected


@pytest.mark.parametrize(
    ("quoted", "missing"),
    [
        (["The figure came from a forensic investigation by outside specialists."], True),
        (["The investigation was carried out by Harwick Forensics for Vantelle."], False),
    ],
)
def test_a_which_firm_question_whose_quotes_name_no_firm_is_not_answered(quoted, missing):
    question = "Which firm carried out Vantelle's forensic investigation?"
    assert organisation_not_given(question, quoted) is missing
    assert not organisation_not_given("Who investigated the breach?", quoted)


def _passage_hit(aid: str, sentences: list[str]) -> Hit:
    text = " ".join(sentences)
    spans, at = [], 0
    for s in sentences:
        spans.append((at, at + len(s)))
        at += len(s) + 1
    return Hit(Passage(f"{aid}:0", aid, 0, 0, len(text), text, sentences=tuple(spans)), 1.0)


def _quotes_for_savery(hits: list[Hit], ranked: list[tuple[float, int, int]], **options):
    """choose_quotes for a question about Savery, with the sentences scored as ``ranked``
    (score, passage, sentence), in a 30-word budget."""
    rows = [(score, i, j, hits[i].passage.sentence_texts()[j]) for score, i, j in ranked]
    return choose_quotes(
        "What was invented by Savery?",
        hits,
        ["invent", "saveri"],
        {},
        lambda texts: [t.lower().split() for t in texts],
        max_sentences=2,
        max_words=30,
        rows=rows,
        **options,
    )


def test_a_long_sentence_of_the_best_passage_is_quoted_in_part_not_skipped():
    long = (
        "Over the following decades the company built many engines of every size for mines, "
        "mills and waterworks across the country, and the pump invented by Savery in 1698 "
        "remained the model that most of those engines followed for a long time afterwards."
    )
    best = _passage_hit("a", ["Savery worked in London as a military engineer.", long])
    other = _passage_hit("b", ["Engines were also built in France."])
    quotes = _quotes_for_savery([best, other], [(1.0, 0, 0), (0.9, 0, 1), (0.8, 1, 0)])
    assert [(q.hit, q.sentence) for q in quotes] == [(0, 0), (0, 1)]
    assert "invented by Savery in 1698" in quotes[1].text
    assert len(quotes[0].text.split()) + len(quotes[1].text.split()) <= 30 + 2  # "…" marks


def test_a_long_sentence_of_another_passage_is_still_skipped():
    long = " ".join(["word"] * 40)
    best = _passage_hit("a", ["Savery worked in London as a military engineer."])
    other = _passage_hit("b", [long, "Engines were also built in France."])
    quotes = _quotes_for_savery([best, other], [(1.0, 0, 0), (0.9, 1, 0), (0.8, 1, 1)])
    assert [(q.hit, q.sentence) for q in quotes] == [(0, 0), (1, 1)]


_LONG_SAVERY = (
    "Over the following decades the company built many engines of every size for mines, "
    "mills and waterworks across the country, and the pump invented by Savery in 1698 "
    "remained the model that most of those engines followed for a long time afterwards."
)


def test_with_cut_elsewhere_a_better_long_sentence_of_another_passage_is_quoted_in_part():
    best = _passage_hit("a", ["Savery worked in London as a military engineer."])
    other = _passage_hit("b", [_LONG_SAVERY, "Engines were also built in France."])
    ranked = [(1.0, 0, 0), (0.9, 1, 0), (0.8, 1, 1)]
    quotes = _quotes_for_savery([best, other], ranked, cut_elsewhere=True)
    assert [(q.hit, q.sentence) for q in quotes] == [(0, 0), (1, 0)]
    assert "invented by Savery in 1698" in quotes[1].text
    assert quotes[1].cut and not quotes[0].cut
    assert len(quotes[0].text.split()) + len(quotes[1].text.split()) <= 30 + 2  # "…" marks


def test_with_cut_elsewhere_the_first_quotes_passage_still_comes_first():
    best = _passage_hit("a", ["Savery worked in London as a military engineer.", _LONG_SAVERY])
    other = _passage_hit("b", [_LONG_SAVERY.replace("Savery", "Savery's rival"), "Short."])
    ranked = [(1.0, 0, 0), (0.95, 1, 0), (0.9, 0, 1), (0.8, 1, 1)]
    quotes = _quotes_for_savery([best, other], ranked, cut_elsewhere=True)
    assert [(q.hit, q.sentence) for q in quotes] == [(0, 0), (0, 1)]
    assert not quotes[1].cut


def test_with_cut_elsewhere_a_weaker_long_sentence_does_not_replace_one_that_fits():
    best = _passage_hit("a", ["Savery worked in London as a military engineer."])
    other = _passage_hit("b", ["Engines were also built in France.", _LONG_SAVERY])
    ranked = [(1.0, 0, 0), (0.9, 1, 0), (0.85, 1, 1)]
    quotes = _quotes_for_savery([best, other], ranked, cut_elsewhere=True)
    assert [(q.hit, q.sentence) for q in quotes] == [(0, 0), (1, 0)]


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("When was the naturalisation act passed?", "1708"),
        ("How many refugees fled after the naturalisation act was passed?", "50,000"),
    ],
)
def test_a_cut_sentence_keeps_a_word_of_the_kind_the_question_asks_for(question, wanted):
    sentence = (
        "Both before and after the 1708 passage of the Foreign Protestants Naturalisation Act, "
        "an estimated 50,000 Protestant Walloons and Huguenots fled to England, with many "
        "moving on to Ireland, where the naturalisation act was passed again years later."
    )
    terms = {"naturalis", "act", "pass", "fled", "refuge"}  # stems, as tokenize makes them
    assert wanted not in _trim(sentence, terms, 9)  # the window with most terms
    assert wanted in _trim(sentence, terms, 9, question)


@pytest.mark.parametrize(
    "asking",
    [
        "Which teams have never reached a cup final?",
        'Why would anyone close a working pier?"',
        "(So who pays for the new roof?)",
    ],
)
def test_a_sentence_that_asks_scores_below_the_same_words_stated(asking):
    stated = asking.strip('"()?') + "."
    hit = _passage_hit("a", [asking, stated])  # the same words, measured alike
    rows = score_sentences("cup final pier roof", [hit], ["cup"], {"cup": 1.0}, _split)
    scores = {text: score for score, _, _, text in rows}
    assert scores[asking] == pytest.approx(scores[stated] * Weights().asking)


def _split(texts):
    return [t.lower().strip('"()?.').split() for t in texts]
