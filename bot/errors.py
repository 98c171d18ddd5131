"""Typed errors of the bot layer; each edge turns them into a short message."""

import math

from retrieval.errors import RetrievalError


class DatelineError(Exception):
    """Base class for errors a user can act on; ``str(e)`` is the message to show."""

    exit_code = 1


class InvalidQuestionError(DatelineError):
    """The question is empty, too long, or otherwise unusable."""

    exit_code = 2


class EmptyQuestionError(InvalidQuestionError):
    """Nothing is left of the question once it is cleaned."""


class QuestionTooLongError(InvalidQuestionError):
    """The question is longer than the limit; ``length`` and ``limit`` say by how much."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"the question is too long ({length} characters; the limit is {limit})")
        self.length = length
        self.limit = limit


class RateLimitedError(DatelineError):
    """Someone asked too often; ``notify`` is true only for the first refusal in a row."""

    def __init__(self, retry_after: float, per_minute: int, *, notify: bool = True) -> None:
        wait = max(1, math.ceil(retry_after))
        super().__init__(
            f"You've reached {per_minute} questions a minute — please wait {wait} s and ask again."
        )
        self.retry_after = retry_after
        self.per_minute = per_minute
        self.notify = notify


class ConfigError(DatelineError):
    """A setting is wrong (unknown LLM provider, bad URL, missing token)."""

    exit_code = 2


def user_message(exc: BaseException) -> str:
    """A one-line message for an error, suitable for a CLI or a chat reply (never a secret)."""
    from bot.redact import redact

    if isinstance(exc, (DatelineError, RetrievalError)):
        return redact(str(exc).splitlines()[0]) if str(exc).strip() else type(exc).__name__
    return f"unexpected error ({type(exc).__name__}); see the log for details"
