"""Secrets (the Discord token, provider API keys) never reach logs, errors or ``--json`` output.

Every test sets distinctive random values, drives the paths that could leak them (a rejected
or unreachable Discord login, an LLM answering 401/500 or hanging, a provider that echoes the
key back in its error, verbose and DEBUG logging, ``dateline config``) and searches every
byte of output for them. Where the secret is used (the LLM request), the test also checks
that it really was sent, so its absence from the output means something.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from bot import discord_bot
from bot.discord_bot import DatelineBot
from bot.errors import ConfigError, DatelineError, user_message
from bot.redact import REDACTED, RedactingFilter, install_log_redaction, redact
from config.settings import Settings
from tests.helpers import cli_env, make_service, run_dateline, seed_home
from tests.openai_stub import OpenAIStub, _Handler

TOKEN = f"MTk{secrets.token_hex(12)}.G{secrets.token_hex(3)}.{secrets.token_urlsafe(27)}"
API_KEY = f"sk-test-{secrets.token_urlsafe(32)}"
SECRETS = (TOKEN, API_KEY)


def assert_clean(*texts: Any) -> None:
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        for secret in SECRETS:
            assert secret not in str(text), f"a secret leaked: {str(text)[:300]}"
            assert secret[-16:] not in str(text), "the end of a secret leaked"


@pytest.fixture(autouse=True)
def _secrets_in_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "absent.toml"))


class EchoingStub(OpenAIStub):
    """An OpenAI-compatible server that, when failing, echoes the request's key back
    (as some providers and proxies do); it records the Authorization headers it got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth: list[str] = []

    def start(self) -> EchoingStub:
        from http.server import ThreadingHTTPServer
        from threading import Thread

        stub = self

        class Handler(_Handler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                stub.auth.append(self.headers.get("Authorization", ""))
                if stub.mode == "error":
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length)
                    message = f"Incorrect API key provided: {self.headers.get('Authorization')}"
                    error = {"message": message, "type": "invalid_request_error", "code": None}
                    self._send_json(stub.status, {"error": error})
                    return
                super().do_POST()

        Handler.stub = self  # type: ignore[attr-defined]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self


# -- the command line, in real subprocesses --------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "stub",
    [
        {"mode": "error", "status": 401},
        {"mode": "error", "status": 500},
        {"mode": "hang"},
        {"reply": "Song Tao is a minister."},
        {"reply": "Song Tao is a minister [1]."},
    ],
    ids=["401-echoing-the-key", "500-echoing-the-key", "hang", "no-citation", "ok"],
)
def test_ask_json_and_debug_logs_hold_no_secret(tmp_path_factory, stub: dict) -> None:
    home = seed_home(tmp_path_factory)
    with EchoingStub(**stub) as server:
        env = cli_env(
            DISCORD_TOKEN=TOKEN,
            OPENAI_API_KEY=API_KEY,
            DATELINE_ANSWER__LLM_BASE_URL=server.base_url,
            DATELINE_ANSWER__LLM_TIMEOUT="3",
            DATELINE_LOG_LEVEL="DEBUG",
        )
        args = ("ask", "--json", "--llm", "openai:test-model", "Who is Song Tao?")  # DEBUG logs
        result = run_dateline(*args, home=home, env=env, timeout=120, text=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    answer = json.loads(result.stdout)
    assert "Song Tao" in answer["answer"]
    assert server.auth and all(a == f"Bearer {API_KEY}" for a in server.auth)  # it was used
    assert_clean(result.stdout, result.stderr)
    if stub.get("mode") == "error":
        assert answer["fallback_reason"].startswith(("llm error", "llm timeout"))
    if stub.get("status") == 401:  # the echoed key was logged (at DEBUG), and redacted
        assert b"Incorrect API key provided: Bearer " + REDACTED.encode() in result.stderr


@pytest.mark.slow
def test_discord_login_failures_hold_no_secret(tmp_path: Path) -> None:
    """The real binary with a token Discord cannot accept (or cannot even be reached)."""
    env = cli_env(DISCORD_TOKEN=TOKEN, OPENAI_API_KEY=API_KEY, DATELINE_LOG_LEVEL="DEBUG")
    result = run_dateline("-v", "discord", home=tmp_path, env=env, timeout=90, text=False)
    assert result.returncode in (1, 2), result.stderr[-2000:]
    assert_clean(result.stdout, result.stderr)
    last = result.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in result.stderr.decode()
    assert "rejected the token" in last or "cannot reach Discord" in last, last


def test_config_output_holds_no_secret(tmp_path: Path) -> None:
    env = cli_env(DISCORD_TOKEN=TOKEN, OPENAI_API_KEY=API_KEY)
    result = run_dateline("-v", "config", home=tmp_path, env=env, timeout=60, text=False)
    assert result.returncode == 0
    settings = json.loads(result.stdout.decode().split("\n", 1)[1])
    assert "home" in settings and "discord" in settings
    assert_clean(result.stdout, result.stderr)


# -- Discord, in process ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raised",
    [
        discord.LoginFailure(f"Improper token has been passed: {TOKEN}"),
        discord.PrivilegedIntentsRequired(None),
        discord.GatewayNotFound(),
        aiohttp.ClientConnectionError(f"cannot connect with {TOKEN}"),
        OSError(f"network is unreachable {TOKEN}"),
        TimeoutError(),
    ],
    ids=["login-failure", "intents", "gateway", "aiohttp", "oserror", "timeout"],
)
def test_run_discord_errors_hold_no_secret(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    raised: Exception,
) -> None:
    seen: list[str] = []

    async def start(self: DatelineBot, token: str, *, reconnect: bool = True) -> None:
        seen.append(token)
        raise raised

    monkeypatch.setattr(DatelineBot, "start", start)
    with caplog.at_level(logging.DEBUG), pytest.raises(DatelineError) as info:
        discord_bot.run_discord(Settings(home=tmp_path), make_service(tmp_path))
    assert seen == [TOKEN]
    assert isinstance(info.value, ConfigError | DatelineError)
    assert info.value.__suppress_context__  # the original (which may hold it) is not chained
    assert_clean(str(info.value), user_message(info.value), caplog.text)


async def test_discord_answer_and_logs_hold_no_secret(
    tmp_path: Path, tmp_path_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/ask on a bot whose LLM provider fails and echoes the key; logging as the CLI sets it."""
    from discord.webhook.async_ import async_context

    from tests.test_discord_slash import APP_ID, RecordingAdapter, ask_interaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_log_redaction(root)
    adapter = RecordingAdapter([])
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        with EchoingStub(mode="error", status=401) as server:
            service = make_service(
                seed_home(tmp_path_factory),
                answer__llm="openai:test-model",
                answer__llm_base_url=server.base_url,
                answer__llm_timeout=3.0,
            )
            bot = DatelineBot(Settings(home=tmp_path), service)
            bot._connection.user = discord.ClientUser(
                state=bot._connection,
                data={"id": str(APP_ID), "username": "D", "discriminator": "0", "avatar": None},
            )
            try:
                await bot.tree._call(ask_interaction(bot, "Who is Song Tao?", guild_id=None))
            finally:
                bot._executor.shutdown(wait=True)
        assert server.auth == [f"Bearer {API_KEY}"] * len(server.auth) and server.auth
    finally:
        async_context.reset(token)
        root.removeHandler(handler)
        root.setLevel(previous)
    replies = [p for kind, p in adapter.calls if kind == "followup"]
    assert replies and "Song Tao" in replies[-1]["content"]
    logged = stream.getvalue()
    assert "LLM call failed" in logged and "Incorrect API key provided" in logged
    assert_clean(json.dumps(adapter.calls, default=str), logged)


# -- the redaction itself --------------------------------------------------------------------


def test_redacting_filter_and_messages() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token is %s", TOKEN)
        try:
            raise RuntimeError(f"provider said: bad key {API_KEY}")
        except RuntimeError:
            logger.exception("call failed with %r", {"key": API_KEY})
        logger.error("stack", stack_info=True)
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert out.count(REDACTED) >= 3 and "provider said: bad key" in out
    assert_clean(out)
    assert_clean(user_message(ConfigError(f"LLM cannot be set up: key {API_KEY} refused")))
    assert redact("nothing secret here") == "nothing secret here"
    assert redact(f"a{TOKEN}b") == f"a{REDACTED}b"
