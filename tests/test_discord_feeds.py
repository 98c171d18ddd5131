"""``/feeds``, the admin check, announcements and the background poller on Discord.

Interactions go through the bot's real CommandTree with the recording webhook adapter
of ``test_discord_slash``; the poller fetches from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.discord_feeds import headline
from bot.poller import PollState
from config.settings import DiscordSettings, FetchSettings, Settings
from retrieval.models import Article, ArticleRecord
from tests import test_discord_slash as slash
from tests.feedserver import FeedServer, Route
from tests.test_discord_slash import (
    ADMIN_ROLE_ID,
    EPHEMERAL,
    GUILD_ID,
    USER_ID,
    Env,
    build_bot,
    command_interaction,
    ingest_interaction,
    role,
)

env = slash.env  # the fixture: a bot, a fake service and the recording webhook adapter

OTHER_GUILD = 900000000000000077
OTHER_ROLE = 900000000000000078


def feeds_interaction(bot, sub: str, **values: Any):
    options = [{"type": 3, "name": k, "value": v} for k, v in values.items()]
    return command_interaction(
        bot, "feeds", [{"type": 1, "name": sub, "options": options}], roles=(ADMIN_ROLE_ID,)
    )


def reply_text(env: Env) -> str:
    responses = env.adapter.of("response")
    followups = env.adapter.of("followup")
    if followups:
        assert followups[-1]["flags"] & EPHEMERAL
        return followups[-1]["content"]
    assert responses[-1]["data"]["flags"] & EPHEMERAL
    return responses[-1]["data"]["content"]


def make_bot(env: Env, tmp_path: Path, *, allow_private=False, **discord_settings):
    settings = Settings(
        home=tmp_path,
        discord=DiscordSettings(**discord_settings),
        fetch=FetchSettings(allow_private_addresses=allow_private),
    )
    return build_bot(settings, env.service)


def add_other_guild(bot) -> None:
    guild = discord.Guild(
        data={  # type: ignore[arg-type]
            "id": str(OTHER_GUILD),
            "name": "Somebody else's server",
            "roles": [role(OTHER_GUILD, "@everyone"), role(OTHER_ROLE, "Dateline Admin")],
            "member_count": 2,
        },
        state=bot._connection,
    )
    bot._connection._add_guild(guild)


async def test_a_role_name_alone_is_not_admin(env: Env, tmp_path: Path) -> None:
    # guilds = []: anyone could invite the bot and create a "Dateline Admin" role.
    open_bot = make_bot(env, tmp_path)
    await open_bot.tree._call(feeds_interaction(open_bot, "add", url="http://a.example/feed"))
    assert "Only the bot's admins" in reply_text(env)
    env.adapter.calls.clear()
    await open_bot.tree._call(ingest_interaction(open_bot, "x.txt", 5, roles=(ADMIN_ROLE_ID,)))
    assert "Only the bot's admins" in reply_text(env)
    assert env.service.ingested == []

    # A same-named role in a guild not listed in discord.guilds does not count either.
    listed = make_bot(env, tmp_path, guilds=[GUILD_ID])
    add_other_guild(listed)
    there = command_interaction(listed, "sources", [], guild_id=OTHER_GUILD, roles=(OTHER_ROLE,))
    assert there.user.roles[-1].name == "Dateline Admin"
    assert not listed.is_admin(there.user)
    here = command_interaction(listed, "sources", [], roles=(ADMIN_ROLE_ID,))
    assert listed.is_admin(here.user)
    by_id = make_bot(env, tmp_path, admin_user_ids=[USER_ID])
    assert by_id.is_admin(command_interaction(by_id, "sources", [], guild_id=OTHER_GUILD).user)


async def test_feeds_add_list_remove(env: Env, tmp_path: Path) -> None:
    bot = make_bot(env, tmp_path, guilds=[GUILD_ID], allow_private=True)
    await bot.tree._call(feeds_interaction(bot, "add", url="http://127.0.0.1:9/feed", every="1h"))
    assert reply_text(env) == "Following <http://127.0.0.1:9/feed> every 1h."
    env.adapter.calls.clear()
    await bot.tree._call(feeds_interaction(bot, "list"))
    assert "<http://127.0.0.1:9/feed> every 1h — not polled yet" in reply_text(env)
    env.adapter.calls.clear()
    await bot.tree._call(feeds_interaction(bot, "remove", url="http://127.0.0.1:9/feed"))
    assert reply_text(env) == "Stopped following <http://127.0.0.1:9/feed>."
    env.adapter.calls.clear()
    await bot.tree._call(feeds_interaction(bot, "list"))
    assert "not following any feeds" in reply_text(env)


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("http://127.0.0.1:9/feed", "loopback"),
        ("http://10.1.1.1/feed", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:9/feed", "loopback"),
        ("http://localhost:9/feed", "loopback"),
        ("ftp://a.example/feed", "only http and https"),
    ],
)
async def test_feeds_add_refuses_private_addresses(env: Env, tmp_path: Path, url, text) -> None:
    bot = make_bot(env, tmp_path, guilds=[GUILD_ID])
    await bot.tree._call(feeds_interaction(bot, "add", url=url))
    reply = reply_text(env)
    assert reply.count("\n") == 0 and "Can't follow that feed" in reply and text in reply
    assert (
        not (tmp_path / "feeds.json").exists() or url not in (tmp_path / "feeds.json").read_text()
    )


def test_headlines_never_ping() -> None:
    text = headline(
        Article(text="x", key="k", title="@everyone *wins* <@123>", source="Wire", url="http://a/b")
    )
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert text.endswith("\n<http://a/b>") and "\\*wins\\*" in text


class Channel:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def send(self, text: str, **kw: Any) -> None:
        self.sent.append((text, kw))


async def test_poller_runs_off_the_loop_and_announces(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.poller import Poller

    class Service:
        """Just enough index for the poller: every article is new."""

        def __init__(self) -> None:
            self.store = self
            self.seen: dict[str, dict] = {}

        def get_articles(self, ids):
            return {i: self.seen[i] for i in ids if i in self.seen}

        def ingest_articles(self, items):
            from retrieval.dedup import article_id
            from retrieval.ingest import IngestReport

            arts = [a for a in items if isinstance(a, Article)]
            for a in arts:
                aid = article_id(a.text, a.url)
                self.seen[aid] = ArticleRecord(aid, status="complete")
            return IngestReport(added=len(arts))

    channel = Channel()
    with FeedServer() as server:
        body = (
            "<rss version='2.0'><channel><title>Wire</title><item><title>Big @everyone news"
            "</title><link>{}</link><description>"
            + "Words of the story go here. " * 40
            + "</description></item></channel></rss>"
        ).format(server.url("/story/1?utm_source=x"))
        server.routes["/feed"] = Route(body.encode(), delay=1.0)
        settings = Settings(
            home=tmp_path,
            discord=DiscordSettings(guilds=[GUILD_ID], announce_channel=4242),
            fetch=FetchSettings(allow_private_addresses=True),
        )
        service = Service()
        bot = build_bot(settings, env.service, poller=Poller(service, settings))
        monkeypatch.setattr(bot, "get_channel", lambda cid: channel if cid == 4242 else None)
        bot.feed_control.store.add(server.url("/feed"), 60)
        assert bot.feed_control.start()
        lag, started = 0.0, time.monotonic()
        while not channel.sent and time.monotonic() - started < 10:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lag = max(lag, time.monotonic() - before - 0.01)
        await asyncio.to_thread(bot.feed_control.stop)
    assert lag < 0.3  # the loop kept running while the feed took a second to answer
    [(text, kw)] = channel.sent
    assert text.startswith("**Big @\u200beveryone news** (Wire)")
    assert text.endswith(f"<{server.url('/story/1')}>")
    assert kw["allowed_mentions"].everyone is False and kw["suppress_embeds"]
    assert PollState(tmp_path).load()[server.url("/feed")]["failures"] == 0
