"""Keep secrets (the Discord token, provider API keys) out of logs and messages.

Secrets are read from the environment only; the code never logs them on purpose. This is
the second line of defence: a library that logs a request, or a provider that echoes a
key in an error body, still shows ``[redacted]`` instead of the value.
"""

from __future__ import annotations

import logging
import os
import re

REDACTED = "[redacted]"
# Environment variables whose values are secrets: DISCORD_TOKEN, OPENAI_API_KEY, ...
_SECRET_NAME = re.compile(r"(?:TOKEN|API_?KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.I)
_MIN_LENGTH = 8  # shorter values ("1", "true") would redact ordinary words


def secret_values() -> list[str]:
    """The values of secret-looking environment variables, longest first."""
    values = {
        value.strip()
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name) and len(value.strip()) >= _MIN_LENGTH
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every secret value replaced by ``[redacted]``."""
    for secret in secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that removes secrets from the message and traceback of a record."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        if not secrets:
            return True
        message = record.getMessage()
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
