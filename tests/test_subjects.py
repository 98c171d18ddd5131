"""Naming the person behind an opening pronoun (bot/subjects.py)."""

from __future__ import annotations

from bot.subjects import last_full_name, name_the_subject


def test_an_opening_pronoun_gets_the_name_before_it():
    before = ["The harbour master, Ines Varga, visited the breakwater on Tuesday."]
    assert name_the_subject("She said repairs would take a year.", before) == (
        "She (Ines Varga) said repairs would take a year."
    )


def test_no_name_or_no_pronoun_leaves_the_quote_alone():
    assert name_the_subject("She said so.", ["The board met on Friday."]) == "She said so."
    assert name_the_subject("Repairs will take a year.", ["Ines Varga spoke."]) == (
        "Repairs will take a year."
    )
    assert name_the_subject("He (Tomas Reyes) agreed.", ["Ines Varga spoke."]) == (
        "He (Tomas Reyes) agreed."
    )


def test_the_last_name_before_the_quote_wins_and_months_are_not_names():
    before = ["Ines Varga met Tomas Reyes.", "On Friday March came early."]
    assert last_full_name(before) == "Tomas Reyes"
    assert last_full_name(["In March the board met."]) is None
