"""An ``Answer`` as chat text: the answer with its ``[n]`` markers, then its sources.

Every front-end shows a source with :func:`source_line` (``Title — Outlet, date`` and a
link); a :class:`ReplyStyle` says how that front-end writes the heading, a quote and a
link, and what it shows for a missing field. :func:`reply_parts` lays a whole answer
out in messages of at most a given length, as a chat service that limits messages needs::

    > the question (when quoted)
    The answer text, with its markers [1], split on sentence boundaries.

    Sources
    [1] Title — Outlet, 2025-01-31 <link>
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.answer import Answer, Citation
from bot.text import clip, marker_safe_cut, one_line, pack_lines, split_text

MAX_SOURCES = 10
ABSTAIN_LIMIT = 400
QUOTE_LIMIT = 200
TITLE_LIMIT = 120
OUTLET_LIMIT = 60
TRUNCATED = " … (answer shortened)"
DEFAULT_ABSTAIN = "I couldn't find that in the indexed articles."

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class Source(Protocol):
    """What a source line shows: a ``Citation`` or an indexed ``ArticleInfo``."""

    title: str | None
    source: str | None
    published: str | None
    url: str | None
    path: str | None


def plain_link(url: str | None, path: str | None) -> str:
    """`` — link`` (the URL, else the file path), or nothing."""
    link = url or path
    return f" — {link}" if link else ""


@dataclass(frozen=True)
class ReplyStyle:
    """How one front-end writes a reply: heading, question quote, placeholders, links."""

    heading: str = "Sources"
    quote: str = "> "
    untitled: str = "Untitled"
    no_outlet: str = ""  # "" leaves a missing outlet (or date) out of the line
    undated: str = ""
    title_limit: int | None = TITLE_LIMIT
    link: Callable[[str | None, str | None], str] = plain_link


def short_date(published: str | None) -> str | None:
    """``YYYY-MM-DD`` for an ISO timestamp, else the value clipped to 20 characters."""
    if not published:
        return None
    published = published.strip()
    if _DATE.match(published):
        return published[:10]
    return clip(one_line(published), 20) or None


def source_line(item: Source, style: ReplyStyle) -> str:
    """``Title — Outlet, date`` and the style's link for a citation or an article."""
    title = one_line(item.title) or style.untitled
    line = clip(title, style.title_limit) if style.title_limit else title
    outlet = clip(one_line(item.source), OUTLET_LIMIT) or style.no_outlet
    meta = ", ".join(x for x in (outlet, short_date(item.published) or style.undated) if x)
    if meta:
        line += f" — {meta}"
    return line + style.link(item.url, item.path)


def citation_line(citation: Citation, style: ReplyStyle) -> str:
    """One line for a source of an answer: ``[n] Title — Outlet, date`` and its link."""
    return f"[{citation.n}] " + source_line(citation, style)


def cited_sources(answer: Answer) -> list[Citation]:
    """The answer's citations in marker order, one per ``[n]``."""
    by_n: dict[int, Citation] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, c)
    return [by_n[n] for n in sorted(by_n)]


def quote_line(question: str, style: ReplyStyle) -> str:
    """The question quoted on a line of its own, as a reply that repeats it starts."""
    return f"{style.quote}{clip(one_line(question), QUOTE_LIMIT)}\n"


def reply_parts(
    answer: Answer,
    style: ReplyStyle,
    *,
    limit: int,
    max_parts: int,
    quote_question: bool = False,
) -> list[str]:
    """The messages that show ``answer``: its text with ``[n]`` markers, then the sources.

    Each message is at most ``limit`` characters. The text is split on sentence
    boundaries and shortened (with a note) past ``max_parts`` messages; the sources
    follow in the last message when they fit, else in messages of their own. An
    abstention is one short message without sources. ``quote_question`` starts the
    first message with the question, quoted.
    """
    prefix = (
        quote_line(answer.question, style) if quote_question and answer.question.strip() else ""
    )
    if answer.abstained:
        text = clip(one_line(answer.text) or DEFAULT_ABSTAIN, ABSTAIN_LIMIT)
        return [prefix + text]

    chunks = split_text(prefix + (answer.text.strip() or DEFAULT_ABSTAIN), limit)
    if len(chunks) > max_parts:
        chunks = chunks[:max_parts]
        last = chunks[-1]
        if len(last) + len(TRUNCATED) > limit:
            cut = marker_safe_cut(last, limit - len(TRUNCATED))
            space = last.rfind(" ", 0, cut)
            last = last[: space if space > 0 else cut].rstrip()
        chunks[-1] = last + TRUNCATED

    citations = cited_sources(answer)
    if not citations:
        return chunks
    lines = [style.heading] + [citation_line(c, style) for c in citations[:MAX_SOURCES]]
    if len(citations) > MAX_SOURCES:
        lines.append(f"… and {len(citations) - MAX_SOURCES} more")
    block = "\n".join(lines)
    if len(chunks[-1]) + 2 + len(block) <= limit:
        chunks[-1] = f"{chunks[-1]}\n\n{block}"
    else:
        chunks.extend(pack_lines(lines, limit))
    return chunks
