"""Pure rendering for the Discord adapter: answers to messages within Discord's limits.

Nothing here talks to Discord; :func:`build_embed` imports ``discord`` only when called.
An answer message looks like::

    > the question (slash commands only)
    The answer text, with its markers [1], split on sentence boundaries.

    **Sources**
    [1] Title — Outlet, 2025-01-31 <https://example.com/article>

Links sit in ``<...>`` so Discord shows no preview. The inverse,
:func:`answer_from_messages`, recovers the answer text from a thread's bot messages so
a conversation can be rebuilt from Discord history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from bot.answer import Answer, Citation, Turn
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
MAX_SOURCES = 10
ABSTAIN_LIMIT = 400
QUOTE_LIMIT = 200
TITLE_LIMIT = 120
LINK_LIMIT = 400
ARTICLE_LINE_LIMIT = 380

SOURCES_HEADING = "**Sources**"
NOTICE_PREFIX = "⚠️ "
TRUNCATED = " … (answer shortened)"
DEFAULT_ABSTAIN = "I couldn't find that in the indexed articles."

MARKER = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’»)]*(?:[ \t]*" + MARKER.pattern + r")*\s+|\n\s*",
)
_ATOM = re.compile(r"(?:" + MARKER.pattern + r"|\S)+\s*|\s+")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")

Role = Literal["user", "bot"]


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    return text[: limit - 1].rstrip() + "…"


DRAFT_NOTE = "\n-# writing… (the citations are checked when the answer is done)"


def draft_text(text: str) -> str:
    """A streamed LLM draft as one message: the text so far (clipped) and a note under it."""
    return clip(text.strip() or "…", MESSAGE_LIMIT - len(DRAFT_NOTE)) + DRAFT_NOTE


def one_line(text: str | None) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join((text or "").split())


def _marker_safe_cut(text: str, limit: int) -> int:
    """The largest cut position <= ``limit`` that does not fall inside a ``[n]`` marker."""
    cut = limit
    for m in MARKER.finditer(text, 0, limit + 64):
        if m.start() < cut < m.end():
            cut = m.start()
            break
    return cut if cut > 0 else limit


def _sentence_pieces(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > start:
            pieces.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _split_words(text: str, limit: int) -> list[str]:
    """Split one over-long sentence between words, keeping ``[n]`` markers whole."""
    chunks: list[str] = []
    current = ""
    for atom in _ATOM.findall(text):
        if len((current + atom).rstrip()) <= limit:
            current += atom
            continue
        if current.strip():
            chunks.append(current.rstrip())
        current = ""
        atom = atom.lstrip()
        while len(atom.rstrip()) > limit:
            cut = _marker_safe_cut(atom, limit)
            chunks.append(atom[:cut])
            atom = atom[cut:]
        current = atom
    if current.strip():
        chunks.append(current.rstrip())
    return chunks


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters.

    Splits fall on sentence boundaries (a sentence's trailing ``[n]`` markers stay with
    it) or line breaks; a sentence longer than ``limit`` is split between words. A
    ``[n]`` marker is never broken. Whitespace at the split points is dropped.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for piece in _sentence_pieces(text):
        if len((current + piece).rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current.rstrip())
        current = ""
        piece = piece.lstrip()
        if len(piece.rstrip()) <= limit:
            current = piece
            continue
        parts = _split_words(piece, limit)
        chunks.extend(parts[:-1])
        current = parts[-1] + piece[len(piece.rstrip()) :] if parts else ""
    if current.strip():
        chunks.append(current.rstrip())
    return chunks


def short_date(published: str | None) -> str | None:
    """``YYYY-MM-DD`` for an ISO timestamp, else the value clipped to 20 characters."""
    if not published:
        return None
    published = published.strip()
    if _DATE.match(published):
        return published[:10]
    return clip(one_line(published), 20) or None


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


def _source_line(
    title: str | None, source: str | None, published: str | None, url: str | None, path: str | None
) -> str:
    line = clip(one_line(title) or "Untitled", TITLE_LIMIT)
    meta = ", ".join(x for x in (clip(one_line(source), 60), short_date(published)) if x)
    if meta:
        line += f" — {meta}"
    link = safe_link(url)
    if link:
        line += f" <{link}>"
    elif path:
        # A local file: show its name only, never the server's directory layout.
        line += f" ({clip(PurePath(path).name, 80)})"
    return line


def format_citation(citation: Citation) -> str:
    """One line for a source: ``[n] Title — Outlet, date <link>``."""
    return f"[{citation.n}] " + _source_line(
        citation.title, citation.source, citation.published, citation.url, citation.path
    )


def format_article(article: ArticleInfo) -> str:
    """One line for an indexed article, at most 380 characters."""
    line = "• " + _source_line(
        article.title, article.source, article.published, article.url, article.path
    )
    return clip(line, ARTICLE_LINE_LIMIT)


def _pack_lines(lines: Iterable[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def render_answer(
    answer: Answer,
    *,
    quote_question: bool = False,
    limit: int = MESSAGE_LIMIT,
    max_messages: int = MAX_ANSWER_MESSAGES,
) -> list[str]:
    """The messages that show ``answer``: its text with ``[n]`` markers, then the sources.

    Each message is at most ``limit`` characters. The text is split on sentence
    boundaries and shortened (with a note) past ``max_messages`` messages; the sources
    follow in the last message when they fit, else in messages of their own. An
    abstention is one short message without sources. ``quote_question`` starts the
    first message with the question as a block quote (slash commands do not show it).
    """
    prefix = ""
    if quote_question and answer.question.strip():
        prefix = f"> {clip(one_line(answer.question), QUOTE_LIMIT)}\n"
    if answer.abstained:
        text = clip(one_line(answer.text) or DEFAULT_ABSTAIN, ABSTAIN_LIMIT)
        return [prefix + text]

    chunks = split_message(prefix + (answer.text.strip() or DEFAULT_ABSTAIN), limit)
    if len(chunks) > max_messages:
        chunks = chunks[:max_messages]
        last = chunks[-1]
        if len(last) + len(TRUNCATED) > limit:
            cut = _marker_safe_cut(last, limit - len(TRUNCATED))
            space = last.rfind(" ", 0, cut)
            last = last[: space if space > 0 else cut].rstrip()
        chunks[-1] = last + TRUNCATED

    by_n: dict[int, Citation] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, c)
    citations = [by_n[n] for n in sorted(by_n)]
    if not citations:
        return chunks
    lines = [SOURCES_HEADING] + [format_citation(c) for c in citations[:MAX_SOURCES]]
    if len(citations) > MAX_SOURCES:
        lines.append(f"… and {len(citations) - MAX_SOURCES} more")
    block = "\n".join(lines)
    if len(chunks[-1]) + 2 + len(block) <= limit:
        chunks[-1] = f"{chunks[-1]}\n\n{block}"
    else:
        chunks.extend(_pack_lines(lines, limit))
    return chunks


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


def clean_question(content: str, bot_id: int | None = None) -> str:
    """A question from a message: the bot's mention removed, other mentions made plain."""
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


def rate_limit_notice(retry_after: float, per_minute: int) -> str:
    """The polite message for someone who asked too often."""
    wait = max(1, math.ceil(retry_after))
    return notice(
        f"You've reached {per_minute} questions a minute — please wait {wait} s and ask again."
    )


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
