"""Typed errors of the bot layer; each edge turns them into a short message."""

from retrieval.errors import RetrievalError


class DatelineError(Exception):
    """Base class for errors a user can act on; ``str(e)`` is the message to show."""

    exit_code = 1


class InvalidQuestionError(DatelineError):
    """The question is empty, too long, or otherwise unusable."""

    exit_code = 2


class ConfigError(DatelineError):
    """A setting is wrong (unknown LLM provider, bad URL, missing token)."""

    exit_code = 2


def user_message(exc: BaseException) -> str:
    """A one-line message for an error, suitable for a CLI or a chat reply (never a secret)."""
    from bot.redact import redact

    if isinstance(exc, (DatelineError, RetrievalError)):
        return redact(str(exc).splitlines()[0]) if str(exc).strip() else type(exc).__name__
    return f"unexpected error ({type(exc).__name__}); see the log for details"
