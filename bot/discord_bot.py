"""Dateline on Discord: ``/ask``, mentions, DMs and follow-ups in threads.

The bot receives its answer service in its constructor and never blocks the event loop:
every call into the service runs in a small thread pool. Nothing it sends can ping
anyone (``AllowedMentions.none()`` on the client and on every send). ``run_discord`` is
the entry point the CLI calls; the token is read only from ``DISCORD_TOKEN``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
import discord
from discord import app_commands

from bot import discord_format as fmt
from bot.answer import Answer, Turn
from bot.chat import AnswerService, Chat, log_failure, public_message
from bot.discord_feeds import FeedControl
from bot.errors import (
    ConfigError,
    DatelineError,
    EmptyQuestionError,
    QuestionTooLongError,
    RateLimitedError,
)
from bot.feedback import FeedbackLog, feedback_path, new_answer_id
from bot.reply import quote_line
from bot.text import clip, one_line
from config.settings import Settings
from retrieval import formats
from retrieval.models import ArticleInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
Trigger = Literal["dm", "mention", "followup"]

TOKEN_ENV = "DISCORD_TOKEN"
NO_MENTIONS = discord.AllowedMentions.none()
FEEDBACK_TEMPLATE = r"dateline:fb:(?P<vote>up|down):(?P<answer_id>[0-9a-f]{8,32})"
THREAD_ARCHIVE_MINUTES = 1440
DEFAULT_WORKERS = 4
# A streamed draft is edited at most this often (Discord allows 5 edits per 5 s a channel).
DRAFT_EDIT_SECONDS = 1.0


def required_intents() -> discord.Intents:
    """The gateway intents the bot needs: the defaults plus message content, minus typing."""
    intents = discord.Intents.default()
    intents.message_content = True
    intents.typing = False
    return intents


def safe_attachment_name(filename: str | None) -> str | None:
    """A file name safe to show and to key articles by, or None if the type is not accepted.

    Directory parts are dropped, accents are removed, the name is reduced to
    ``[A-Za-z0-9._-]``, leading dots and dashes go, and the extension must be one that
    ``retrieval.formats`` reads (compared case-insensitively).
    """
    name = unicodedata.normalize("NFKD", filename or "")
    name = "".join(ch for ch in name if not unicodedata.combining(ch))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    name = re.sub(r"([._-])\1+", r"\1", name).strip("._- ")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return None
    ext = "." + ext.lower()
    if formats.format_for_suffix(ext) is None:
        return None
    stem = stem[:80].strip("._-") or "article"
    return stem + ext


def _ingest_upload(service: AnswerService, name: str, data: bytes) -> str:
    """Index ``data`` as the file ``name``, return the summary (with why anything was
    skipped: the admin cannot see the server's log)."""
    report = service.ingest_bytes(data, name)
    summary = report.summary()
    skipped = list(getattr(report, "skipped", None) or [])
    if skipped:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        summary += f" Skipped {reasons}{more}."
    return summary


class DraftStream:
    """An LLM reply shown while it is written: tokens in (from any thread), edits out.

    ``show(text)`` puts the draft on Discord (send the first time, edit after); it is
    awaited at most once per ``interval`` seconds, with everything streamed so far.
    :meth:`close` stops it; the caller then replaces the draft with the checked answer.
    """

    def __init__(self, show: Callable[[str], Any], *, interval: float = DRAFT_EDIT_SECONDS) -> None:
        self._show = show
        self.interval = interval
        self._loop = asyncio.get_running_loop()
        self._pieces: list[str] = []
        self._lock = threading.Lock()
        self._changed = asyncio.Event()
        self._closed = False
        self.shown = 0
        self._task = self._loop.create_task(self._run())

    def on_token(self, token: str) -> None:
        """Called by the answer thread for each piece of the reply."""
        with self._lock:
            self._pieces.append(token)
        self._loop.call_soon_threadsafe(self._changed.set)

    @property
    def text(self) -> str:
        """Everything streamed so far."""
        with self._lock:
            return "".join(self._pieces)

    async def _run(self) -> None:
        last = -self.interval
        shown = ""
        while True:
            await self._changed.wait()
            wait = last + self.interval - self._loop.time()
            if wait > 0 and not self._closed:
                await asyncio.sleep(wait)  # gather what arrives in the meantime
            if self._closed:
                return
            self._changed.clear()
            text = self.text
            if text.strip() and text != shown:
                try:
                    await self._show(text)
                except discord.HTTPException as exc:
                    log.warning("could not show the draft (%s)", exc)
                shown, last = text, self._loop.time()
                self.shown += 1

    async def close(self) -> None:
        """Stop editing (an edit under way finishes first)."""
        self._closed = True
        self._changed.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=FEEDBACK_TEMPLATE):
    """A 👍 or 👎 button whose custom_id carries the answer id, so it survives restarts."""

    def __init__(self, vote: str, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="👍" if vote == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"dateline:fb:{vote}:{answer_id}",
            )
        )
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        """Rebuild the button from a click on any message, before or after a restart."""
        return cls(match["vote"], match["answer_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote."""
        client = interaction.client
        if isinstance(client, DatelineBot):
            await client.handle_feedback(interaction, self.vote, self.answer_id)


def feedback_view(answer_id: str) -> discord.ui.View:
    """The persistent 👍/👎 row attached to the last message of an answer."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", answer_id))
    view.add_item(FeedbackButton("down", answer_id))
    return view


class SourcesPager(discord.ui.View):
    """Previous/next buttons over the indexed-articles listing (only its requester may page)."""

    def __init__(
        self, articles: Sequence[ArticleInfo], page: int, owner_id: int, *, per_page: int = 10
    ) -> None:
        super().__init__(timeout=300)
        self.articles = list(articles)
        self.owner_id = owner_id
        self.per_page = per_page
        self.page = fmt.paginate_articles(self.articles, page, per_page).page
        self._sync()

    def current(self) -> fmt.SourcesPage:
        """The page now shown."""
        return fmt.paginate_articles(self.articles, self.page, self.per_page)

    def embed(self) -> discord.Embed:
        """The embed for the page now shown."""
        return fmt.sources_embed(self.current())

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return self.current().pages

    def _sync(self) -> None:
        self.previous_page.disabled = self.page <= 1
        self.next_page.disabled = self.page >= self.pages

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Only the user who ran ``/sources`` may turn its pages."""
        return interaction.user.id == self.owner_id

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = min(max(1, page), self.pages)
        self._sync()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[SourcesPager]
    ) -> None:
        """Show the previous page."""
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[SourcesPager]
    ) -> None:
        """Show the next page."""
        await self._show(interaction, self.page + 1)


class DatelineTree(app_commands.CommandTree):
    """The command tree: enforces the guild/channel allow-lists and reports failures."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse, ephemerally, commands used outside the allowed guilds and channels."""
        client = self.client
        if isinstance(client, DatelineBot) and not client.allowed_place(
            interaction.guild_id, interaction.channel
        ):
            await interaction.response.send_message(
                fmt.notice("I'm not set up to answer here."),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Log the traceback and give the user a short ephemeral error."""
        original = getattr(error, "original", error)
        name = interaction.command.qualified_name if interaction.command else "?"
        log.error("/%s failed", name, exc_info=original)
        text = fmt.notice(public_message(original))
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException:
            log.warning("could not report the failure of /%s to the user", name)


class DatelineBot(discord.Client):
    """The Discord adapter: a client that answers through an :class:`AnswerService`.

    ``options`` go to :class:`discord.Client` (``intents`` defaults to
    :func:`required_intents`; ``allowed_mentions`` is always ``AllowedMentions.none()``).
    ``workers`` bounds the threads that call the service at once.
    """

    def __init__(
        self,
        settings: Settings,
        service: AnswerService,
        *,
        feedback: FeedbackLog | None = None,
        workers: int = DEFAULT_WORKERS,
        poller: Any = None,
        **options: Any,
    ) -> None:
        options.setdefault("intents", required_intents())
        options["allowed_mentions"] = NO_MENTIONS
        super().__init__(**options)
        self.settings = settings
        self.config = settings.discord
        self.service = service
        self.chat = Chat(
            service,
            max_question_chars=self.config.max_question_chars,
            history_turns=settings.answer.history_turns,
            rate_limit_per_minute=self.config.rate_limit_per_minute,
        )
        self.feedback = feedback or FeedbackLog(feedback_path(settings))
        self.tree = DatelineTree(self)
        self.notice_delete_after = 15.0
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="dateline-discord"
        )
        self._ingest_lock = asyncio.Lock()
        self.feed_control = FeedControl(self, poller)
        self._add_commands()

    # -- lifecycle -------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Register the persistent feedback buttons and sync the slash commands."""
        self.add_dynamic_items(FeedbackButton)
        await self.sync_commands()
        self.feed_control.start()

    async def sync_commands(self) -> None:
        """Copy the commands to each configured guild and sync there; globally if asked."""
        for guild_id in self.config.guilds:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.HTTPException as exc:
                log.error("could not sync slash commands to guild %s: %s", guild_id, exc)
            else:
                log.info("synced %d slash commands to guild %s", len(synced), guild_id)
        if self.config.sync_global:
            try:
                synced = await self.tree.sync()
            except discord.HTTPException as exc:
                log.error("could not sync slash commands globally: %s", exc)
            else:
                log.info("synced %d slash commands globally", len(synced))
        elif not self.config.guilds:
            log.warning("slash commands were not synced: set discord.guilds or discord.sync_global")

    async def close(self) -> None:
        """Disconnect, then stop the worker threads (queued questions are dropped)."""
        try:
            await super().close()
        finally:
            await asyncio.to_thread(self.feed_control.stop)
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def on_ready(self) -> None:
        """Log who we are; never the token."""
        log.info("connected to Discord as %s (id %s)", self.user, getattr(self.user, "id", "?"))

    # -- helpers ---------------------------------------------------------------------

    async def run_blocking(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``func`` in the bot's worker threads and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    def allowed_place(self, guild_id: int | None, channel: object) -> bool:
        """Whether the allow-lists let the bot answer in this guild and channel (or DM)."""
        if guild_id is None:
            return self.config.allow_dm
        if self.config.guilds and guild_id not in self.config.guilds:
            return False
        if self.config.channels:
            ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
            return bool(ids & set(self.config.channels))
        return True

    def is_admin(self, user: discord.abc.User) -> bool:
        """Whether ``user`` may change the shared index (``/ingest``, ``/feeds``).

        A listed user id, or a member holding the admin role in a guild listed in
        ``discord.guilds``: a role name alone is not enough, since anyone who invites the
        bot to a guild of their own can create a role with that name.
        """
        if user.id in self.config.admin_user_ids:
            return True
        role = self.config.admin_role
        return (
            bool(role)
            and isinstance(user, discord.Member)
            and user.guild.id in self.config.guilds
            and any(r.name == role for r in user.roles)
        )

    def admin_only_notice(self, what: str) -> str:
        """Why a non-admin was refused ``what``."""
        role = self.config.admin_role
        if role and self.config.guilds:
            return f"Only members with the “{role}” role in this bot's servers can {what}."
        return f"Only the bot's admins can {what}."

    def is_own_thread(self, channel: object) -> bool:
        """Whether ``channel`` is a thread this bot started."""
        return (
            isinstance(channel, discord.Thread)
            and self.user is not None
            and channel.owner_id == self.user.id
        )

    @property
    def streams_llm(self) -> bool:
        """Whether answers come from an LLM, whose reply is then shown while it is written."""
        return bool(self.settings.answer.llm)

    @contextlib.asynccontextmanager
    async def _typing(self, channel: discord.abc.Messageable) -> AsyncIterator[None]:
        """Show the typing indicator if Discord lets us; never fail because of it."""
        typing = channel.typing()
        try:
            await typing.__aenter__()
            entered = True
        except discord.HTTPException:
            entered = False
        try:
            yield
        finally:
            if entered:
                await typing.__aexit__(None, None, None)

    async def _send_notice(
        self,
        channel: discord.abc.Messageable,
        text: str,
        *,
        reference: discord.Message | None = None,
        delete_after: float | None = None,
    ) -> None:
        await channel.send(
            text,
            allowed_mentions=NO_MENTIONS,
            suppress_embeds=True,
            reference=reference.to_reference(fail_if_not_exists=False) if reference else None,
            delete_after=delete_after,
        )

    async def send_answer(
        self,
        channel: discord.abc.Messageable,
        answer: Answer,
        *,
        asker_id: int,
        reference: discord.Message | None = None,
        draft: discord.Message | None = None,
    ) -> list[discord.Message]:
        """Send ``answer`` as one or more messages; the last carries the feedback buttons.

        A ``draft`` (the message that showed the streamed reply) becomes the first of them.
        """
        parts = fmt.render_answer(answer)
        answer_id = new_answer_id()
        guild = getattr(channel, "guild", None)
        self.feedback.remember(
            answer_id,
            answer,
            asker_id=asker_id,
            guild_id=getattr(guild, "id", None),
            channel_id=getattr(channel, "id", None),
        )
        ref = reference.to_reference(fail_if_not_exists=False) if reference else None
        sent = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            view = feedback_view(answer_id) if last else None
            if i == 0 and draft is not None:
                await draft.edit(content=part, allowed_mentions=NO_MENTIONS, view=view)
                sent.append(draft)
                continue
            sent.append(
                await channel.send(
                    part,
                    allowed_mentions=NO_MENTIONS,
                    suppress_embeds=True,
                    reference=ref if i == 0 else None,
                    view=view,
                )
            )
        return sent

    async def thread_history(
        self, thread: discord.Thread, *, before: discord.abc.Snowflake | None = None
    ) -> list[Turn]:
        """The conversation so far in one of our threads, as turns, oldest first.

        Reads at most ``discord.history_messages`` messages before ``before``; the
        thread's starter message (the first question, in the parent channel) leads
        when the whole thread fits in that window.
        """
        limit = self.config.history_messages
        if limit <= 0 or self.user is None:
            return []
        me = self.user.id
        try:
            messages = [m async for m in thread.history(limit=limit, before=before)]
        except discord.HTTPException as exc:
            log.warning("could not read the history of thread %s: %s", thread.id, exc)
            return []
        messages.sort(key=lambda m: m.id)
        if len(messages) < limit:
            starter = await self._starter_message(thread)
            if starter is not None and all(m.id != starter.id for m in messages):
                messages.insert(0, starter)
        entries: list[tuple[fmt.Role, str]] = []
        for m in messages:
            if m.author.id == me:
                entries.append(("bot", m.content))
            elif not m.author.bot:
                entries.append(("user", self._question_text(m)))
        return fmt.turns_from_thread(entries)

    async def _unremembered_history(
        self, thread: discord.Thread, *, before: discord.abc.Snowflake | None = None
    ) -> list[Turn] | None:
        """None when the chat core remembers ``thread``; else what the thread shows of its
        conversation (the bot was restarted since it last answered there)."""
        if self.chat.knows(thread.id):
            return None
        return await self.thread_history(thread, before=before)

    async def _ask(
        self,
        question: str,
        conversation: int | None,
        earlier: list[Turn] | None,
        show: Callable[[str], Any],
        what: str,
    ) -> tuple[Answer, DraftStream | None]:
        """Answer in a worker thread; in LLM mode ``show`` puts the draft up as it is written.

        A failure is logged (as ``what``) and raised once the draft has stopped.
        """
        draft = DraftStream(show) if self.streams_llm else None
        extra = {"on_token": draft.on_token} if draft else {}
        try:
            answer = await self.run_blocking(
                self.chat.ask, question, conversation, earlier=earlier, **extra
            )
        except Exception as exc:
            log_failure(log, exc, what)
            raise
        finally:
            if draft is not None:
                await draft.close()
        return answer, draft

    async def _starter_message(self, thread: discord.Thread) -> discord.Message | None:
        if thread.starter_message is not None:
            return thread.starter_message
        parent = thread.parent
        if not isinstance(parent, discord.TextChannel):
            return None
        try:
            return await parent.fetch_message(thread.id)
        except discord.HTTPException:
            return None

    # -- messages: mentions, DMs, follow-ups -------------------------------------------

    def _trigger(self, message: discord.Message) -> Trigger | None:
        me = self.user
        assert me is not None
        if message.guild is None:
            if self.config.allow_dm and isinstance(message.channel, discord.DMChannel):
                return "dm"
            return None
        if not self.allowed_place(message.guild.id, message.channel):
            return None
        # Discord's autocomplete often offers the bot's managed role: treat it as a mention.
        own_role = message.guild.self_role
        mentioned = me.id in message.raw_mentions or (
            own_role is not None and own_role.id in message.raw_role_mentions
        )
        if self.is_own_thread(message.channel):
            talking_to_others = (
                message.raw_mentions or message.raw_role_mentions or message.mention_everyone
            )
            return None if talking_to_others and not mentioned else "followup"
        return "mention" if mentioned else None

    def _question_text(self, message: discord.Message) -> str:
        me = self.user
        assert me is not None
        content = message.content
        own_role = message.guild.self_role if message.guild else None
        if own_role is not None:
            content = content.replace(f"<@&{own_role.id}>", " ")
        return fmt.question_text(content, me.id)

    async def on_message(self, message: discord.Message) -> None:
        """Answer mentions, DMs and messages in our threads; ignore bots and ourselves."""
        me = self.user
        if me is None or message.author.id == me.id or message.author.bot:
            return
        if message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        trigger = self._trigger(message)
        if trigger is None:
            return
        try:
            await self._answer_message(message, trigger)
        except Exception:
            log.exception("could not handle message %s", message.id)

    async def _rate_limit_notice(self, message: discord.Message, refusal: RateLimitedError) -> None:
        text = fmt.rate_limit_notice(refusal)
        # In a DM the notice is private already; elsewhere it removes itself.
        delete_after = None if message.guild is None else self.notice_delete_after
        await self._send_notice(message.channel, text, reference=message, delete_after=delete_after)

    async def _answer_message(self, message: discord.Message, trigger: Trigger) -> None:
        channel = message.channel
        try:
            question = self.chat.admit(self._question_text(message), message.author.id)
        except EmptyQuestionError:
            if trigger != "followup":
                await self._send_notice(channel, fmt.empty_question_notice(), reference=message)
            return
        except QuestionTooLongError as exc:
            notice = fmt.too_long_notice(exc.length, exc.limit)
            await self._send_notice(channel, notice, reference=message)
            return
        except RateLimitedError as exc:
            if exc.notify:
                await self._rate_limit_notice(message, exc)
            return

        # The conversation: a thread started for a mention, one of our threads, or a DM.
        target: discord.abc.Messageable = channel
        reference: discord.Message | None = message
        conversation: int | None = None
        earlier: list[Turn] | None = None
        if trigger == "mention" and isinstance(channel, discord.TextChannel):
            thread = await self._start_thread(message, question)
            if thread is not None:
                target, reference, conversation = thread, None, thread.id
        elif trigger == "followup" and isinstance(channel, discord.Thread):
            conversation = channel.id
            earlier = await self._unremembered_history(channel, before=message)
        elif trigger == "dm":
            conversation = channel.id

        drafts: list[discord.Message] = []

        async def show(text: str) -> None:
            if drafts:
                await drafts[0].edit(content=fmt.draft_text(text), allowed_mentions=NO_MENTIONS)
            else:
                ref = reference.to_reference(fail_if_not_exists=False) if reference else None
                drafts.append(
                    await target.send(
                        fmt.draft_text(text),
                        allowed_mentions=NO_MENTIONS,
                        suppress_embeds=True,
                        reference=ref,
                    )
                )

        try:
            async with self._typing(target):
                answer, _ = await self._ask(
                    question, conversation, earlier, show, f"question in message {message.id}"
                )
        except Exception as exc:
            notice = fmt.error_notice(public_message(exc))
            if drafts:
                await drafts[0].edit(content=notice, allowed_mentions=NO_MENTIONS)
            else:
                await self._send_notice(target, notice, reference=reference)
            return
        await self.send_answer(
            target,
            answer,
            asker_id=message.author.id,
            reference=reference,
            draft=drafts[0] if drafts else None,
        )

    async def _start_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        try:
            return await message.create_thread(
                name=fmt.thread_name(question), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except (discord.HTTPException, ValueError) as exc:
            log.warning("no thread for message %s (%s); replying in the channel", message.id, exc)
            return None

    # -- slash commands --------------------------------------------------------------

    def _add_commands(self) -> None:
        bot = self

        @app_commands.command(name="ask", description="Ask a question about the indexed news.")
        @app_commands.describe(question="Your question")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await bot.handle_ask(interaction, question)

        @app_commands.command(name="sources", description="List the indexed articles.")
        @app_commands.describe(page="Page to show (10 articles a page)")
        async def sources(
            interaction: discord.Interaction, page: app_commands.Range[int, 1, None] = 1
        ) -> None:
            await bot.handle_sources(interaction, page)

        @app_commands.command(name="ingest", description="Add an article file (admins only).")
        @app_commands.describe(file=f"An article file: {formats.describe()}")
        @app_commands.guild_only()
        async def ingest(interaction: discord.Interaction, file: discord.Attachment) -> None:
            await bot.handle_ingest(interaction, file)

        for command in (ask, sources, ingest, self.feed_control.commands()):
            self.tree.add_command(command)

    async def _ephemeral(self, interaction: discord.Interaction, text: str) -> None:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def _ephemeral_after_public_defer(
        self, interaction: discord.Interaction, text: str
    ) -> None:
        # The first follow-up would replace the public "thinking" message and stay public,
        # so remove that message first; the follow-up is then a new, ephemeral one.
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def handle_ask(self, interaction: discord.Interaction, question: str) -> None:
        """``/ask``: check, defer (thinking), answer in a worker thread, follow up."""
        me_id = self.user.id if self.user else None
        try:
            question = self.chat.admit(fmt.question_text(question, me_id), interaction.user.id)
        except EmptyQuestionError:
            await self._ephemeral(interaction, fmt.empty_question_notice())
            return
        except QuestionTooLongError as exc:
            await self._ephemeral(interaction, fmt.too_long_notice(exc.length, exc.limit))
            return
        except RateLimitedError as exc:
            await self._ephemeral(interaction, fmt.rate_limit_notice(exc))
            return

        await interaction.response.defer(thinking=True)
        conversation: int | None = None
        earlier: list[Turn] | None = None
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and self.is_own_thread(channel):
            conversation = channel.id
            earlier = await self._unremembered_history(channel)
        elif interaction.guild_id is None:
            conversation = interaction.channel_id
        prefix = quote_line(question, fmt.STYLE)

        async def show(text: str) -> None:
            # The deferred "thinking" response becomes the draft, then the answer.
            await interaction.edit_original_response(
                content=clip(prefix + fmt.draft_text(text), fmt.MESSAGE_LIMIT),
                allowed_mentions=NO_MENTIONS,
            )

        try:
            answer, draft = await self._ask(
                question, conversation, earlier, show, f"/ask from user {interaction.user.id}"
            )
        except Exception as exc:
            await self._ephemeral_after_public_defer(
                interaction, fmt.error_notice(public_message(exc))
            )
            return

        parts = fmt.render_answer(answer, quote_question=True)
        answer_id = new_answer_id()
        self.feedback.remember(
            answer_id,
            answer,
            asker_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        for i, part in enumerate(parts):
            extra: dict[str, Any] = {}
            if i == len(parts) - 1:
                extra["view"] = feedback_view(answer_id)
            if i == 0 and draft is not None and draft.shown:
                await interaction.edit_original_response(
                    content=part, allowed_mentions=NO_MENTIONS, **extra
                )
                continue
            await interaction.followup.send(
                part, allowed_mentions=NO_MENTIONS, suppress_embeds=True, wait=True, **extra
            )

    async def handle_sources(self, interaction: discord.Interaction, page: int = 1) -> None:
        """``/sources``: the indexed articles, ten a page, with previous/next buttons."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            articles = await self.run_blocking(self.service.articles)
        except Exception as exc:
            log_failure(log, exc, "/sources")
            await interaction.followup.send(
                fmt.notice(f"Couldn't list the articles: {public_message(exc)}"),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        pager = SourcesPager(articles, page, interaction.user.id)
        extra: dict[str, Any] = {"view": pager} if pager.pages > 1 else {}
        await interaction.followup.send(
            embed=pager.embed(), ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True, **extra
        )

    async def handle_ingest(
        self, interaction: discord.Interaction, attachment: discord.Attachment
    ) -> None:
        """``/ingest``: admins only; checks the file, indexes it in a worker thread, reports."""
        if not self.is_admin(interaction.user):
            await self._ephemeral(interaction, fmt.notice(self.admin_only_notice("add articles")))
            return
        name = safe_attachment_name(attachment.filename)
        if name is None:
            kinds = ", ".join(formats.suffixes())
            await self._ephemeral(interaction, fmt.notice(f"I can only ingest {kinds} files."))
            return
        max_bytes = self.config.max_attachment_bytes
        if attachment.size > max_bytes:
            await self._ephemeral(
                interaction,
                fmt.notice(f"That file is {attachment.size:,} bytes; the limit is {max_bytes:,}."),
            )
            return

        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            async with self._ingest_lock:
                data = await attachment.read()
                if len(data) > max_bytes:
                    raise DatelineError(f"the file is larger than {max_bytes:,} bytes")
                # Keyed by the upload: a later file of the same name does not replace this one.
                key = f"discord:{attachment.id}/{name}"
                summary = await self.run_blocking(_ingest_upload, self.service, key, data)
        except Exception as exc:
            log_failure(log, exc, f"/ingest of {name}")
            text = fmt.notice(f"Could not ingest `{name}`: {public_message(exc)}")
        else:
            log.info("user %s ingested %s (%d bytes)", interaction.user.id, name, len(data))
            text = clip(f"Ingested `{name}`: {one_line(summary)}", fmt.MESSAGE_LIMIT)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def handle_feedback(
        self, interaction: discord.Interaction, vote: str, answer_id: str
    ) -> None:
        """A 👍/👎 click: append it to the feedback log and thank the user privately."""
        message = interaction.message
        try:
            entry = await asyncio.to_thread(
                self.feedback.record,
                answer_id,
                "up" if vote == "up" else "down",
                interaction.user.id,
                message_id=message.id if message else None,
                message_text=message.content if message else None,
            )
        except OSError as exc:
            log.error("could not write the feedback log %s", self.feedback.path, exc_info=exc)
            await self._ephemeral(interaction, fmt.notice("Sorry, I couldn't save that feedback."))
            return
        emoji = "👍" if vote == "up" else "👎"
        text = f"Thanks for the {emoji}." if entry else f"Your {emoji} was already recorded."
        await self._ephemeral(interaction, text)


def run_discord(settings: Settings, service: AnswerService) -> None:
    """Run the Discord bot until it is stopped; the token comes from ``DISCORD_TOKEN``.

    Raises ``ConfigError`` when the token is missing or Discord rejects it, or when the
    Message Content intent is not enabled for the application. Ctrl-C returns normally.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"{TOKEN_ENV} is not set: create a bot in the Discord developer portal "
            f"and export its token as {TOKEN_ENV}"
        )
    from bot.poller import Poller

    bot = DatelineBot(settings, service, poller=Poller(service, settings))

    async def runner() -> None:
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(runner())
    except discord.LoginFailure:
        raise ConfigError(
            f"Discord rejected the token in {TOKEN_ENV}; reset it in the developer portal "
            "(Bot → Reset Token) and try again"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "Discord refused the Message Content intent: enable it in the developer portal "
            "under Bot → Privileged Gateway Intents"
        ) from None
    except KeyboardInterrupt:
        return
    except (discord.HTTPException, discord.GatewayNotFound, discord.ConnectionClosed) as exc:
        raise DatelineError(
            f"Discord failed while connecting ({type(exc).__name__}); try again later"
        ) from None
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        raise DatelineError(
            f"cannot reach Discord ({type(exc).__name__}); check the network connection"
        ) from None
