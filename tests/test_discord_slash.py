"""Slash commands, buttons, startup and the entry point of the Discord adapter (no network).

Interactions are built from raw gateway payloads against the bot's real ``CommandTree``
and invoked with ``tree._call``, as discord.py's own ``tests/test_app_commands_invoke.py``
does; component clicks go through ``ConnectionState.parse_interaction_create`` like a
real ``INTERACTION_CREATE``. Every response and follow-up of an interaction goes
through discord.py's webhook adapter, which ``tests/test_interactions.py`` in discord.py
replaces through ``async_context``; we do the same with a recording adapter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import discord
import pytest
from discord.webhook.async_ import async_context

from bot import discord_bot
from bot import discord_format as fmt
from bot.answer import Answer, Citation, Turn
from bot.discord_bot import DatelineBot, FeedbackButton, safe_attachment_name
from bot.errors import ConfigError, InvalidQuestionError
from bot.feedback import read_feedback
from config.settings import AnswerSettings, DiscordSettings, Settings
from retrieval import formats
from retrieval.models import ArticleInfo

APP_ID = 900000000000000001
GUILD_ID = 900000000000000002
CHANNEL_ID = 900000000000000003
USER_ID = 900000000000000004
ADMIN_ROLE_ID = 900000000000000005
_ids = itertools.count(910000000000000000)

EPHEMERAL = 64
DEFERRED_CHANNEL_MESSAGE = 5
CHANNEL_MESSAGE = 4
UPDATE_MESSAGE = 7


def make_answer(question: str) -> Answer:
    return Answer(
        question=question,
        text="The council approved the budget [1].",
        abstained=False,
        mode="extractive",
        citations=[
            Citation(
                n=1,
                passage_id="p1",
                article_id="a1",
                title="Budget passes",
                source="Daily Planet",
                published="2025-03-14",
                url="https://example.com/budget",
                quote="approved",
            )
        ],
    )


@dataclass
class Report:
    text: str

    def summary(self) -> str:
        return self.text


class FakeService:
    """Implements ``AnswerService``; ``events`` is shared with the adapter to check order."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.calls: list[tuple[str, list[Turn], str]] = []
        self.fail_with: BaseException | None = None
        self.catalogue: list[ArticleInfo] = []
        self.ingested: list[tuple[str, bytes]] = []

    def ask(self, question: str, history=(), *, k: int | None = None) -> Answer:
        self.events.append("ask")
        self.calls.append((question, list(history), threading.current_thread().name))
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        return make_answer(question)

    def articles(self) -> list[ArticleInfo]:
        return self.catalogue

    def ingest_bytes(self, data: bytes, name: str) -> Report:
        self.ingested.append((name, data))
        return Report(f"Indexed 1 article from {PurePath(name).name}; skipped none.")


class RecordingAdapter:
    """Stands in for discord.py's webhook adapter: records calls, returns plausible data."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: list[dict[str, Any]] = []  # what Discord would return for follow-ups

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for k, payload in self.calls if k == kind]

    async def create_interaction_response(
        self, interaction_id: int, token: str, *, params: Any, **_: Any
    ) -> dict[str, Any]:
        payload = dict(params.payload or {})
        self.events.append(f"response:{payload.get('type')}")
        self.calls.append(("response", payload))
        return {"interaction": {"id": str(interaction_id), "type": 2}}

    async def execute_webhook(
        self, webhook_id: int, token: str, *, payload: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        payload = dict(payload or {})
        self.events.append("followup")
        self.calls.append(("followup", payload))
        self.messages.append(message_payload(payload))
        return self.messages[-1]

    async def edit_original_interaction_response(
        self, application_id: int, token: str, *, payload: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        payload = dict(payload or {})
        self.events.append("edit_original")
        self.calls.append(("edit_original", payload))
        return message_payload(payload)

    async def delete_original_interaction_response(
        self, application_id: int, token: str, **_: Any
    ) -> None:
        self.events.append("delete_original")
        self.calls.append(("delete_original", {}))


def message_payload(sent: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "channel_id": str(CHANNEL_ID),
        "author": {
            "id": str(APP_ID),
            "username": "Dateline",
            "discriminator": "0",
            "avatar": None,
            "bot": True,
        },
        "content": sent.get("content") or "",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": sent.get("embeds", []),
        "pinned": False,
        "type": 0,
        "flags": sent.get("flags", 0),
        "components": sent.get("components", []),
    }


def role(role_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": "0",
        "position": 0 if role_id == GUILD_ID else 1,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }


def build_bot(
    settings: Settings, service: Any, *, admin_role: bool = True, **options: Any
) -> DatelineBot:
    """A DatelineBot in the state READY would leave it: its own user and one guild."""
    bot = DatelineBot(settings, service, **options)
    bot.add_dynamic_items(FeedbackButton)
    bot._connection.user = discord.ClientUser(
        state=bot._connection,
        data={
            "id": str(APP_ID),
            "username": "Dateline",
            "discriminator": "0",
            "avatar": None,
            "bot": True,
        },
    )
    roles = [role(GUILD_ID, "@everyone")]
    if admin_role:
        roles.append(role(ADMIN_ROLE_ID, "Dateline Admin"))
    guild = discord.Guild(
        data={  # type: ignore[arg-type]
            "id": str(GUILD_ID),
            "name": "Newsroom",
            "roles": roles,
            "member_count": 2,
        },
        state=bot._connection,
    )
    bot._connection._add_guild(guild)
    return bot


def interaction_payload(
    *,
    type_: int,
    data: dict[str, Any],
    user_id: int = USER_ID,
    roles: tuple[int, ...] = (),
    guild_id: int | None = GUILD_ID,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    user = {
        "id": str(user_id),
        "username": f"user{user_id % 1000}",
        "discriminator": "0",
        "avatar": None,
    }
    payload: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": str(APP_ID),
        "token": "interaction-token",
        "version": 1,
        "type": type_,
        "data": data,
        "attachment_size_limit": 10_000_000,
        "locale": "en-US",
    }
    if guild_id is None:
        payload["user"] = user
        payload["channel"] = {"id": str(CHANNEL_ID + 100), "type": 1}
    else:
        payload["guild_id"] = str(guild_id)
        payload["channel"] = {
            "id": str(CHANNEL_ID),
            "type": 0,
            "name": "news",
            "position": 0,
            "guild_id": str(guild_id),
        }
        payload["member"] = {
            "user": user,
            "roles": [str(r) for r in roles],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "0",
        }
    if message is not None:
        payload["message"] = message
    return payload


def command_interaction(
    bot: DatelineBot,
    name: str,
    options: list[dict[str, Any]],
    *,
    resolved: dict[str, Any] | None = None,
    **kw: Any,
) -> discord.Interaction:
    command = bot.tree.get_command(name)
    assert command is not None
    data = {"id": str(hash(command)), "name": name, "type": 1, "options": options}
    if resolved:
        data["resolved"] = resolved
    return discord.Interaction(
        data=interaction_payload(type_=2, data=data, **kw), state=bot._connection
    )  # type: ignore[arg-type]


def ask_interaction(bot: DatelineBot, question: str, **kw: Any) -> discord.Interaction:
    return command_interaction(
        bot, "ask", [{"type": 3, "name": "question", "value": question}], **kw
    )


async def click(bot: DatelineBot, message: dict[str, Any], custom_id: str, **kw: Any) -> None:
    data = {"custom_id": custom_id, "component_type": 2}
    bot._connection.parse_interaction_create(
        interaction_payload(type_=3, data=data, message=message, **kw)  # type: ignore[arg-type]
    )


async def eventually(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def custom_ids(payload: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in payload.get("components", []) for c in row["components"]]


@dataclass
class Env:
    bot: DatelineBot
    service: FakeService
    adapter: RecordingAdapter
    events: list[str]
    make: Callable[..., DatelineBot]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "absent.toml"))
    events: list[str] = []
    service = FakeService(events)
    adapter = RecordingAdapter(events)
    bots: list[DatelineBot] = []

    def make(**discord_settings: Any) -> DatelineBot:
        settings = Settings(home=tmp_path, discord=DiscordSettings(**discord_settings))
        bot = build_bot(settings, service)
        bots.append(bot)
        return bot

    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        yield Env(make(), service, adapter, events, make)
    finally:
        async_context.reset(token)
        for bot in bots:
            bot._executor.shutdown(wait=True, cancel_futures=True)


# -- /ask -----------------------------------------------------------------------------------


async def test_ask_defers_then_follows_up_from_a_worker_thread(env: Env) -> None:
    interaction = ask_interaction(env.bot, "Did the budget pass?")
    await env.bot.tree._call(interaction)

    assert env.events == [f"response:{DEFERRED_CHANNEL_MESSAGE}", "ask", "followup"]
    defer = env.adapter.of("response")[0]
    assert "data" not in defer  # public "thinking", not ephemeral
    question, history, thread_name = env.service.calls[0]
    assert (question, history) == ("Did the budget pass?", [])
    assert thread_name.startswith("dateline-discord")

    followup = env.adapter.of("followup")[0]
    assert followup["content"].startswith("> Did the budget pass?\nThe council approved")
    assert (
        "[1] Budget passes — Daily Planet, 2025-03-14 <https://example.com/budget>"
        in (followup["content"])
    )
    assert followup["allowed_mentions"] == {"parse": []}
    assert not followup.get("flags", 0) & EPHEMERAL
    ids = custom_ids(followup)
    assert [i.split(":")[2] for i in ids] == ["up", "down"]


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (InvalidQuestionError("the question is too vague"), "the question is too vague"),
        (RuntimeError("secret internals"), "unexpected error (RuntimeError)"),
    ],
)
async def test_ask_failure_is_an_ephemeral_error_and_the_bot_goes_on(
    env: Env, error: Exception, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    env.service.fail_with = error
    with caplog.at_level(logging.INFO, logger="bot.discord_bot"):
        await env.bot.tree._call(ask_interaction(env.bot, "Why?"))

    assert env.events == [
        f"response:{DEFERRED_CHANNEL_MESSAGE}",
        "ask",
        "delete_original",
        "followup",
    ]
    followup = env.adapter.of("followup")[0]
    assert followup["flags"] & EPHEMERAL
    assert followup["content"].startswith(fmt.NOTICE_PREFIX) and shown in followup["content"]
    assert "secret internals" not in followup["content"]
    if isinstance(error, RuntimeError):
        assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)

    env.events.clear()
    await env.bot.tree._call(ask_interaction(env.bot, "Did the budget pass?"))
    assert env.events == [f"response:{DEFERRED_CHANNEL_MESSAGE}", "ask", "followup"]


async def test_ask_rate_limit_and_length_are_ephemeral_and_do_not_defer(env: Env) -> None:
    bot = env.make(rate_limit_per_minute=1, max_question_chars=30)
    await bot.tree._call(ask_interaction(bot, "x" * 31))
    await bot.tree._call(ask_interaction(bot, "First question?"))
    await bot.tree._call(ask_interaction(bot, "Second question?"))

    responses = env.adapter.of("response")
    assert [r["type"] for r in responses] == [
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        CHANNEL_MESSAGE,
    ]
    too_long, _, limited = responses
    assert too_long["data"]["flags"] & EPHEMERAL and "31 characters" in too_long["data"]["content"]
    assert (
        limited["data"]["flags"] & EPHEMERAL
        and "1 questions a minute" in (limited["data"]["content"])
    )
    assert [c[0] for c in env.service.calls] == ["First question?"]


async def test_ask_outside_the_allow_lists_is_refused(env: Env) -> None:
    bot = env.make(guilds=[1])
    await bot.tree._call(ask_interaction(bot, "Hello?"))
    no_dm = env.make(allow_dm=False)
    await no_dm.tree._call(ask_interaction(no_dm, "Hello?", guild_id=None))
    responses = env.adapter.of("response")
    assert len(responses) == 2
    assert all(r["data"]["flags"] & EPHEMERAL for r in responses)
    assert all("not set up to answer here" in r["data"]["content"] for r in responses)
    assert env.service.calls == []


async def test_ask_in_a_dm(env: Env) -> None:
    await env.bot.tree._call(ask_interaction(env.bot, "Did it pass?", guild_id=None))
    assert env.events == [f"response:{DEFERRED_CHANNEL_MESSAGE}", "ask", "followup"]


async def test_ask_in_our_thread_uses_its_history(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = next(_ids)
    thread = {
        "id": str(thread_id),
        "type": 11,
        "guild_id": str(GUILD_ID),
        "parent_id": str(CHANNEL_ID),
        "owner_id": str(APP_ID),
        "name": "Did the budget pass?",
        "message_count": 3,
        "member_count": 2,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2025-01-01T00:00:00+00:00",
        },
    }
    first = fmt.render_answer(make_answer("Did the budget pass?"), quote_question=True)
    user = interaction_payload(type_=2, data={})["member"]["user"]
    history = [  # newest first, as Discord returns it
        message_payload({"content": "The park opens in May [1]."}),
        {**message_payload({"content": "When does the park open?"}), "author": user},
        message_payload({"content": first[0]}),
    ]
    for m in history:
        m["channel_id"] = str(thread_id)
    history[0]["id"], history[1]["id"], history[2]["id"] = "3" * 18, "2" * 18, "1" * 18

    async def logs_from(channel_id: int, limit: int, **_: Any) -> list[dict[str, Any]]:
        assert channel_id == thread_id
        return history

    monkeypatch.setattr(env.bot.http, "logs_from", logs_from)
    interaction = ask_interaction(env.bot, "Who pays for it?")
    payload = interaction_payload(type_=2, data=interaction.data)  # type: ignore[arg-type]
    payload["channel"] = thread
    await env.bot.tree._call(discord.Interaction(data=payload, state=env.bot._connection))  # type: ignore[arg-type]

    assert env.service.calls[0][1] == [
        Turn("Did the budget pass?", "The council approved the budget [1]."),
        Turn("When does the park open?", "The park opens in May [1]."),
    ]


# -- feedback buttons -----------------------------------------------------------------------


async def test_feedback_buttons_log_votes_even_after_a_restart(env: Env, tmp_path: Path) -> None:
    await env.bot.tree._call(ask_interaction(env.bot, "Did the budget pass?"))
    followup = env.adapter.of("followup")[0]
    message = env.adapter.messages[0]
    up, down = custom_ids(followup)
    log_path = tmp_path / "feedback.jsonl"

    await click(env.bot, message, up, user_id=777)
    await eventually(lambda: len(env.adapter.of("response")) == 2)
    await click(env.bot, message, up, user_id=777)  # the same vote again
    await eventually(lambda: len(env.adapter.of("response")) == 3)
    await click(env.bot, message, down, user_id=778)
    await eventually(lambda: len(env.adapter.of("response")) == 4)

    thanks, again, _ = env.adapter.of("response")[1:]
    assert thanks["type"] == CHANNEL_MESSAGE and thanks["data"]["flags"] & EPHEMERAL
    assert "Thanks" in thanks["data"]["content"]
    assert "already" in again["data"]["content"]
    rows = read_feedback(log_path)
    assert [(r["vote"], r["user_id"]) for r in rows] == [("up", 777), ("down", 778)]
    first = rows[0]
    assert first["question"] == "Did the budget pass?"
    assert first["answer"] == "The council approved the budget [1]."
    assert first["citations"][0]["url"] == "https://example.com/budget"
    assert first["asker_id"] == USER_ID and first["complete"] is True

    restarted = env.make()  # a new process: knows nothing about the answer
    await click(restarted, message, down, user_id=779)
    await eventually(lambda: len(env.adapter.of("response")) == 5)
    last = read_feedback(log_path)[-1]
    assert (last["vote"], last["user_id"], last["complete"]) == ("down", 779, False)
    assert "The council approved the budget [1]." in last["answer"]


def test_feedback_custom_ids_fit_discord() -> None:
    view = discord_bot.feedback_view("0123456789abcdef01234567")
    ids = [item.custom_id for item in view.children]  # type: ignore[attr-defined]
    assert all(len(i) <= 100 for i in ids)
    assert view.timeout is None and view.is_persistent()


# -- /sources -------------------------------------------------------------------------------


async def test_sources_is_paginated(env: Env) -> None:
    env.service.catalogue = [
        ArticleInfo(
            id=f"a{i}",
            title=f"Story {i}",
            source="Outlet",
            published=f"2025-02-{i + 1:02d}",
            url=f"https://example.com/{i}",
            path=None,
            passages=2,
        )
        for i in range(25)
    ]
    await env.bot.tree._call(command_interaction(env.bot, "sources", []))
    defer = env.adapter.of("response")[0]
    assert defer["data"]["flags"] & EPHEMERAL
    first = env.adapter.of("followup")[0]
    embed = first["embeds"][0]
    assert embed["footer"]["text"] == "Page 1/3 · 25 articles"
    assert "Story 24 — Outlet, 2025-02-25 <https://example.com/24>" in embed["description"]
    assert first["flags"] & EPHEMERAL

    _, next_id = custom_ids(first)
    await click(env.bot, env.adapter.messages[0], next_id)
    await eventually(lambda: len(env.adapter.of("response")) == 2)
    update = env.adapter.of("response")[1]
    assert update["type"] == UPDATE_MESSAGE
    assert update["data"]["embeds"][0]["footer"]["text"] == "Page 2/3 · 25 articles"

    await env.bot.tree._call(
        command_interaction(env.bot, "sources", [{"type": 4, "name": "page", "value": 3}])
    )
    last = env.adapter.of("followup")[-1]["embeds"][0]
    assert last["footer"]["text"] == "Page 3/3 · 25 articles"


async def test_sources_when_nothing_is_indexed(env: Env) -> None:
    await env.bot.tree._call(command_interaction(env.bot, "sources", []))
    followup = env.adapter.of("followup")[0]
    assert "No articles are indexed" in followup["embeds"][0]["description"]
    assert "components" not in followup or not followup["components"]


# -- /ingest --------------------------------------------------------------------------------


def attachment_option(filename: str, size: int) -> tuple[list[dict], dict]:
    att_id = str(next(_ids))
    resolved = {
        "attachments": {
            att_id: {
                "id": att_id,
                "filename": filename,
                "size": size,
                "url": f"https://cdn.discordapp.com/attachments/1/2/{att_id}",
                "proxy_url": f"https://media.discordapp.net/attachments/1/2/{att_id}",
                "content_type": "text/plain",
            }
        }
    }
    return [{"type": 11, "name": "file", "value": att_id}], resolved


def ingest_interaction(bot: DatelineBot, filename: str, size: int, **kw: Any) -> Any:
    options, resolved = attachment_option(filename, size)
    return command_interaction(bot, "ingest", options, resolved=resolved, **kw)


async def test_ingest_by_admin_role_hands_the_bytes_under_a_sanitized_name(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b"Title: Budget passes\n\nThe council approved the budget."

    async def get_from_cdn(url: str) -> bytes:
        return body

    bot = env.make(guilds=[GUILD_ID])  # the admin role counts only in a listed guild
    monkeypatch.setattr(bot.http, "get_from_cdn", get_from_cdn)
    interaction = ingest_interaction(
        bot, "../../etc/Büdget report!.TXT", len(body), roles=(ADMIN_ROLE_ID,)
    )
    await bot.tree._call(interaction)

    [(name, data)] = env.service.ingested
    # Keyed by the attachment, so a later upload of the same name is an article of its own.
    [attachment_id] = interaction.data["resolved"]["attachments"]
    assert name == f"discord:{attachment_id}/Budget_report.txt"
    assert data == body
    defer = env.adapter.of("response")[0]
    assert defer["type"] == DEFERRED_CHANNEL_MESSAGE and defer["data"]["flags"] & EPHEMERAL
    report = env.adapter.of("followup")[0]
    assert report["flags"] & EPHEMERAL
    assert report["content"] == (
        "Ingested `Budget_report.txt`: Indexed 1 article from Budget_report.txt; skipped none."
    )


async def test_ingest_by_admin_user_id(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = env.make(admin_role=None, admin_user_ids=[USER_ID])

    async def get_from_cdn(url: str) -> bytes:
        return b"[]"

    monkeypatch.setattr(bot.http, "get_from_cdn", get_from_cdn)
    await bot.tree._call(ingest_interaction(bot, "feed.jsonl", 2))
    assert [PurePath(name).name for name, _ in env.service.ingested] == ["feed.jsonl"]


@pytest.mark.parametrize(
    ("filename", "size", "roles", "message"),
    [
        ("story.txt", 10, (), "Only members with"),
        ("story.exe", 10, (ADMIN_ROLE_ID,), "I can only ingest"),
        ("..", 10, (ADMIN_ROLE_ID,), "I can only ingest"),
        ("story.txt", 3_000_000, (ADMIN_ROLE_ID,), "the limit is 2,000,000"),
    ],
)
async def test_ingest_refusals_are_ephemeral(
    env: Env, filename: str, size: int, roles: tuple[int, ...], message: str
) -> None:
    bot = env.make(guilds=[GUILD_ID])
    await bot.tree._call(ingest_interaction(bot, filename, size, roles=roles))
    [response] = env.adapter.of("response")
    assert response["type"] == CHANNEL_MESSAGE
    assert response["data"]["flags"] & EPHEMERAL
    assert message in response["data"]["content"]
    assert env.service.ingested == []


def test_safe_attachment_names() -> None:
    assert safe_attachment_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_attachment_name("C:\\Users\\x\\notes.MD") == "notes.md"
    assert safe_attachment_name("  .hidden.html") == "hidden.html"
    assert safe_attachment_name("a b\x00c;rm -rf.jsonl") == "a_b_c_rm_-rf.jsonl"
    assert safe_attachment_name("x" * 300 + ".txt") == "x" * 80 + ".txt"
    for bad in (None, "", ".txt", "story", "story.pdf", "story.txt.exe", ".."):
        assert safe_attachment_name(bad) is None
    for suffix in formats.suffixes():  # /ingest takes every format the loaders read
        assert safe_attachment_name("story" + suffix.upper()) == "story" + suffix


# -- startup and entry point ----------------------------------------------------------------


async def test_setup_hook_syncs_to_configured_guilds(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot = env.make(guilds=[11, 22], sync_global=False)
    synced: list[int | None] = []

    async def sync(*, guild: discord.abc.Snowflake | None = None) -> list[Any]:
        synced.append(guild.id if guild else None)
        if guild is not None and guild.id == 11:
            raise discord.HTTPException(_response(403), "Missing Access")
        return [object()] * len(bot.tree.get_commands(guild=guild))

    monkeypatch.setattr(bot.tree, "sync", sync)
    with caplog.at_level(logging.INFO, logger="bot.discord_bot"):
        await bot.setup_hook()
    assert synced == [11, 22]
    names = {c.name for c in bot.tree.get_commands(guild=discord.Object(22))}
    assert names == {"ask", "sources", "ingest", "feeds"}
    assert any("could not sync slash commands to guild 11" in r.message for r in caplog.records)
    assert any("synced 4 slash commands to guild 22" in r.message for r in caplog.records)

    global_bot = env.make(sync_global=True)
    synced.clear()
    monkeypatch.setattr(global_bot.tree, "sync", sync)
    await global_bot.setup_hook()
    assert synced == [None]


def _response(status: int) -> Any:
    class Response:
        reason = "Forbidden"

    r = Response()
    r.status = status  # type: ignore[attr-defined]
    return r


def test_run_discord_needs_a_token(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        discord_bot.run_discord(Settings(home=tmp_path), env.service)
    monkeypatch.setenv("DISCORD_TOKEN", "   ")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        discord_bot.run_discord(Settings(home=tmp_path), env.service)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (discord.LoginFailure("Improper token has been passed."), "rejected the token"),
        (discord.PrivilegedIntentsRequired(None), "Message Content intent"),
    ],
)
def test_run_discord_reports_a_rejected_login_without_the_token(
    env: Env,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    raised: Exception,
    expected: str,
) -> None:
    secret = "MTIzNDU2Nzg5.secret-token-value"
    monkeypatch.setenv("DISCORD_TOKEN", secret)
    seen: list[str] = []

    async def start(self: DatelineBot, token: str, *, reconnect: bool = True) -> None:
        seen.append(token)
        raise raised

    monkeypatch.setattr(DatelineBot, "start", start)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError, match=expected) as info:
        discord_bot.run_discord(Settings(home=tmp_path), env.service)
    assert seen == [secret]
    assert secret not in str(info.value)
    assert info.value.__suppress_context__
    assert all(secret not in r.getMessage() for r in caplog.records)


class StreamingService(FakeService):
    """Streams a draft to ``on_token`` (about 2.5 s of it), then answers."""

    def ask(self, question: str, history=(), *, k: int | None = None, on_token=None) -> Answer:
        assert on_token is not None
        for i in range(25):
            time.sleep(0.1)
            on_token(f"draft{i} ")
        return super().ask(question, history, k=k)


async def test_ask_in_llm_mode_edits_the_thinking_message_as_the_reply_streams(
    env: Env, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, answer=AnswerSettings(llm="openai:test-model"))
    bot = build_bot(settings, StreamingService(env.events))
    try:
        await bot.tree._call(ask_interaction(bot, "Did the budget pass?"))
    finally:
        bot._executor.shutdown(wait=True, cancel_futures=True)
    edits = env.adapter.of("edit_original")
    drafts, final = edits[:-1], edits[-1]
    assert 1 <= len(drafts) <= 4  # about once a second over 2.5 s
    assert all(d["content"].startswith("> Did the budget pass?\ndraft0") for d in drafts)
    assert all(d["content"].endswith(fmt.DRAFT_NOTE) for d in drafts)
    assert final["content"].startswith("> Did the budget pass?\nThe council approved")
    assert "draft" not in final["content"] and final["allowed_mentions"] == {"parse": []}
    assert [i.split(":")[2] for i in custom_ids(final)] == ["up", "down"]
    assert not env.adapter.of("followup")  # the answer fit in the edited message
