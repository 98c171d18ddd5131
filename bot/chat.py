"""The chat core every front-end (the REPL, the Discord adapter) answers through.

A front-end keeps only what is its own (terminal widgets; Discord objects, permissions
and interactions). :class:`Chat` gives it the rest: the question rule with the
front-end's length limit and rate limit (:meth:`Chat.admit`), and answers that remember
their conversation (:meth:`Chat.ask`). Rendering an answer as text lives in
:mod:`bot.reply`, splitting text at a limit in :mod:`bot.text`, votes in
:mod:`bot.feedback`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

from bot.answer import Answer, Turn
from bot.errors import DatelineError, RateLimitedError, user_message
from bot.memory import ConversationMemory
from bot.question import check_question
from bot.ratelimit import SlidingWindowLimiter
from retrieval.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexUnavailableError,
    ModelUnavailableError,
    RetrievalError,
)
from retrieval.models import ArticleInfo


class IngestReportLike(Protocol):
    """What ``ingest_paths`` returns, as far as a front-end cares."""

    def summary(self) -> str:
        """One human paragraph describing what was indexed or skipped."""
        ...


class AnswerService(Protocol):
    """The answer service a front-end drives; every method blocks."""

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer ``question``; raises ``InvalidQuestionError`` or another ``DatelineError``.

        In LLM mode ``on_token`` receives the reply as it is written (from the calling thread).
        """
        ...

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article."""
        ...

    def ingest_bytes(self, data: bytes, name: str) -> IngestReportLike:
        """Index the articles in ``data``, the content of a file called ``name``."""
        ...


# Index failures name server paths and the admin's fix; a chat user gets neither.
ADMIN_ONLY = (IndexUnavailableError, IndexCorruptError, ModelUnavailableError)


def public_message(exc: BaseException) -> str:
    """What a chat user is told about an error: ``user_message`` without server details."""
    if isinstance(exc, ADMIN_ONLY):
        return (
            "the article index is not available right now; the bot's admin can see why in its log"
        )
    if isinstance(exc, IndexBusyError):
        return "the index is being updated; please try again in a minute"
    return user_message(exc)


def log_failure(log: logging.Logger, exc: BaseException, what: str) -> None:
    """Log a failed request: the user's own mistakes at INFO, the rest as errors."""
    if isinstance(exc, ADMIN_ONLY):  # the user only sees that the index is unavailable
        log.error("%s: %s", what, exc)
    elif isinstance(exc, (DatelineError, RetrievalError)):
        log.info("%s: %s", what, exc)
    else:
        log.error("%s failed", what, exc_info=exc)


class Chat:
    """Questions in, answers out, for one front-end; safe to call from several threads.

    ``history_turns`` is how many turns each conversation remembers;
    ``max_question_chars`` is the front-end's own limit (None: only the service's);
    ``rate_limit_per_minute`` (None: no limit) counts per asker.
    """

    def __init__(
        self,
        service: AnswerService,
        *,
        history_turns: int,
        max_question_chars: int | None = None,
        rate_limit_per_minute: int | None = None,
        conversations: int = 4096,
    ) -> None:
        self.service = service
        self.max_question_chars = max_question_chars
        self.memory = ConversationMemory(history_turns, conversations=conversations)
        self.limiter = (
            SlidingWindowLimiter(rate_limit_per_minute, 60.0) if rate_limit_per_minute else None
        )

    def admit(self, text: str | None, asker: Hashable | None = None) -> str:
        """The question on one line, if the front-end takes it from ``asker``.

        Raises ``EmptyQuestionError`` or ``QuestionTooLongError`` (nothing is counted
        then), or ``RateLimitedError`` when ``asker`` asked too often. The service cleans
        the question further (``bot.question.clean_question``) when it answers.
        """
        question = check_question(text, self.max_question_chars or sys.maxsize)
        if self.limiter is not None:
            decision = self.limiter.check(asker)
            if not decision.allowed:
                raise RateLimitedError(
                    decision.retry_after, self.limiter.limit, notify=decision.notify
                )
        return question

    def knows(self, conversation: Hashable) -> bool:
        """Whether the memory holds ``conversation`` (not so after a restart)."""
        return conversation in self.memory

    def history(self, conversation: Hashable | None) -> list[Turn]:
        """The remembered turns of ``conversation``, oldest first (none if unknown)."""
        if conversation is None:
            return []
        return self.memory.history(conversation) or []

    def ask(
        self,
        question: str,
        conversation: Hashable | None = None,
        *,
        earlier: Sequence[Turn] | None = None,
        **options: Any,
    ) -> Answer:
        """Answer ``question`` within ``conversation`` and remember the answer there.

        Blocks. Without a conversation the question stands alone. ``earlier`` is what
        the front-end recovered of a conversation the memory does not hold; ``options``
        go to the service's ``ask`` (``k``, ``llm``, ``on_token``).
        """
        if conversation is None:
            return self.service.ask(question, list(earlier or ()), **options)
        history = self.memory.begin(conversation, earlier)
        answer = self.service.ask(question, history, **options)
        self.memory.add(conversation, answer)
        return answer

    def forget(self, conversation: Hashable) -> None:
        """Start ``conversation`` afresh."""
        self.memory.forget(conversation)
