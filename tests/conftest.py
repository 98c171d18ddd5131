"""Session-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def llama():
    """One real llama.cpp server with SmolLM2-135M-Instruct for the whole test session."""
    from tests.llama_server import start_llama

    server = start_llama()
    yield server
    server.stop()


@pytest.fixture
def local_llm_env(monkeypatch):
    """No API key or proxy settings leaking into a client that talks to 127.0.0.1."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
