"""Terminal rendering of answers, passages and article lists (rich), for CLI and REPL."""

from __future__ import annotations

from collections.abc import Sequence

from bot.answer import Answer
from bot.reply import ReplyStyle, citation_line
from retrieval.models import ArticleInfo, Hit


def _when(published: str | None) -> str:
    return published[:10] if published else "undated"


# Terminals show every field, placeholders included, and the full link.
STYLE = ReplyStyle(
    untitled="(untitled)", no_outlet="unknown outlet", undated="undated", title_limit=None
)


def print_answer(console, answer: Answer, *, streamed: bool = False) -> None:
    """Render an answer with rich: markers highlighted, then the sources."""
    from rich.text import Text

    if not streamed:
        text = Text(answer.text)
        text.highlight_regex(r"\[\d+\]", "bold cyan")
        console.print(text)
    if answer.fallback_reason:
        console.print(
            f"[yellow](LLM unavailable: {answer.fallback_reason}; quoted extractively)[/]",
            highlight=False,
        )
    if answer.citations:
        console.print("[bold]Sources[/]")
        for c in answer.citations:
            console.print(Text(citation_line(c, STYLE)), style="dim")


def print_hits(console, hits: Sequence[Hit]) -> None:
    """Ranked passages with title, outlet, date and scores."""
    from rich.panel import Panel
    from rich.text import Text

    for rank, h in enumerate(hits, 1):
        p = h.passage
        head = (
            f"{rank}. {p.title or '(untitled)'} — {p.source or 'unknown outlet'}, "
            f"{_when(p.published)}  score {h.score:.3f} (dense {h.best_sentence_sim:.3f}, "
            f"bm25 {h.lexical:.2f})"
        )
        # Text, not str: article text such as "[/b]" must not be read as rich markup.
        panel = Panel(Text(p.text), title=Text(head), title_align="left", expand=False)
        console.print(panel, highlight=False)


def print_articles(console, articles: Sequence[ArticleInfo]) -> None:
    """A table of indexed articles."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(articles)} indexed articles")
    for col in ("id", "title", "source", "date", "passages"):
        table.add_column(col, overflow="fold")
    for a in articles:
        cells = (a.id, a.title or "(untitled)", a.source or "", _when(a.published), str(a.passages))
        table.add_row(*(Text(c) for c in cells))  # Text: titles are not rich markup
    console.print(table)
