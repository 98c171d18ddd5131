"""Lower-cased wire copy made readable for quoting (bot/wirecopy.py)."""

from __future__ import annotations

import pytest

from bot.wirecopy import cased_vocabulary, is_flattened, readable

FLAT = (
    "seoul/beijing ( reuters ) - chinese president xi jinping replied to north korean leader"
    " kim jong un , congratulating him on his re-election ."
)
CASED = [
    "SEOUL: Chinese President Xi Jinping has sent North Korean leader Kim Jong-Un a message.",
    "The talks between Xi Jinping and Kim Jong Un in Beijing were reported by Reuters.",
    "Officials in Seoul said China's Communist party congress had ended.",
]


@pytest.fixture(scope="module")
def vocabulary() -> dict[str, str]:
    return cased_vocabulary(CASED)


# --- is_flattened ------------------------------------------------------------------------------


def test_lower_cased_wire_copy_is_flattened():
    assert is_flattened(FLAT)


def test_ordinary_text_is_not_flattened():
    assert not is_flattened(CASED[0])
    assert not is_flattened("Floods killed twelve people in the province on Monday, police said.")


def test_short_text_is_never_flattened():
    assert not is_flattened("china s party")  # too few letters to judge


# --- cased_vocabulary --------------------------------------------------------------------------


def test_vocabulary_takes_words_written_capitalized(vocabulary):
    assert vocabulary["xi"] == "Xi"
    assert vocabulary["jinping"] == "Jinping"
    assert vocabulary["beijing"] == "Beijing"
    assert vocabulary["reuters"] == "Reuters"
    assert vocabulary["communist"] == "Communist"


def test_vocabulary_skips_lower_case_words_and_sentence_starts(vocabulary):
    assert "party" not in vocabulary  # written "party"
    assert "talks" not in vocabulary
    assert "the" not in vocabulary  # only capitalized as the first word of a sentence
    assert "officials" not in vocabulary


def test_vocabulary_follows_the_majority():
    vocab = cased_vocabulary(
        [
            "The State Department said so. Then the state said no.",
            "A spokesman for the state said the state would not comment.",
        ]
    )
    assert "state" not in vocab
    assert vocab["department"] == "Department"


def test_vocabulary_ignores_flattened_texts():
    assert cased_vocabulary([FLAT]) == {}


# --- readable ----------------------------------------------------------------------------------


def test_readable_repairs_the_issue_example():
    text = (
        "officials said china s communist party congress , saying xi jinping would attend"
        " the meeting in beijing ."
    )
    vocab = {"china": "China", "communist": "Communist", "xi": "Xi", "jinping": "Jinping"}
    assert readable(text, vocab) == (
        "Officials said China's Communist party congress, saying Xi Jinping would attend"
        " the meeting in beijing."
    )


def test_readable_uses_the_vocabulary_from_other_texts(vocabulary):
    out = readable(FLAT, vocabulary)
    assert out.startswith("Seoul/Beijing (Reuters) - Chinese President Xi Jinping replied")
    assert "Kim Jong Un, congratulating" in out
    assert out.endswith("re-election.")
    assert " ," not in out and " ." not in out and "( " not in out


def test_readable_restores_possessives_and_sentence_case():
    text = "kim s envoy arrived on thursday . the talks lasted two hours , officials said ."
    out = readable(text, {"kim": "Kim"})
    assert out == "Kim's envoy arrived on thursday. The talks lasted two hours, officials said."


def test_readable_capitalizes_dotted_abbreviations():
    text = "talks between the u.s. envoy and officials from the region lasted two hours ."
    out = readable(text, {})
    assert "the U.S. " in out and "u.s." not in out


def test_readable_does_not_capitalize_after_an_abbreviation():
    text = "officials said the u.s. was not invited to the talks ."
    assert readable(text, {}) == "Officials said the U.S. was not invited to the talks."


def test_readable_leaves_ordinary_text_unchanged(vocabulary):
    text = "China's leader met Kim , the agency said ."  # spacing odd, but not flattened
    assert readable(text, vocabulary) == text


def test_readable_keeps_the_words():
    out = readable(FLAT, {})
    assert out.lower().replace(" ", "") == FLAT.lower().replace(" ", "")
