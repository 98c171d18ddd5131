"""Feeds on Discord: admin-only ``/feeds add|remove|list``, the background poller, and
announcements of newly indexed articles.

The poller runs in its own thread (``Poller.run``), so a slow feed never touches the
event loop; announcements are handed back to the loop with ``run_coroutine_threadsafe``.
Every reply is ephemeral; nothing posted can ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import discord_format as fmt
from bot.chat import public_message
from bot.feeds import check_feed_url, format_duration, parse_duration
from bot.poller import PollState, feed_store
from bot.text import clip
from retrieval.models import Article

if TYPE_CHECKING:
    from bot.discord_bot import DatelineBot
    from bot.poller import Poller

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
ANNOUNCE_MAX = 10


def headline(article: Article) -> str:
    """``**Title** (Outlet)`` and the link, with markdown and mentions neutralized."""
    title = discord.utils.escape_markdown(article.title or "Untitled article")
    title = discord.utils.escape_mentions(title)[:200]
    source = f" ({discord.utils.escape_mentions(article.source)[:80]})" if article.source else ""
    link = f"\n<{article.url}>" if article.url else ""
    return f"**{title}**{source}{link}"


class FeedControl:
    """The Discord side of feeds for one bot: commands, poller thread, announcements."""

    def __init__(self, bot: DatelineBot, poller: Poller | None = None):
        self.bot = bot
        self.settings = bot.settings
        self.store = feed_store(bot.settings)
        self.poller = poller
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if poller is not None:
            poller.on_new = self.announce_from_thread

    # -- poller thread ---------------------------------------------------------------

    def start(self) -> bool:
        """Start the background poller if there is one, feeds are followed, and it is not
        running; returns whether it runs."""
        if self.poller is None:
            return False
        if self._thread is not None and self._thread.is_alive():
            return True
        if not self.store.list():
            return False
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.poller.run, args=(self._stop,), name="dateline-poller", daemon=True
        )
        self._thread.start()
        log.info("feed poller started (%d feeds)", len(self.store.list()))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the poller to stop and wait a little for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- announcements ---------------------------------------------------------------

    def announce_from_thread(self, articles: list[Article]) -> None:
        """Called by the poller thread: schedule the announcement on the bot's loop."""
        if self.settings.discord.announce_channel is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.announce(articles), self._loop)

    async def announce(self, articles: Sequence[Article]) -> None:
        """Post the headline and link of each new article to ``discord.announce_channel``."""
        channel_id = self.settings.discord.announce_channel
        if channel_id is None or not articles:
            return
        channel = self.bot.get_channel(channel_id)
        try:
            if channel is None:
                channel = await self.bot.fetch_channel(channel_id)
            for article in articles[:ANNOUNCE_MAX]:
                await channel.send(
                    headline(article), allowed_mentions=NO_MENTIONS, suppress_embeds=True
                )
            if len(articles) > ANNOUNCE_MAX:
                await channel.send(
                    f"…and {len(articles) - ANNOUNCE_MAX} more new articles.",
                    allowed_mentions=NO_MENTIONS,
                )
        except discord.HTTPException as exc:
            log.warning("could not announce new articles in channel %s: %s", channel_id, exc)

    # -- slash commands --------------------------------------------------------------

    def commands(self) -> app_commands.Group:
        """The ``/feeds`` group."""
        control = self
        group = app_commands.Group(
            name="feeds", description="Feeds the bot follows (admins only).", guild_only=True
        )

        @group.command(name="add", description="Follow an RSS, Atom or JSON feed.")
        @app_commands.describe(url="The feed's http(s) URL", every="Interval, e.g. 15m or 1h")
        async def add(interaction: discord.Interaction, url: str, every: str | None = None):
            await control.handle_add(interaction, url, every)

        @group.command(name="remove", description="Stop following a feed.")
        @app_commands.describe(url="The feed's URL")
        async def remove(interaction: discord.Interaction, url: str):
            await control.handle_remove(interaction, url)

        @group.command(name="list", description="The feeds the bot follows.")
        async def list_(interaction: discord.Interaction):
            await control.handle_list(interaction)

        return group

    async def _refuse_non_admin(self, interaction: discord.Interaction) -> bool:
        if self.bot.is_admin(interaction.user):
            return False
        await self.bot._ephemeral(
            interaction, fmt.notice(self.bot.admin_only_notice("manage feeds"))
        )
        return True

    def _add_blocking(self, url: str, every: str | None):
        from bot.errors import ConfigError
        from bot.web import make_fetcher
        from retrieval.fetch import RefusedURLError

        url = check_feed_url(url)
        seconds = parse_duration(every) if every else None
        try:
            make_fetcher(self.settings).check_url(url)  # resolves the name: not on the loop
        except RefusedURLError as exc:
            raise ConfigError(str(exc)) from None
        return self.store.add(url, seconds)

    async def handle_add(self, interaction: discord.Interaction, url: str, every: str | None):
        """``/feeds add``: admins only; the URL passes the same checks as on the CLI."""
        if await self._refuse_non_admin(interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            feed = await self.bot.run_blocking(self._add_blocking, url, every)
        except Exception as exc:
            text = fmt.notice(f"Can't follow that feed: {public_message(exc)}")
        else:
            log.info("user %s added feed %s", interaction.user.id, feed.url)
            self.start()
            text = f"Following <{feed.url}> every {format_duration(feed.every)}."
        await interaction.followup.send(
            clip(text, fmt.MESSAGE_LIMIT), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def handle_remove(self, interaction: discord.Interaction, url: str):
        """``/feeds remove``: admins only."""
        if await self._refuse_non_admin(interaction):
            return
        try:
            removed = await self.bot.run_blocking(self.store.remove, url)
        except Exception as exc:
            text = fmt.notice(f"Can't remove that feed: {public_message(exc)}")
        else:
            text = (
                f"Stopped following <{url.strip()}>."
                if removed
                else fmt.notice("I'm not following that feed; see `/feeds list`.")
            )
        await self.bot._ephemeral(interaction, clip(text, fmt.MESSAGE_LIMIT))

    async def handle_list(self, interaction: discord.Interaction):
        """``/feeds list``: admins only (feed URLs and their errors are admin matters)."""
        if await self._refuse_non_admin(interaction):
            return
        feeds = await self.bot.run_blocking(self.store.list)
        state = await self.bot.run_blocking(PollState(self.settings.home).load)
        if not feeds:
            await self.bot._ephemeral(interaction, "I'm not following any feeds yet.")
            return
        lines = []
        for feed in feeds:
            info = state.get(feed.url, {})
            status = (
                f"error: {info['last_error']}"
                if info.get("last_error")
                else ("ok" if info.get("last_poll") else "not polled yet")
            )
            lines.append(f"• <{feed.url}> every {format_duration(feed.every)} — {status}")
        await self.bot._ephemeral(interaction, clip("\n".join(lines), fmt.MESSAGE_LIMIT))
