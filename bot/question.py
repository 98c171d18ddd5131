"""The one rule for a question's text, whichever front-end or command it comes from.

The service applies :func:`clean_question` (with ``answer.max_question_chars``) to
everything it answers or searches. A chat front-end first applies its first step,
:func:`check_question`, with its own, tighter limit, so it can refuse a blank or long
question before it shows that it is working. Retrieval never cleans: it is handed clean
text.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import EmptyQuestionError, InvalidQuestionError, QuestionTooLongError
from bot.text import one_line

# Terminal escape sequences: CSI ("ESC [ 0 m") and the two-character ones ("ESC c").
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
# Cs: lone surrogates (undecodable bytes in argv) that the tokenizer cannot encode.
_CONTROL = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def check_question(text: str | None, max_chars: int) -> str:
    """The question on one line, if it is not blank and not longer than ``max_chars``.

    Raises :class:`EmptyQuestionError` or :class:`QuestionTooLongError`. This is what a
    chat front-end refuses before it shows that it is working; anything else wrong with
    the question the service refuses, as an answer that failed.
    """
    text = one_line(text)
    if not text:
        raise EmptyQuestionError("the question is empty; ask something about the articles")
    if len(text) > max_chars:
        raise QuestionTooLongError(len(text), max_chars)
    return text


def clean_question(text: str | None, max_chars: int) -> str:
    """The question without control characters or terminal colour codes, checked.

    Raises what :func:`check_question` raises (for what is left once the control
    characters are gone), and :class:`InvalidQuestionError` when it has no word in it.
    """
    if text is None:
        raise EmptyQuestionError("the question is empty")
    text = _ANSI_ESCAPE.sub(" ", str(text))  # colour codes pasted from a terminal
    text = "".join(" " if unicodedata.category(ch) in _CONTROL else ch for ch in text)
    text = check_question(text, max_chars)
    if not re.search(r"\w", text):
        raise InvalidQuestionError("the question has no words in it")
    return text
