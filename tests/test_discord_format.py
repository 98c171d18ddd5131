"""Rendering answers for Discord: limits, sources, history parsing, embeds.

Splitting text at a limit is the chat core's (``tests/test_chat.py``).
"""

from __future__ import annotations

from bot import discord_format as fmt
from bot import reply
from bot.answer import Answer, Citation, Turn
from bot.errors import RateLimitedError
from bot.reply import citation_line
from retrieval.models import ArticleInfo
from tests.test_chat import citation, long_text, squash


def answer(text: str, *, citations: list[Citation] | None = None, **kw: object) -> Answer:
    return Answer(
        question=str(kw.pop("question", "What happened?")),
        text=text,
        abstained=bool(kw.pop("abstained", False)),
        mode="extractive",
        citations=citations if citations is not None else [citation(1), citation(2)],
    )


def test_render_answer_with_sources() -> None:
    parts = fmt.render_answer(answer("The council approved the budget [1] and a new park [2]."))
    assert len(parts) == 1
    msg = parts[0]
    assert msg.startswith("The council approved the budget [1]")
    assert "\n\n**Sources**\n" in msg
    assert "[1] Title 1 — Daily Planet, 2025-03-14 <https://example.com/news/1>" in msg
    assert "[2] Title 2 — Daily Planet, 2025-03-14 <https://example.com/news/2>" in msg


def test_render_answer_quotes_question_for_slash() -> None:
    parts = fmt.render_answer(answer("Yes [1].", question="Did it\npass?"), quote_question=True)
    assert parts[0].startswith("> Did it pass?\nYes [1].")


def test_abstention_is_short_without_sources() -> None:
    parts = fmt.render_answer(answer("I don't know. " * 100, abstained=True))
    assert len(parts) == 1
    assert len(parts[0]) <= reply.ABSTAIN_LIMIT
    assert "Sources" not in parts[0]


def test_long_answer_is_split_and_sources_come_last() -> None:
    text = long_text(60)
    parts = fmt.render_answer(answer(text))
    assert len(parts) >= 2
    assert all(len(p) <= fmt.MESSAGE_LIMIT for p in parts)
    assert "**Sources**" in parts[-1]
    assert all("**Sources**" not in p for p in parts[:-1])
    _, recovered = fmt.answer_from_messages(parts)
    assert squash(recovered) == squash(text)


def test_very_long_answer_is_shortened_with_a_note() -> None:
    text = long_text(600)
    parts = fmt.render_answer(answer(text), max_messages=3)
    assert all(len(p) <= fmt.MESSAGE_LIMIT for p in parts)
    body = [p for p in parts if "**Sources**" not in p]
    assert len(body) <= 3
    assert fmt.TRUNCATED.strip() in "\n".join(parts)


def test_sources_get_their_own_message_when_they_do_not_fit() -> None:
    text = "A. " * 660  # 1,980 characters
    cits = [citation(i, title="T" * 200) for i in range(1, 13)]
    parts = fmt.render_answer(answer(text.strip(), citations=cits))
    assert all(len(p) <= fmt.MESSAGE_LIMIT for p in parts)
    assert parts[1].startswith("**Sources**")
    assert "… and 2 more" in parts[-1]


def test_citation_links_and_paths() -> None:
    local = citation(3, url=None, path="/srv/dateline/private/dir/story.md", published="Tuesday")
    line = citation_line(local, fmt.STYLE)
    assert line == "[3] Title 3 — Daily Planet, Tuesday (story.md)"
    assert "/srv" not in line
    odd = citation(4, url="javascript:alert(1)", path=None, title=None, source=None, published=None)
    assert citation_line(odd, fmt.STYLE) == "[4] Untitled"
    angle = citation(5, url="https://x.test/a>b")
    assert "<https://x.test/a%3Eb>" in citation_line(angle, fmt.STYLE)
    assert fmt.safe_link("https://x.test/" + "a" * 500) is None
    assert fmt.safe_link("https://x.test/a b") is None


def test_answer_from_messages_drops_sources_and_quote() -> None:
    parts = fmt.render_answer(answer("Yes [1].", question="Q?"), quote_question=True)
    assert fmt.answer_from_messages(parts) == ("Q?", "Yes [1].")


def test_turns_from_thread() -> None:
    first = fmt.render_answer(answer("It passed [1]."))
    entries: list[tuple[fmt.Role, str]] = [
        ("user", "Did the budget pass?"),
        *(("bot", p) for p in first),
        ("user", "And the park?"),
        ("bot", fmt.error_notice("boom")),
        ("user", "What about the park?"),
        ("bot", "A park was approved [2]."),
        ("bot", "**Sources**\n[2] Title 2"),
        *(
            ("bot", p)
            for p in fmt.render_answer(answer("Soon [1].", question="When?"), quote_question=True)
        ),
        ("user", "unanswered"),
    ]
    assert fmt.turns_from_thread(entries) == [
        Turn("Did the budget pass?", "It passed [1]."),
        Turn("What about the park?", "A park was approved [2]."),
        Turn("When?", "Soon [1]."),
    ]


def test_clean_question_and_thread_name() -> None:
    q = fmt.question_text("<@42>  what did <@!7> say in <#9> to <@&5>?\n<@!42>", 42)
    assert q == "what did @user say in #channel to @role?"
    name = fmt.thread_name("word " * 60)
    assert len(name) <= fmt.THREAD_NAME_LIMIT
    assert fmt.thread_name("   ") == "Question"


def test_notices_start_with_prefix() -> None:
    for text in (
        fmt.rate_limit_notice(RateLimitedError(12.2, 6)),
        fmt.too_long_notice(900, 500),
        fmt.empty_question_notice(),
        fmt.error_notice("bad\nthing"),
    ):
        assert text.startswith(fmt.NOTICE_PREFIX)
    assert "13 s" in fmt.rate_limit_notice(RateLimitedError(12.2, 6))


def articles(n: int) -> list[ArticleInfo]:
    return [
        ArticleInfo(
            id=f"a{i}",
            title=f"Story {i:02d} " + "long " * 100,
            source="Outlet",
            published=f"2025-01-{i % 28 + 1:02d}",
            url=f"https://example.com/{i}",
            path=None,
            passages=3,
        )
        for i in range(n)
    ]


def test_paginate_articles() -> None:
    page = fmt.paginate_articles(articles(25), page=2)
    assert (page.page, page.pages, page.total) == (2, 3, 25)
    assert len(page.lines) == 10
    assert fmt.paginate_articles(articles(25), page=99).page == 3
    assert fmt.paginate_articles([], page=5).pages == 1
    assert "No articles" in fmt.paginate_articles([]).description()
    first = fmt.paginate_articles(articles(25), page=1)
    dates = [line.split("Outlet, ")[1][:10] for line in first.lines]
    assert dates == sorted(dates, reverse=True)


def test_embeds_stay_within_limits() -> None:
    page = fmt.paginate_articles(articles(30), page=1)
    embed = fmt.sources_embed(page)
    assert len(embed) <= fmt.EMBED_TOTAL_LIMIT
    assert len(embed.description or "") <= fmt.EMBED_DESCRIPTION_LIMIT
    huge = fmt.build_embed("t" * 1000, "d" * 9000, footer="f" * 3000)
    assert len(huge.title or "") <= fmt.EMBED_TITLE_LIMIT
    assert len(huge.footer.text or "") <= fmt.EMBED_FOOTER_LIMIT
    assert len(huge) <= fmt.EMBED_TOTAL_LIMIT


def test_format_module_does_not_import_discord_at_module_level() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(fmt))
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    modules = [
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
    ]
    assert "discord" not in top_level and "discord" not in modules
