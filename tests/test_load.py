"""Load through the Discord adapter, with the real answer service on the seed index.

* 50 ``/ask`` interactions in flight at once: every one is answered exactly once, and the
  event loop never stalls for more than 100 ms (a ticker measures how late it wakes up).
* 1,000 more questions, 50 at a time, all distinct: the process's resident memory after
  them is within 50 MB of what it was after a warm-up, and the adapter's own state (the
  feedback buffer, the rate limiter) stays bounded.

Interactions are built from raw gateway payloads and their responses recorded, as in
``test_discord_slash``; nothing goes over the network.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from discord.webhook.async_ import async_context

from bot.discord_bot import DatelineBot
from config.settings import DiscordSettings, Settings
from tests.helpers import make_service, seed_home
from tests.test_discord_slash import (
    RecordingAdapter,
    ask_interaction,
    build_bot,
)

pytestmark = pytest.mark.slow

IN_FLIGHT = 50
TOTAL = 1000
MAX_LAG = 0.100  # seconds
MAX_GROWTH_MB = 50

QUESTIONS = [
    "Who is Song Tao?",
    "Who is Hua Chunying?",
    "What did Xi Jinping send to Kim Jong Un?",
    "Who did Song Tao meet in Beijing?",
    "What did the foreign ministry spokeswoman say?",
    "When did Kim Jong Un reply to Xi Jinping?",
    "Which news agency reported the message?",
    "What is the International Department of the Communist Party?",
    "Who won the 2018 FIFA World Cup?",  # abstains
    "How tall is the Eiffel Tower?",  # abstains
]
_users = itertools.count(920_000_000_000_000_000)


def questions(n: int, start: int = 0) -> list[str]:
    """``n`` distinct questions (no answer can come from a cache)."""
    return [f"{QUESTIONS[i % len(QUESTIONS)]} ({i})" for i in range(start, start + n)]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class LagMeter:
    """How late the event loop wakes up from a 5 ms sleep, while it runs."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.max = 0.0
        self.ticks = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.period)
            self.max = max(self.max, loop.time() - before - self.period)
            self.ticks += 1

    def __enter__(self) -> LagMeter:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.fixture
def bot(tmp_path: Path, tmp_path_factory, monkeypatch) -> Iterator[tuple[DatelineBot, Any]]:
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "absent.toml"))
    service = make_service(seed_home(tmp_path_factory))
    service.ask("warm up the model")  # load the model and BM25 outside the measurements
    settings = Settings(home=tmp_path, discord=DiscordSettings())
    client = build_bot(settings, service, admin_role=False)
    adapter = RecordingAdapter([])
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        yield client, adapter
    finally:
        async_context.reset(token)
        client._executor.shutdown(wait=True, cancel_futures=True)


async def ask_all(client: DatelineBot, adapter: RecordingAdapter, batch: list[str]) -> None:
    """Send ``batch`` as concurrent /ask interactions, each from its own user."""
    start = len(adapter.calls)
    interactions = [ask_interaction(client, q, user_id=next(_users)) for q in batch]
    await asyncio.gather(*(client.tree._call(i) for i in interactions))
    calls = adapter.calls[start:]
    deferred = [p for kind, p in calls if kind == "response"]
    followups = [p for kind, p in calls if kind == "followup"]
    assert len(deferred) == len(batch) and all(p["type"] == 5 for p in deferred)
    # One public answer per question, and the one for each question: none lost or mixed up.
    assert len(followups) == len(batch), [p.get("content", "")[:60] for p in followups]
    quoted = sorted(p["content"].split("\n", 1)[0] for p in followups)
    assert quoted == sorted(f"> {q}" for q in batch)
    assert all(not p.get("flags", 0) & 64 for p in followups)  # answers, not error notices


async def test_fifty_questions_in_flight(bot) -> None:
    client, adapter = bot
    batch = [QUESTIONS[i % len(QUESTIONS)] for i in range(IN_FLIGHT)]  # five users each
    started = time.perf_counter()
    with LagMeter() as lag:
        await ask_all(client, adapter, batch)
    elapsed = time.perf_counter() - started
    answered = [p for kind, p in adapter.calls if kind == "followup"]
    cited = sum("**Sources**" in p["content"] for p in answered)
    print(
        f"\n{IN_FLIGHT} at once: {elapsed:.2f} s, {cited} with sources, "
        f"{len(answered) - cited} abstentions; loop lag max {lag.max * 1000:.1f} ms "
        f"over {lag.ticks} ticks"
    )
    assert cited >= IN_FLIGHT * 0.6  # 8 of the 10 questions have an answer
    assert lag.ticks > 10 and lag.max <= MAX_LAG, lag.max


async def test_memory_is_flat_over_a_thousand_questions(bot) -> None:
    client, adapter = bot
    await ask_all(client, adapter, questions(100, start=10_000))  # warm-up
    adapter.calls.clear()
    adapter.messages.clear()
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    trace = []
    with LagMeter() as lag:
        for n in range(0, TOTAL, IN_FLIGHT):
            await ask_all(client, adapter, questions(IN_FLIGHT, start=n))
            adapter.calls.clear()  # the recorder is the test's memory, not the bot's
            adapter.messages.clear()
            if (n + IN_FLIGHT) % 250 == 0:
                trace.append(round(rss_mb() - before, 1))
    elapsed = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    print(
        f"\n{TOTAL} questions in {elapsed:.1f} s ({TOTAL / elapsed:.0f}/s); RSS {before:.0f} MB "
        f"-> {after:.0f} MB ({after - before:+.1f} MB; every 250: {trace}); "
        f"loop lag max {lag.max * 1000:.1f} ms"
    )
    assert after - before < MAX_GROWTH_MB, (before, after)
    # Flat, not merely small: the second 500 questions add less than the first 500 did
    # (allocator arenas and the feedback buffer fill up early), plus noise.
    assert trace[-1] - trace[1] <= max(trace[1], 0) + 10, trace
    assert lag.max <= MAX_LAG, lag.max
    assert len(client.feedback._answers) <= client.feedback._capacity
    assert len(client.chat.limiter._hits) <= TOTAL + 100
