"""Pure rendering for the Discord adapter: Discord's limits, markdown and links.

Nothing here talks to Discord; :func:`build_embed` imports ``discord`` only when called.
The layout of an answer is the chat core's (:func:`bot.reply.reply_parts`); Discord adds
its limits and :data:`STYLE`, so an answer message looks like::

    > the question (slash commands only)
    The answer text, with its markers [1], split on sentence boundaries.

    **Sources**
    [1] Title — Outlet, 2025-01-31 <https://example.com/article>

Links sit in ``<...>`` so Discord shows no preview. The inverse,
:func:`answer_from_messages`, recovers the answer text from a thread's bot messages:
the bot remembers its conversations, but not across a restart, and then a thread's
conversation is rebuilt from its Discord history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from bot.answer import Answer, Turn
from bot.errors import RateLimitedError
from bot.reply import TRUNCATED, ReplyStyle, reply_parts, source_line
from bot.text import clip, one_line
from retrieval.models import ArticleInfo

if TYPE_CHECKING:
    import discord

MESSAGE_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
THREAD_NAME_LIMIT = 100

MAX_ANSWER_MESSAGES = 4
LINK_LIMIT = 400
ARTICLE_LINE_LIMIT = 380

SOURCES_HEADING = "**Sources**"
NOTICE_PREFIX = "⚠️ "

Role = Literal["user", "bot"]

DRAFT_NOTE = "\n-# writing… (the citations are checked when the answer is done)"


def draft_text(text: str) -> str:
    """A streamed LLM draft as one message: the text so far (clipped) and a note under it."""
    return clip(text.strip() or "…", MESSAGE_LIMIT - len(DRAFT_NOTE)) + DRAFT_NOTE


def safe_link(url: str | None) -> str | None:
    """An http(s) URL fit to show inside ``<...>``, or None if there is none or it is odd."""
    if not url:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > LINK_LIMIT:
        return None
    if any(ch.isspace() for ch in url):
        return None
    return url.replace("<", "%3C").replace(">", "%3E")


def discord_link(url: str | None, path: str | None) -> str:
    """`` <url>`` (no preview) for a web article, `` (file name)`` for a local one."""
    link = safe_link(url)
    if link:
        return f" <{link}>"
    if path:
        # A local file: show its name only, never the server's directory layout.
        return f" ({clip(PurePath(path).name, 80)})"
    return ""


STYLE = ReplyStyle(heading=SOURCES_HEADING, link=discord_link)


def format_article(article: ArticleInfo) -> str:
    """One line for an indexed article, at most 380 characters."""
    return clip("• " + source_line(article, STYLE), ARTICLE_LINE_LIMIT)


def render_answer(
    answer: Answer,
    *,
    quote_question: bool = False,
    limit: int = MESSAGE_LIMIT,
    max_messages: int = MAX_ANSWER_MESSAGES,
) -> list[str]:
    """The Discord messages that show ``answer`` (see :func:`bot.reply.reply_parts`)."""
    return reply_parts(
        answer, STYLE, limit=limit, max_parts=max_messages, quote_question=quote_question
    )


def split_quoted_question(text: str) -> tuple[str | None, str]:
    """Separate a leading ``> question`` line (as slash answers have) from the rest."""
    if text.startswith("> "):
        first, _, rest = text.partition("\n")
        return first[2:].strip() or None, rest
    return None, text


def answer_from_messages(parts: Sequence[str]) -> tuple[str | None, str]:
    """The quoted question (if any) and the answer text of one answer's messages.

    The inverse of :func:`render_answer`: the parts are joined and everything from the
    sources heading on is dropped.
    """
    question, text = split_quoted_question("\n".join(parts))
    lines = text.splitlines()
    if SOURCES_HEADING in lines:
        lines = lines[: lines.index(SOURCES_HEADING)]
    answer = "\n".join(lines).strip()
    if answer.endswith(TRUNCATED.strip()):
        answer = answer[: -len(TRUNCATED.strip())].rstrip()
    return question, answer


def turns_from_thread(entries: Sequence[tuple[Role, str]]) -> list[Turn]:
    """Conversation turns from a thread's messages, oldest first.

    ``entries`` are ``(role, text)`` pairs: ``"user"`` for a question (mention already
    removed), ``"bot"`` for the bot's own messages. A question followed by one or more
    bot messages makes a turn; notices (which start with ``NOTICE_PREFIX``) are not
    answers; a bot message that quotes its question (a slash answer) is a turn alone.
    Questions left without an answer are dropped.
    """
    turns: list[Turn] = []
    question: str | None = None
    parts: list[str] = []

    def flush() -> None:
        nonlocal question, parts
        if question and parts:
            _, answer = answer_from_messages(parts)
            if answer:
                turns.append(Turn(question=question, answer=answer))
        question, parts = None, []

    for role, text in entries:
        text = text.strip()
        if not text:
            continue
        if role == "user":
            flush()
            question = text
        elif text.startswith(NOTICE_PREFIX.strip()):
            continue
        elif text.startswith("> "):
            flush()
            quoted, answer = answer_from_messages([text])
            question, parts = quoted, [answer] if quoted else []
        elif question:
            parts.append(text)
    flush()
    return turns


def question_text(content: str, bot_id: int | None = None) -> str:
    """A message's question on one line: the bot's mention removed, other mentions plain."""
    text = content
    if bot_id is not None:
        text = re.sub(rf"<@!?{bot_id}>", " ", text)
    text = re.sub(r"<@!?\d+>", "@user", text)
    text = re.sub(r"<@&\d+>", "@role", text)
    text = re.sub(r"<#\d+>", "#channel", text)
    return one_line(text)


def thread_name(question: str) -> str:
    """A thread title for a question: one line of at most 100 characters."""
    return clip(one_line(question), THREAD_NAME_LIMIT) or "Question"


def notice(text: str) -> str:
    """A short notice (not an answer): it starts with ``NOTICE_PREFIX``."""
    return clip(NOTICE_PREFIX + text, MESSAGE_LIMIT)


def rate_limit_notice(refusal: RateLimitedError) -> str:
    """The polite message for someone who asked too often."""
    return notice(str(refusal))


def too_long_notice(length: int, limit: int) -> str:
    """The message for a question over the length limit."""
    return notice(f"That question is {length} characters long; please keep it under {limit}.")


def empty_question_notice() -> str:
    """The message for a mention without a question."""
    return notice("Ask me a question about the news, e.g. `@Dateline what did the council decide?`")


def error_notice(message: str) -> str:
    """The message for a question that could not be answered."""
    return notice(f"Sorry, I couldn't answer that: {one_line(message)}")


@dataclass(frozen=True)
class SourcesPage:
    """One page of the indexed-articles listing (pages count from 1)."""

    page: int
    pages: int
    total: int
    lines: tuple[str, ...]

    def description(self) -> str:
        """The page's lines, or a hint when nothing is indexed."""
        if not self.lines:
            return "No articles are indexed yet. An admin can add some with `/ingest`."
        return clip("\n".join(self.lines), EMBED_DESCRIPTION_LIMIT)

    def footer(self) -> str:
        """``Page x/y · n articles``."""
        noun = "article" if self.total == 1 else "articles"
        return f"Page {self.page}/{self.pages} · {self.total} {noun}"


def paginate_articles(
    articles: Sequence[ArticleInfo], page: int = 1, per_page: int = 10
) -> SourcesPage:
    """Page ``page`` of ``articles``, newest first; ``page`` is clamped to the valid range."""
    per_page = max(1, min(per_page, EMBED_DESCRIPTION_LIMIT // (ARTICLE_LINE_LIMIT + 1)))
    ordered = sorted(articles, key=lambda a: (one_line(a.title) or "~").lower())
    ordered.sort(key=lambda a: a.published or "", reverse=True)
    pages = max(1, math.ceil(len(ordered) / per_page))
    page = min(max(1, page), pages)
    chosen = ordered[(page - 1) * per_page : page * per_page]
    return SourcesPage(
        page=page,
        pages=pages,
        total=len(ordered),
        lines=tuple(format_article(a) for a in chosen),
    )


def build_embed(title: str, description: str, *, footer: str | None = None) -> discord.Embed:
    """A ``discord.Embed`` with every part clipped to Discord's limits (6,000 in total)."""
    import discord

    title = clip(title, EMBED_TITLE_LIMIT)
    footer = clip(footer, EMBED_FOOTER_LIMIT) if footer else None
    room = EMBED_TOTAL_LIMIT - len(title) - len(footer or "")
    description = clip(description, min(EMBED_DESCRIPTION_LIMIT, room))
    embed = discord.Embed(title=title, description=description)
    if footer:
        embed.set_footer(text=footer)
    return embed


def sources_embed(page: SourcesPage) -> discord.Embed:
    """The embed that shows one page of the indexed-articles listing."""
    return build_embed("Indexed articles", page.description(), footer=page.footer())
