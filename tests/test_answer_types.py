"""Which sentences hold the kind of thing a question asks for (bot/extractive.py), and how
the news shapes weigh causes and freshness (bot/news_answers.py)."""

from __future__ import annotations

import pytest

from bot.extractive import _expected_bonus, names_in, organisation_not_given
from bot.news_answers import CAUSE_BONUS, _cause_bonus


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
    assert _expected_bonus(question, sentence) == expected


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
    assert _expected_bonus(question, sentence) == expected


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
    assert _expected_bonus(question, sentence) == expected


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
