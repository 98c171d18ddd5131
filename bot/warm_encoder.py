"""The question encoder, loading on its own thread while a command starts.

A one-shot ``ask`` spends most of its first half second importing the command line and
reading the settings; onnxruntime builds its session without holding the GIL, so the
encoder is started first and is ready, or nearly, when the question needs it. Only the
standard library and ``retrieval.embeddings`` (itself cheap) are imported here.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.embeddings import Embedder

# What index.query_backend "auto" resolves to for the shipped settings (a test checks):
# the encoder is started before the settings are read.
LIKELY_BACKEND = "onnx"

_started: Embedder | None = None
_started_lock = threading.Lock()


def start(backend: str, one_shot: bool) -> Embedder:
    """A question encoder for ``backend``, loading on its own thread.

    ``one_shot`` (a process that encodes one question) starts its session faster at a
    small cost per encode (``Embedder(prepack=False)``).
    """
    from retrieval.embeddings import Embedder

    encoder = Embedder(backend, 1, prepack=not one_shot)
    # Not a daemon: the process waits for it before exiting, since onnxruntime aborts
    # when the interpreter shuts down under a session being built.
    threading.Thread(target=_warm, args=(encoder,), name="warm-encoder").start()
    return encoder


def start_early(one_shot: bool) -> None:
    """Start the encoder for ``LIKELY_BACKEND`` now, for ``take`` to hand out later."""
    global _started
    with _started_lock:
        if _started is None:
            _started = start(LIKELY_BACKEND, one_shot)


def take(backend: str, one_shot: bool) -> Embedder:
    """The encoder ``start_early`` started, if it is for ``backend``; else a new one."""
    global _started
    with _started_lock:
        encoder, _started = _started, None
    if encoder is not None and encoder.backend == backend:
        return encoder
    return start(backend, one_shot)


def _warm(encoder: Embedder) -> None:
    try:
        encoder.warm()
    except Exception as exc:  # the question's own encode reports it, as a typed error
        logging.getLogger("bot.warm_encoder").debug("warming the encoder failed: %s", exc)
