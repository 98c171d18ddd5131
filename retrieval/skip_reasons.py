"""Why an input gives no article, in words a user can act on."""

from __future__ import annotations

import errno
from collections.abc import Callable

from retrieval.models import Article, Skipped
from retrieval.textdecode import TextDecodeError


def os_reason(exc: BaseException) -> str:
    """The reason for a file that could not be opened or listed."""
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "cannot read: symlink loop"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return f"cannot read: {exc}"


def exc_reason(exc: BaseException) -> str:
    """The reason for any error met while reading an input."""
    if isinstance(exc, OSError):
        return os_reason(exc)
    if isinstance(exc, TextDecodeError):
        return exc.reason
    return f"cannot parse: {type(exc).__name__}: {exc}"


def guarded(build: Callable[..., Article | Skipped], where: str, *args) -> Article | Skipped:
    """``build(*args)``, or a Skipped for ``where`` if it fails: one odd record must not cost
    the rest of its file."""
    try:
        return build(*args)
    except Exception as exc:
        return Skipped(where, exc_reason(exc))
