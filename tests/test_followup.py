"""Follow-up questions resolved against the previous turn (extractive mode)."""

from __future__ import annotations

from bot.answer import Turn
from bot.followup import answer_names, expand_query


def test_answer_names_in_the_order_given_without_sentence_openers():
    answer = "At Ostrander-Pell's plant in Grayhaven, about 30 miles north of Linden Harbor."
    assert answer_names(answer) == ["Ostrander-Pell's", "Grayhaven", "Linden Harbor"]


def test_answer_names_skip_the_date_and_outlet_in_front_and_the_markers():
    answer = "11 February 2025 (Meridian Wire): Rohan Deshal was named acting chairman. [1]"
    assert answer_names(answer) == ["Rohan Deshal"]


def test_a_pronoun_becomes_the_person_the_previous_answer_named():
    history = [Turn("Who replaced Aldane?", "Rohan Deshal, his deputy.")]
    assert expand_query("What did he say?", history).startswith("What did Rohan Deshal say?")


def test_its_becomes_the_possessive_of_the_thing_named():
    history = [
        Turn(
            "Which consortium is building the line?",
            "The Halvorsen-Brisk Joint Venture, a partnership of Halvorsen Civil and Brisk.",
        )
    ]
    question = expand_query("Who is its project director?", history)
    assert question == "Who is Halvorsen-Brisk Joint Venture's project director?"


def test_a_question_that_stands_alone_is_kept():
    history = [Turn("Who replaced Aldane?", "Rohan Deshal.")]
    assert expand_query("Who chairs the Kaveli Basin Water Authority?", history) == (
        "Who chairs the Kaveli Basin Water Authority?"
    )


def test_that_thing_carries_the_first_names_of_the_answer_not_the_old_question():
    history = [
        Turn(
            "Where were the contaminated tablets made?",
            "At Ostrander-Pell's plant in Grayhaven, about 30 miles north of Linden Harbor.",
        )
    ]
    question = expand_query("What is going to happen to that plant?", history)
    assert question == "What is going to happen to that plant? Ostrander-Pell's Grayhaven"


def test_without_names_the_old_questions_words_are_carried():
    history = [Turn("When did the dam's sluice gates open?", "on the night of july 13.")]
    question = expand_query("Why then?", history)
    assert question.startswith("Why then?") and "sluice" in question
