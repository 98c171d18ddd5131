"""The chat core every front-end shares: the question rule, limits, memory, text and sources."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from bot import text
from bot.answer import Answer, Citation, Turn
from bot.chat import Chat, public_message
from bot.errors import (
    EmptyQuestionError,
    InvalidQuestionError,
    QuestionTooLongError,
    RateLimitedError,
)
from bot.feedback import feedback_path
from bot.memory import ConversationMemory
from bot.question import check_question, clean_question
from bot.render import STYLE as TERMINAL
from bot.reply import TRUNCATED, ReplyStyle, citation_line, reply_parts, source_line
from config.settings import Settings
from retrieval.errors import IndexBusyError, IndexUnavailableError
from retrieval.models import ArticleInfo


def answer(question: str, text: str = "It passed [1].", *, abstained: bool = False) -> Answer:
    return Answer(
        question=question,
        text=text,
        abstained=abstained,
        mode="abstained" if abstained else "extractive",
        citations=[] if abstained else [citation(1)],
    )


def citation(n: int, **kw: object) -> Citation:
    base: dict = {
        "n": n,
        "passage_id": f"p{n}",
        "article_id": f"a{n}",
        "title": f"Title {n}",
        "source": "Daily Planet",
        "published": "2025-03-14T09:30:00+00:00",
        "url": f"https://example.com/news/{n}",
        "quote": "quoted text",
    }
    base.update(kw)
    return Citation(**base)


# -- the question rule ----------------------------------------------------------------------


def test_clean_question_removes_control_characters_and_colour_codes() -> None:
    raw = "\x1b[31mWho\x1b[0m  won\tthe\u2028vote?\x00\n"
    assert clean_question(raw, 100) == "Who won the vote?"


def test_clean_question_refuses_empty_long_and_wordless_questions() -> None:
    for empty in (None, "", " \n\t", "\x1b[0m\x00"):
        with pytest.raises(EmptyQuestionError):
            clean_question(empty, 100)
    with pytest.raises(QuestionTooLongError) as too_long:
        clean_question("x" * 21, 20)
    assert (too_long.value.length, too_long.value.limit) == (21, 20)
    assert "21 characters; the limit is 20" in str(too_long.value)
    assert clean_question("x" * 20, 20) == "x" * 20
    with pytest.raises(InvalidQuestionError, match="no words"):
        clean_question("?!? …", 100)


def test_check_question_refuses_only_blank_and_long_questions() -> None:
    assert check_question(" Who\n won? ", 20) == "Who won?"
    assert check_question("?!? …", 20) == "?!? …"  # the service refuses these
    assert check_question("\x00\x01", 20) == "\x00\x01"
    for blank in (None, "", " \n\t"):
        with pytest.raises(EmptyQuestionError):
            check_question(blank, 20)
    with pytest.raises(QuestionTooLongError) as too_long:
        check_question("x" * 21, 20)
    assert (too_long.value.length, too_long.value.limit) == (21, 20)


# -- the chat core --------------------------------------------------------------------------


class RecordingService:
    """The answer service seam: records each question with the history it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Turn], dict]] = []
        self.abstain: set[str] = set()

    def ask(self, question: str, history=(), **options) -> Answer:
        self.calls.append((question, list(history), options))
        return answer(question, f"About {question} [1].", abstained=question in self.abstain)

    def articles(self) -> list[ArticleInfo]:
        return []

    def ingest_paths(self, paths):
        raise NotImplementedError


def test_chat_admit_checks_length_before_the_rate_limit() -> None:
    chat = Chat(RecordingService(), max_question_chars=20, history_turns=3, rate_limit_per_minute=2)
    assert chat.admit("  Who  won? ", asker=1) == "Who won?"
    with pytest.raises(QuestionTooLongError):
        chat.admit("x" * 21, asker=1)  # refused before it is counted
    with pytest.raises(EmptyQuestionError):
        chat.admit("   ", asker=1)
    assert chat.admit("???", asker=1) == "???"  # the service refuses it, as it answers
    with pytest.raises(RateLimitedError) as first:
        chat.admit("Again?", asker=1)
    assert first.value.notify and first.value.per_minute == 2
    assert "2 questions a minute" in str(first.value)
    with pytest.raises(RateLimitedError) as second:
        chat.admit("Again?", asker=1)
    assert not second.value.notify  # told once, not on every attempt
    assert chat.admit("Mine?", asker=2) == "Mine?"
    unlimited = Chat(RecordingService(), history_turns=3)
    assert all(unlimited.admit("Who? " * 1000, asker=1) for _ in range(50))


def test_chat_remembers_each_conversation_from_its_answers() -> None:
    service = RecordingService()
    chat = Chat(service, max_question_chars=100, history_turns=2)
    chat.ask("Q1", "thread-a", k=3)
    chat.ask("Q2", "thread-a")
    chat.ask("Other", "dm-b")
    chat.ask("Alone")  # no conversation: nothing remembered
    chat.ask("Q3", "thread-a")
    histories = {q: h for q, h, _ in service.calls}
    assert histories["Q1"] == [] and histories["Other"] == [] and histories["Alone"] == []
    assert histories["Q2"] == [Turn("Q1", "About Q1 [1].")]
    assert histories["Q3"] == [Turn("Q1", "About Q1 [1]."), Turn("Q2", "About Q2 [1].")]
    assert service.calls[0][2] == {"k": 3}
    # the last two turns only, as the service would use no more
    assert chat.history("thread-a") == [Turn("Q2", "About Q2 [1]."), Turn("Q3", "About Q3 [1].")]
    assert chat.history(None) == [] and chat.history("unknown") == []
    chat.forget("thread-a")
    assert not chat.knows("thread-a") and chat.knows("dm-b")


def test_chat_keeps_abstentions_out_of_the_conversation() -> None:
    service = RecordingService()
    service.abstain.add("Unknown?")
    chat = Chat(service, max_question_chars=100, history_turns=3)
    chat.ask("Known?", "c")
    chat.ask("Unknown?", "c")
    chat.ask("And then?", "c")
    assert service.calls[-1][1] == [Turn("Known?", "About Known? [1].")]


def test_chat_starts_an_unknown_conversation_from_what_the_front_end_recovered() -> None:
    service = RecordingService()
    chat = Chat(service, max_question_chars=100, history_turns=3)
    recovered = [Turn("Before the restart?", "Yes [1].")]
    chat.ask("After?", "thread", earlier=recovered)
    chat.ask("Later?", "thread", earlier=[Turn("ignored", "the memory knows this thread")])
    assert service.calls[0][1] == recovered
    assert service.calls[1][1] == [*recovered, Turn("After?", "About After? [1].")]


def test_memory_is_bounded_and_thread_safe() -> None:
    memory = ConversationMemory(2, conversations=3)
    for key in "abcd":
        memory.add(key, answer(f"{key}?"))
    assert len(memory) == 3 and "a" not in memory  # the least recently used went
    memory.history("b")  # reading does not make a conversation recent
    memory.add("e", answer("e?"))
    assert "b" not in memory and "c" in memory

    shared = ConversationMemory(5)

    def talk(i: int) -> None:
        for j in range(200):
            shared.add(i % 4, answer(f"{i}-{j}?"))

    workers = [threading.Thread(target=talk, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(shared) == 4 and all(len(shared.history(k) or []) == 5 for k in range(4))


def test_public_message_hides_server_details() -> None:
    hidden = public_message(IndexUnavailableError("no index at /srv/secret/home; run ingest"))
    assert "/srv" not in hidden and "not available" in hidden
    assert "try again" in public_message(IndexBusyError("busy"))
    assert public_message(InvalidQuestionError("too vague")) == "too vague"


# -- text at a limit ------------------------------------------------------------------------


def long_text(sentences: int = 60) -> str:
    out = []
    for i in range(sentences):
        marker = f" [{i % 7 + 1}]" if i % 2 == 0 else ""
        out.append(f"Sentence number {i} reports that the council met on Tuesday.{marker}")
    return " ".join(out)


def squash(value: str) -> str:
    return re.sub(r"\s+", "", value)


def check_split(value: str, chunks: list[str], limit: int) -> None:
    assert chunks, "no chunks"
    assert all(0 < len(c) <= limit for c in chunks)
    assert squash("".join(chunks)) == squash(value)
    markers = text.MARKER.findall(value)
    assert sum(len(text.MARKER.findall(c)) for c in chunks) == len(markers)
    for c in chunks:
        # a chunk never starts or ends inside a marker
        assert not re.match(r"^\d*\s*[,–-]?\s*\d*\]", c) or c.startswith("[")
        assert not re.search(r"\[\d*\s*[,–-]?\s*\d*$", c)


def test_one_line_and_clip() -> None:
    assert text.one_line(" a\n\tb  c ") == "a b c" and text.one_line(None) == ""
    assert text.clip("abcdef", 6) == "abcdef"
    assert text.clip("abc def", 5) == "abc…"
    assert text.clip("abcdef", 1) == "a"


def test_short_text_is_one_message() -> None:
    assert text.split_text("  Hello [1].  ", 2000) == ["Hello [1]."]
    assert text.split_text("   ", 2000) == []


@pytest.mark.parametrize("limit", [2000, 300, 97])
def test_long_text_splits_on_sentence_boundaries(limit: int) -> None:
    value = long_text()
    chunks = text.split_text(value, limit)
    check_split(value, chunks, limit)
    assert len(chunks) > 1
    for c in chunks[:-1]:
        # each chunk but the last ends a sentence, with its markers kept
        assert re.search(r"\.( \[\d+\])?$", c), c


def test_trailing_marker_stays_with_its_sentence() -> None:
    value = "First sentence is here. [12] Second one follows here."
    chunks = text.split_text(value, 30)
    assert chunks[0] == "First sentence is here. [12]"
    assert chunks[1] == "Second one follows here."


def test_sentence_longer_than_limit_splits_between_words_keeping_markers() -> None:
    value = " ".join(f"word{i} [1, 2]" if i % 5 == 0 else f"word{i}" for i in range(400))
    chunks = text.split_text(value, 120)
    check_split(value, chunks, 120)
    assert all("[1, 2]" in c or "[1," not in c for c in chunks)


def test_giant_token_is_cut_but_never_inside_a_marker() -> None:
    value = ("x" * 95 + "[123]") * 6
    chunks = text.split_text(value, 98)
    check_split(value, chunks, 98)
    assert all("[12" not in c or "[123]" in c for c in chunks)


def test_pack_lines_keeps_lines_whole_within_the_limit() -> None:
    lines = [f"line {i} " + "x" * 30 for i in range(10)] + ["y" * 100]
    chunks = text.pack_lines(lines, 80)
    assert all(len(c) <= 80 for c in chunks)
    assert chunks[0] == "\n".join(lines[:2])
    assert chunks[-1].endswith("…") and len(chunks[-1]) == 80


# -- sources and replies --------------------------------------------------------------------


def test_one_source_line_in_each_front_end_style() -> None:
    full = citation(2)
    bare = citation(3, title=None, source=None, published=None, url=None, path="/srv/a/story.md")
    assert citation_line(full, TERMINAL) == (
        "[2] Title 2 — Daily Planet, 2025-03-14 — https://example.com/news/2"
    )
    assert citation_line(bare, TERMINAL) == (
        "[3] (untitled) — unknown outlet, undated — /srv/a/story.md"
    )
    plain = ReplyStyle()
    assert citation_line(bare, plain) == "[3] Untitled — /srv/a/story.md"
    article = ArticleInfo(
        id="a",
        title="T" * 200,
        source="Outlet",
        published="2025-01-02",
        url=None,
        path=None,
        passages=1,
    )
    line = source_line(article, plain)
    assert line.startswith("T" * 119 + "…") and line.endswith(" — Outlet, 2025-01-02")
    assert source_line(article, TERMINAL).startswith("T" * 200 + " — ")


def test_reply_parts_in_a_front_end_of_its_own() -> None:
    slack = ReplyStyle(heading="*Sources*", quote=">>> ", link=lambda url, path: f" <{url}>")
    parts = reply_parts(
        answer("Did it pass?", "It passed [1]. " * 30), slack, limit=200, max_parts=2
    )
    assert len(parts) == 3 and all(len(p) <= 200 for p in parts)
    assert parts[1].endswith(TRUNCATED) and "*Sources*" not in parts[1]
    assert parts[2] == (
        "*Sources*\n[1] Title 1 — Daily Planet, 2025-03-14 <https://example.com/news/1>"
    )
    quoted = reply_parts(
        answer("Did\nit pass?"), slack, limit=2000, max_parts=4, quote_question=True
    )
    assert quoted == [
        ">>> Did it pass?\nIt passed [1].\n\n*Sources*\n"
        "[1] Title 1 — Daily Planet, 2025-03-14 <https://example.com/news/1>"
    ]


# -- settings -------------------------------------------------------------------------------


def test_feedback_log_is_a_setting_of_every_front_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATELINE_CONFIG", str(tmp_path / "absent.toml"))
    assert feedback_path(Settings(home=tmp_path)) == tmp_path / "feedback.jsonl"
    moved = Settings(home=tmp_path, feedback_log="votes/log.jsonl")
    assert feedback_path(moved) == tmp_path / "votes" / "log.jsonl"
    # its old place, [discord] feedback_log, still counts; the new key wins over it
    old = tmp_path / "old.toml"
    old.write_text('[discord]\nfeedback_log = "old.jsonl"\n', encoding="utf-8")
    monkeypatch.setenv("DATELINE_CONFIG", str(old))
    assert feedback_path(Settings(home=tmp_path)) == tmp_path / "old.jsonl"
    assert feedback_path(Settings(home=tmp_path, feedback_log="new.jsonl")).name == "new.jsonl"
