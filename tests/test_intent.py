"""What kind of answer a news question wants (bot/intent.py), against a fixed "now"."""

from __future__ import annotations

from datetime import date

import pytest

from bot.intent import read_intent, speaker_of, topic_of
from bot.timeframe import read_time

NOW = date(2025, 3, 1)


def intent(question: str, now: date = NOW):
    return read_intent(question, read_time(question, now))


def words(text: str) -> set[str]:
    return {w.strip("?,.!'").lower() for w in text.split()}


# --- kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "How did the official death toll from the Lower Kaveli floods change over time?",
        "How has Vantelle's count of affected customers changed?",
        "Give me the history of the Juniper Line",
        "Timeline of the Cardivexa recall, please",
        "When did Graham Tolliver resign, and when was his successor confirmed in the job?",
    ],
)
def test_timeline_questions(question):
    assert intent(question).kind == "timeline"


@pytest.mark.parametrize(
    "question",
    [
        "What is the current death toll?",
        "What is the most recent estimate of the strike's cost?",
        "Is the Juniper Line still delayed?",
        "What was the Juniper Line's budget as of May 2023?",
        "What is going to happen to the Grayhaven plant?",
        "What's next for the strike?",
    ],
)
def test_latest_questions(question):
    assert intent(question).kind == "latest"


@pytest.mark.parametrize(
    "question",
    [
        "What happened in March 2021?",
        "What's the latest news about Xi and Kim?",
        "Tell me about the Port Varrow strike",
        "Give me the background on the data breach",
        "What's going on with the metro line?",
        "What happened at Vantelle last week?",
        "What's in the agreement that ended the strike?",
        "What are the terms of the settlement?",
        "What is the current status of the class action?",
    ],
)
def test_summary_questions(question):
    assert intent(question).kind == "summary"


@pytest.mark.parametrize(
    "question",
    [
        "Why is the exchange significant?",
        "Why did the Kaveli River burst its banks?",
        "What caused the floods?",
        "What led to the strike?",
        "What was the reason for the delay?",
        "How come the recall was widened?",
    ],
)
def test_why_questions(question):
    assert intent(question).kind == "why"


def test_why_after_an_attribution():
    question = "According to the Omkar inquiry, why did operators open every gate at once?"
    assert intent(question).kind == "why"


def test_why_did_something_change_is_why():
    assert intent("Why did the budget change?").kind == "why"


@pytest.mark.parametrize(
    ("question", "surname"),
    [
        (
            "What did KBWA chairman Prakash Aldane say to defend the release of water"
            " from the Ambrana Dam?",
            "Aldane",
        ),
        ("What did Graham Tolliver say when he resigned as chief executive?", "Tolliver"),
        ("What did Commissioner Marguerite Sallow say when she announced the fine?", "Sallow"),
        ("What did Marguerite Vasquez-Hale tell MPs at the October 2023 hearing?", "Vasquez-Hale"),
        ("What did analyst Priya Ramaswell say about the recall in July 2023?", "Ramaswell"),
        ("What was Tolliver's response to the fine?", "Tolliver"),
    ],
)
def test_who_said_questions(question, surname):
    found = intent(question)
    assert found.kind == "who_said"
    assert found.speaker is not None and found.speaker.endswith(surname)


def test_speaker_is_the_name_not_the_title():
    who = speaker_of("What did KBWA chairman Prakash Aldane say to defend the release?")
    assert who == "Prakash Aldane"


def test_no_speaker_without_a_name():
    assert speaker_of("What did the dam authority admit last week?") is None
    assert speaker_of("What did they announce on 15 July 2024?") is None
    assert speaker_of("Who chairs the KBWA?") is None
    assert intent("What did the mayor say in March 2024?").kind == "lookup"


def test_who_said_about_changes_stays_who_said():
    assert intent("What did Graham Tolliver say about the changes to the board?").kind == (
        "who_said"
    )


def test_when_with_several_events_is_a_timeline():
    assert intent("When was Korvath arrested, convicted and sentenced?").kind == "timeline"


@pytest.mark.parametrize(
    "question",
    [
        "Who is the director of Lower Kaveli's Provincial Disaster Management Authority?",
        "How much rain did the Marrapur observatory record?",
        "Did Xi and Kim exchange messages in 2019?",
        "What did the first reports say?",
    ],
)
def test_lookup_questions(question):
    assert intent(question).kind == "lookup"


# --- flags ------------------------------------------------------------------------------------


def test_counts():
    assert intent("How many soldiers did the government deploy?").counts
    assert intent("How much was the fine?").counts
    assert intent("What was the toll from the floods?").counts
    assert intent("What was the number of ships at anchor?").counts
    assert not intent("Who was appointed to lead the inquiry?").counts


def test_yes_no():
    assert intent("Did Xi and Kim exchange messages in 2019?").yes_no
    assert intent("Is the line still delayed?").yes_no
    assert intent("Has the line opened yet?").yes_no
    assert not intent("Did the union say what it wanted?").yes_no
    assert not intent("What did the union want?").yes_no
    assert not intent("Who chairs the KBWA?").yes_no


# --- topic ------------------------------------------------------------------------------------


def test_topic_drops_intent_words():
    topic = intent("What's the latest news about Xi and Kim?").topic
    assert {"xi", "kim"} <= words(topic)
    assert not {"latest", "news", "what's"} & words(topic)


def test_topic_drops_happened_and_time_spans():
    topic = intent("What happened in the Port Varrow strike talks last week?").topic
    assert {"port", "varrow", "strike", "talks"} <= words(topic)
    assert not {"happened", "last", "week"} & words(topic)


def test_topic_drops_recency_and_timeline_words():
    assert "current" not in words(intent("What is the current death toll?").topic)
    assert "still" not in words(intent("Is the line still delayed?").topic)
    topic = intent("Give me the history of the strike").topic
    assert "strike" in words(topic) and "history" not in words(topic)


def test_topic_keeps_event_dates():
    topic = intent("What was the result of the June 9 vote?").topic
    assert "June 9 vote" in topic


def test_topic_drops_a_window_span():
    topic = intent("Did Xi and Kim exchange messages in 2019?").topic
    assert "2019" not in topic
    assert {"xi", "kim", "exchange", "messages"} <= words(topic)


def test_last_without_a_time_unit_asks_for_the_newest_report():
    assert intent("When did Xi and Kim last exchange messages?").kind == "latest"


def test_a_question_of_only_intent_words_is_searched_as_asked():
    question = "Latest news?"
    assert not words(topic_of(question, read_time(question, NOW))) - {""}
    read = intent(question)
    assert read.topic == question and read.broad


# --- the attribute asked about ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "attribute"),
    [
        ("What is Prakash Aldane's annual salary as chairman of the authority?", "annual salary"),
        ("What was the storage capacity of the reservoir?", "storage capacity"),
        ("Which manufacturer built the line's trains?", "manufacturer"),
        ("Under what stock ticker symbol do the shares trade?", "stock ticker symbol"),
        ("What is the current status of the class action?", None),  # answer-kind words only
        ("What was the name of the mediator?", None),  # generic
        ("Who chairs the harbour authority?", None),  # not that form
    ],
)
def test_asked_attribute(question, attribute):
    assert intent(question).attribute == attribute


@pytest.mark.parametrize(
    ("question", "growth"),
    [
        ("How did the Cardivexa recall grow over July?", True),
        ("How has the death toll risen since the floods began?", True),
        ("Why did the Cardivexa recall grow?", False),  # a why question
        ("How has Vantelle's count of affected customers changed?", False),
    ],
)
def test_a_change_in_size_asks_a_timeline_for_figures(question, growth):
    asked = intent(question)
    assert asked.growth is growth
    if growth:
        assert asked.quantity
