"""Message flows of the Discord adapter, driven through dpytest (no network).

dpytest 0.7 drives discord.py 2.7 here with a few gaps, bridged in the ``harness``
fixture below:

* it builds its own ``ConnectionState`` after the client exists, so the state has no
  event loop (``typing()`` would fail) and none of the client's defaults; we set the
  loop and register the feedback buttons again on the new state;
* it needs the member cache, hence ``Intents.all()`` for the test bot (the real bot
  asks only for the defaults plus message content);
* it cannot create threads (``start_thread_with_message`` is not faked), so we fake it
  and emit the ``THREAD_CREATE`` event Discord would send;
* its message factory leaves ``guild_id`` out for messages in threads (a thread is not
  a ``GuildChannel``), which makes them look like DMs; we add it;
* its sent messages do not keep ``allowed_mentions``, so we record every
  ``send_message`` payload to assert on what would go over the wire.

The answer service is a small fake implementing the ``AnswerService`` protocol.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
import pytest_asyncio
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories

from bot import discord_format as fmt
from bot.answer import Answer, Citation, Turn
from bot.chat import AnswerService
from bot.discord_bot import DatelineBot, FeedbackButton
from bot.errors import InvalidQuestionError
from bot.feedback import FeedbackLog, read_feedback
from bot.ratelimit import SlidingWindowLimiter
from config.settings import AnswerSettings, DiscordSettings, Settings
from retrieval.models import ArticleInfo

NONE_MENTIONS = {"parse": []}


def make_answer(question: str, text: str | None = None, *, citations: int = 2) -> Answer:
    return Answer(
        question=question,
        text=text or f"Answer to {question!r} [1].",
        abstained=False,
        mode="extractive",
        citations=[
            Citation(
                n=n,
                passage_id=f"p{n}",
                article_id=f"a{n}",
                title=f"Council story {n}",
                source="Daily Planet",
                published="2025-03-14",
                url=f"https://example.com/{n}",
                quote="q",
            )
            for n in range(1, citations + 1)
        ],
    )


class FakeService:
    """Implements ``AnswerService``; records calls and can fail or work hard on demand."""

    def __init__(self, respond: Callable[[str], Answer] | None = None) -> None:
        self.respond = respond or make_answer
        self.calls: list[tuple[str, list[Turn], str]] = []
        self.fail_with: BaseException | None = None
        self.work: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def ask(self, question: str, history=(), *, k: int | None = None) -> Answer:
        with self._lock:
            self.calls.append((question, list(history), threading.current_thread().name))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.work:
                self.work()
            if self.fail_with is not None:
                exc, self.fail_with = self.fail_with, None
                raise exc
            return self.respond(question)
        finally:
            with self._lock:
                self.active -= 1

    def articles(self) -> list[ArticleInfo]:
        return []

    def ingest_bytes(self, data: bytes, name: str) -> Any:
        raise NotImplementedError


@dataclass
class Harness:
    bot: DatelineBot
    service: FakeService
    guild: discord.Guild
    channel: discord.TextChannel
    members: list[discord.Member]
    payloads: list[dict[str, Any]] = field(default_factory=list)
    threads: list[discord.Thread] = field(default_factory=list)

    def sent(self, channel: discord.abc.Messageable | None = None) -> list[discord.Message]:
        out = []
        while not dpytest.sent_queue.empty():
            out.append(dpytest.sent_queue.get_nowait())
        if channel is not None:
            out = [m for m in out if m.channel.id == channel.id]
        return out

    async def ask(self, content: str, member: int = 0, channel: Any = None) -> discord.Message:
        return await dpytest.message(
            content, channel=channel or self.channel, member=self.members[member]
        )

    def mention(self, text: str) -> str:
        assert self.bot.user is not None
        return f"<@{self.bot.user.id}> {text}"


Factory = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "absent.toml"))
    made: list[DatelineBot] = []

    async def make(
        service: FakeService | None = None, llm: str | None = None, **discord_settings: Any
    ) -> Harness:
        service = service or FakeService()
        settings = Settings(
            home=tmp_path,
            discord=DiscordSettings(**discord_settings),
            answer=AnswerSettings(llm=llm),
        )
        svc: AnswerService = service
        bot = DatelineBot(settings, svc, intents=discord.Intents.all())
        made.append(bot)
        await bot._async_setup_hook()
        dpytest.configure(bot, members=4)
        bot._connection.loop = asyncio.get_running_loop()
        bot.add_dynamic_items(FeedbackButton)
        bot.notice_delete_after = 0.05
        config = dpytest.get_config()
        h = Harness(bot, service, config.guilds[0], config.channels[0], config.members)
        _install_fakes(h, monkeypatch)
        await dpytest.empty_queue()
        return h

    yield make
    await dpytest.empty_queue()
    for bot in made:
        bot._executor.shutdown(wait=True, cancel_futures=True)


def _install_fakes(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = h.bot
    http = bot.http

    async def start_thread_with_message(
        channel_id: int, message_id: int, *, name: str, auto_archive_duration: int, **_: Any
    ) -> dict[str, Any]:
        parent = bot.get_channel(channel_id)
        assert isinstance(parent, discord.TextChannel)
        assert bot.user is not None
        data = {
            "id": message_id,
            "guild_id": parent.guild.id,
            "parent_id": channel_id,
            "owner_id": bot.user.id,
            "name": name,
            "type": discord.ChannelType.public_thread.value,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": auto_archive_duration,
                "archive_timestamp": dt.datetime.now(dt.UTC).isoformat(),
                "locked": False,
            },
            "newly_created": True,
        }
        bot._connection.parse_thread_create(data)  # what Discord's THREAD_CREATE would do
        thread = parent.guild.get_thread(message_id)
        assert thread is not None
        h.threads.append(thread)
        return data

    monkeypatch.setattr(http, "start_thread_with_message", start_thread_with_message, raising=False)

    original_factory = dpy_factories.make_message_dict

    def make_message_dict(channel: Any, author: Any, *args: Any, **kwargs: Any) -> dict:
        data = original_factory(channel, author, *args, **kwargs)
        if isinstance(channel, discord.Thread):
            data["guild_id"] = channel.guild.id
        return data

    monkeypatch.setattr(dpy_factories, "make_message_dict", make_message_dict)

    fake_send = type(http).send_message

    async def send_message(channel_id: int, *, params: Any) -> dict:
        # dpytest reads the caller's ``channel`` local; keep one in this frame for it.
        channel = dpy_backend._get_higher_locs(1).get("channel")  # noqa: F841
        h.payloads.append(dict(params.payload or {}))
        return await fake_send(http, channel_id, params=params)

    monkeypatch.setattr(http, "send_message", send_message, raising=False)


def custom_ids(payload: dict[str, Any]) -> list[str]:
    return [
        comp["custom_id"]
        for row in payload.get("components", [])
        for comp in row.get("components", [])
    ]


# -- adapter parts without Discord ------------------------------------------------------


def test_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.check("u").allowed
    now[0] = 10.0
    assert limiter.check("u").allowed
    refused = limiter.check("u")
    assert not refused.allowed and refused.notify
    assert refused.retry_after == pytest.approx(50.0)
    again = limiter.check("u")
    assert not again.allowed and not again.notify
    assert limiter.check("other").allowed
    now[0] = 60.5  # the first hit left the window
    assert limiter.check("u").allowed
    assert not limiter.check("u").allowed
    assert limiter.remaining("nobody") == 2


def test_feedback_log_records_and_dedupes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "feedback.jsonl"
    log = FeedbackLog(path)
    log.remember("abc123abc123", make_answer("Who won?"), asker_id=7, guild_id=1, channel_id=2)
    entry = log.record("abc123abc123", "up", 99, message_id=5)
    assert entry is not None and entry["complete"]
    assert log.record("abc123abc123", "up", 99) is None
    assert log.record("abc123abc123", "down", 99) is not None
    assert log.record("ffff0000ffff", "down", 1, message_text="shown text") is not None
    rows = read_feedback(path)
    assert [r["vote"] for r in rows] == ["up", "down", "down"]
    first = rows[0]
    assert first["question"] == "Who won?" and first["user_id"] == 99 and first["asker_id"] == 7
    assert first["citations"][0]["url"] == "https://example.com/1"
    assert rows[2]["complete"] is False and rows[2]["answer"] == "shown text"


def test_feedback_log_is_thread_safe(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "f.jsonl")

    def worker(i: int) -> None:
        for j in range(50):
            log.append({"kind": "feedback", "i": i, "j": j, "pad": "x" * 500})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    assert all(json.loads(line)["kind"] == "feedback" for line in lines)


# -- message flows ------------------------------------------------------------------------


async def test_mention_gets_threaded_reply_with_sources(harness: Factory) -> None:
    h = await harness()
    question = await h.ask(h.mention("What did the council decide?"))
    assert [c[0] for c in h.service.calls] == ["What did the council decide?"]
    assert h.service.calls[0][1] == []
    assert h.service.calls[0][2].startswith("dateline-discord")

    assert len(h.threads) == 1
    thread = h.threads[0]
    assert thread.id == question.id and thread.name == "What did the council decide?"
    replies = h.sent()
    assert len(replies) == 1
    reply = replies[0]
    assert reply.channel.id == thread.id
    assert reply.content.startswith("Answer to 'What did the council decide?' [1].")
    assert "**Sources**" in reply.content
    assert "[1] Council story 1 — Daily Planet, 2025-03-14 <https://example.com/1>" in reply.content
    payload = h.payloads[-1]
    assert payload["allowed_mentions"] == NONE_MENTIONS
    ids = custom_ids(payload)
    assert len(ids) == 2 and ids[0].startswith("dateline:fb:up:")
    assert ids[1].startswith("dateline:fb:down:")


async def test_followups_in_thread_use_its_history(harness: Factory) -> None:
    h = await harness()
    await h.ask(h.mention("Did the budget pass?"))
    thread = h.threads[0]
    await h.ask("And the park?", member=1, channel=thread)  # no mention needed here
    await h.ask(h.mention("When does it open?"), channel=thread)

    assert len(h.threads) == 1  # no thread inside the thread
    questions = [c[0] for c in h.service.calls]
    assert questions == ["Did the budget pass?", "And the park?", "When does it open?"]
    assert h.service.calls[1][1] == [
        Turn("Did the budget pass?", "Answer to 'Did the budget pass?' [1].")
    ]
    assert h.service.calls[2][1] == [
        Turn("Did the budget pass?", "Answer to 'Did the budget pass?' [1]."),
        Turn("And the park?", "Answer to 'And the park?' [1]."),
    ]
    replies = h.sent(thread)
    assert len(replies) == 3
    assert all(p["allowed_mentions"] == NONE_MENTIONS for p in h.payloads)


async def test_followups_come_from_memory_and_from_the_thread_after_a_restart(
    harness: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await harness()
    await h.ask(h.mention("Did the budget pass?"))
    thread = h.threads[0]
    read: list[int] = []
    thread_history = h.bot.thread_history

    async def counting(channel: discord.Thread, **kw: Any) -> list[Turn]:
        read.append(channel.id)
        return await thread_history(channel, **kw)

    monkeypatch.setattr(h.bot, "thread_history", counting)
    await h.ask("And the park?", member=1, channel=thread)
    assert read == []  # the chat core remembered the thread's conversation
    first = Turn("Did the budget pass?", "Answer to 'Did the budget pass?' [1].")
    assert h.service.calls[1][1] == [first]

    h.bot.chat.forget(thread.id)  # what a restart leaves of the memory
    await h.ask("When does it open?", member=1, channel=thread)
    assert read == [thread.id]  # so the thread's own messages were read back
    second = Turn("And the park?", "Answer to 'And the park?' [1].")
    assert h.service.calls[2][1] == [first, second]
    await h.ask("Who pays?", member=1, channel=thread)
    assert read == [thread.id]  # and remembered from then on
    third = Turn("When does it open?", "Answer to 'When does it open?' [1].")
    assert h.service.calls[3][1] == [first, second, third][-h.bot.chat.memory.turns :]


async def test_direct_messages_remember_their_conversation(harness: Factory) -> None:
    h = await harness()
    dm = await h.members[0].create_dm()
    other = await h.members[1].create_dm()
    await h.ask("Did the budget pass?", channel=dm)
    await h.ask("Who won the vote?", member=1, channel=other)
    await h.ask("And the park?", channel=dm)
    assert h.service.calls[1][1] == []
    assert h.service.calls[2][1] == [
        Turn("Did the budget pass?", "Answer to 'Did the budget pass?' [1].")
    ]


async def test_thread_chatter_addressed_to_someone_else_is_ignored(harness: Factory) -> None:
    h = await harness()
    await h.ask(h.mention("Did the budget pass?"))
    thread = h.threads[0]
    await h.ask(f"<@{h.members[2].id}> what do you think?", member=1, channel=thread)
    assert len(h.service.calls) == 1


async def test_mentioning_the_bots_own_role_counts(
    harness: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await harness()
    own = dpy_backend.make_role("Dateline", h.guild)
    other = dpy_backend.make_role("Readers", h.guild)
    monkeypatch.setattr(discord.Guild, "self_role", property(lambda g: own))
    await h.ask(f"<@&{other.id}> not for the bot")
    await h.ask(f"<@&{own.id}> What did the council decide?")
    assert [c[0] for c in h.service.calls] == ["What did the council decide?"]


async def test_plain_messages_bots_and_self_are_ignored(harness: Factory) -> None:
    h = await harness()
    await h.ask("no mention here")
    state = dpy_backend.get_state()
    other = state.store_user(dpy_factories.make_user_dict("OtherBot", "0042", None, bot=True))
    other_member = dpy_backend.make_member(other, h.guild)
    await dpytest.message(h.mention("are you there?"), channel=h.channel, member=other_member)
    assert h.bot.user is not None
    await dpytest.message(h.mention("talking to myself"), channel=h.channel, member=h.bot.user)
    assert h.service.calls == []
    assert h.sent() == []


async def test_guild_allow_list(harness: Factory) -> None:
    h = await harness(guilds=[1234])
    await h.ask(h.mention("hello?"))
    assert h.service.calls == [] and h.sent() == []
    h.bot.config.guilds = [h.guild.id]
    await h.ask(h.mention("hello?"))
    assert len(h.service.calls) == 1


async def test_channel_allow_list(harness: Factory) -> None:
    h = await harness(channels=[1234])
    await h.ask(h.mention("hello?"))
    assert h.service.calls == [] and h.sent() == []
    h.bot.config.channels = [h.channel.id]
    await h.ask(h.mention("hello?"))
    await h.ask("follow-up", channel=h.threads[0])  # threads inherit their parent's place
    assert len(h.service.calls) == 2


async def test_direct_messages(harness: Factory) -> None:
    h = await harness()
    dm = await h.members[0].create_dm()
    await h.ask("What did the council decide?", channel=dm)
    assert [c[0] for c in h.service.calls] == ["What did the council decide?"]
    replies = h.sent()
    assert len(replies) == 1 and "**Sources**" in replies[0].content
    assert h.threads == []

    h.bot.config.allow_dm = False
    await h.ask("Another?", channel=dm)
    assert len(h.service.calls) == 1 and h.sent() == []


async def test_rate_limit_notice_deletes_itself(harness: Factory) -> None:
    h = await harness(rate_limit_per_minute=2)
    for i in range(4):
        await h.ask(h.mention(f"question {i}?"))
    assert [c[0] for c in h.service.calls] == ["question 0?", "question 1?"]
    notices = [m for m in h.sent() if m.content.startswith(fmt.NOTICE_PREFIX)]
    assert len(notices) == 1  # told once, not on every attempt
    assert "2 questions a minute" in notices[0].content
    assert notices[0].channel.id == h.channel.id
    notice_payload = next(p for p in h.payloads if p["content"] == notices[0].content)
    assert "message_reference" in notice_payload  # a reply to the asker's message
    await asyncio.sleep(h.bot.notice_delete_after + 0.1)
    history = [m.id async for m in h.channel.history(limit=50)]
    assert notices[0].id not in history
    # someone else is not affected
    await h.ask(h.mention("my turn?"), member=1)
    assert len(h.service.calls) == 3


async def test_article_with_everyone_pings_nobody(harness: Factory) -> None:
    h = await harness()
    victim = h.members[1].id
    role = dpy_backend.make_role("Subscribers", h.guild, mentionable=True)

    def respond(question: str) -> Answer:
        answer = make_answer(question, f"@everyone the mayor resigned [1]. @here <@&{role.id}>.")
        answer.citations[0] = Citation(
            n=1,
            passage_id="p",
            article_id="a",
            title="@everyone must read",
            source=f"<@{victim}>",
            published=None,
            url="https://example.com/x",
            quote="@everyone",
        )
        return answer

    h.service.respond = respond
    await h.ask(h.mention(f"@everyone what happened? <@{victim}>"))
    await h.ask("@here and then?", member=1, channel=h.threads[0])
    replies = h.sent()
    assert len(replies) == 2
    assert all("@everyone the mayor resigned [1]." in m.content for m in replies)
    assert len(h.payloads) == 2
    for payload in h.payloads:
        # nothing may be parsed into a ping: no @everyone/@here, roles, users or reply ping
        assert payload["allowed_mentions"] == NONE_MENTIONS


def test_client_default_allowed_mentions_is_none(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    bot = DatelineBot(settings, FakeService())
    try:
        assert bot.allowed_mentions is not None
        assert bot.allowed_mentions.to_dict() == NONE_MENTIONS
        assert bot.intents.message_content and not bot.intents.members
    finally:
        bot._executor.shutdown()


async def test_long_answer_is_split_on_sentences(harness: Factory) -> None:
    sentences = [
        f"Sentence {i} explains part of the budget decision in some detail [{i % 3 + 1}]."
        for i in range(90)
    ]
    text = " ".join(sentences)
    h = await harness(FakeService(lambda q: make_answer(q, text, citations=3)))
    await h.ask(h.mention("Explain the budget"))
    replies = h.sent()
    assert len(replies) >= 3
    assert all(len(m.content) <= 2000 for m in replies)
    assert all(m.channel.id == h.threads[0].id for m in replies)
    body = [m.content for m in replies]
    for part in body[:-1]:
        assert part.endswith("].") and "**Sources**" not in part
    assert "**Sources**" in body[-1]
    joined = " ".join(body)
    assert all(s in joined for s in sentences)  # no sentence or marker was broken
    assert [bool(custom_ids(p)) for p in h.payloads] == [False] * (len(body) - 1) + [True]


async def test_service_errors_reply_and_bot_keeps_serving(
    harness: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    h = await harness()
    h.service.fail_with = RuntimeError("index exploded")
    with caplog.at_level(logging.ERROR, logger="bot.discord_bot"):
        await h.ask(h.mention("first?"))
    errors = h.sent()
    assert len(errors) == 1
    assert errors[0].content.startswith(fmt.NOTICE_PREFIX)
    assert "unexpected error (RuntimeError)" in errors[0].content
    assert "index exploded" not in errors[0].content
    assert any(r.exc_info and "index exploded" in str(r.exc_info[1]) for r in caplog.records)

    h.service.fail_with = InvalidQuestionError("that question is too vague")
    await h.ask(h.mention("second?"), member=1)
    assert "that question is too vague" in h.sent()[0].content

    await h.ask(h.mention("third?"), member=2)
    replies = h.sent()
    assert len(replies) == 1 and "**Sources**" in replies[0].content
    assert len(h.service.calls) == 3


async def test_empty_and_too_long_questions(harness: Factory) -> None:
    h = await harness(max_question_chars=20)
    await h.ask(h.mention(""))
    await h.ask(h.mention("x" * 21), member=1)
    notices = h.sent()
    assert len(notices) == 2
    assert "Ask me a question" in notices[0].content
    assert "21 characters" in notices[1].content
    assert h.service.calls == []


async def test_twenty_questions_at_once_never_block_the_loop(harness: Factory) -> None:
    blob = b"x" * 256_000

    def work() -> None:
        time.sleep(0.05)  # I/O-like wait
        digest = b""
        for _ in range(20):  # CPU work that releases the GIL ...
            digest = hashlib.sha256(blob + digest).digest()
        sum(i * i for i in range(20_000))  # ... and some that holds it

    service = FakeService()
    service.work = work
    h = await harness(service, rate_limit_per_minute=100)

    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    for i in range(20):
        dpy_backend.make_message(h.mention(f"question {i}?"), h.members[i % 4], h.channel)
    await dpytest.run_all_events()
    elapsed = time.perf_counter() - started
    stop.set()
    await tick

    assert len(h.service.calls) == 20
    assert all(name.startswith("dateline-discord") for _, _, name in h.service.calls)
    replies = h.sent()
    assert len(replies) == 20
    assert {m.channel.id for m in replies} == {t.id for t in h.threads}
    assert len(h.threads) == 20
    print(f"max loop lag {max(lags) * 1000:.1f} ms over {elapsed:.2f} s")
    assert max(lags) < 0.1, f"event loop blocked for {max(lags) * 1000:.0f} ms"
    assert service.max_active > 1
    assert elapsed < 20 * 0.05  # the questions overlapped


# -- LLM mode: the reply is shown while it is written -------------------------------------


class StreamingService(FakeService):
    """Streams ``pieces`` to ``on_token`` (``delay`` apart), then returns the checked answer."""

    def __init__(self, pieces: list[str], final: Answer, delay: float) -> None:
        super().__init__(lambda q: final)
        self.pieces, self.delay = pieces, delay

    def ask(self, question: str, history=(), *, k=None, on_token=None) -> Answer:
        assert on_token is not None  # the bot streams in LLM mode
        for piece in self.pieces:
            time.sleep(self.delay)
            on_token(piece)
        return super().ask(question, history, k=k)


def record_edits(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, dict]]:
    edits: list[tuple[float, dict]] = []
    http = h.bot.http
    fake_edit = type(http).edit_message

    async def edit_message(channel_id: int, message_id: int, **fields: Any) -> dict:
        # dpytest reads the edited message from its caller's ``self`` local.
        self = dpy_backend._get_higher_locs(1).get("self")  # noqa: F841
        edits.append((time.monotonic(), dict(fields["params"].payload or {})))
        return await fake_edit(http, channel_id, message_id, **fields)

    monkeypatch.setattr(http, "edit_message", edit_message, raising=False)
    return edits


async def test_llm_reply_is_edited_as_it_streams_then_becomes_the_checked_answer(
    harness: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = make_answer("What happened?", "The council approved the budget [1].")
    pieces = [f"draft{i} " for i in range(30)]  # about 3 s of streaming
    h = await harness(StreamingService(pieces, final, 0.1), llm="openai:test-model")
    edits = record_edits(h, monkeypatch)
    start = time.monotonic()
    await h.ask(h.mention("What happened?"))
    replies = h.sent()
    assert len(replies) == 1  # one message: the draft, edited, then the answer
    first_draft = h.payloads[-1]["content"]
    assert first_draft.startswith("draft0") and first_draft.endswith(fmt.DRAFT_NOTE)
    assert not custom_ids(h.payloads[-1])
    drafts, (_, last) = edits[:-1], edits[-1]
    assert drafts, "the draft was never edited while it streamed"
    assert all(p["content"].endswith(fmt.DRAFT_NOTE) for _, p in drafts)
    assert any("draft2" in p["content"] for _, p in drafts)
    times = [start] + [t for t, _ in drafts]
    assert all(b - a >= 0.9 for a, b in zip(times[1:], times[2:], strict=False))
    assert len(drafts) <= 4  # at most about one edit a second over ~3 s
    assert last["content"] == fmt.render_answer(final)[0]
    assert "draft" not in last["content"]
    assert last["allowed_mentions"] == NONE_MENTIONS
    assert len(custom_ids(last)) == 2  # the feedback buttons come with the final edit


async def test_llm_reply_that_fails_replaces_the_draft_with_the_notice(
    harness: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = StreamingService(["half an ", "answer "], make_answer("q"), 0.05)
    service.fail_with = InvalidQuestionError("that question cannot be answered")
    h = await harness(service, llm="openai:test-model")
    edits = record_edits(h, monkeypatch)
    await h.ask(h.mention("What happened?"))
    assert len(h.sent()) == 1
    assert h.payloads[-1]["content"].startswith("half an")
    assert "that question cannot be answered" in edits[-1][1]["content"]
