"""The REPL, driven through its seams (input lines in, a rich Console to a string out) over
the real service and a real index of the bundled seed articles."""

from __future__ import annotations

import copy
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bot.errors import InvalidQuestionError
from bot.repl import Repl
from retrieval.errors import IndexUnavailableError
from tests.openai_stub import OpenAIStub

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "articles"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A DatelineService over a fresh index of the seed articles, shared by this module."""
    from bot.service import DatelineService
    from config import load_settings

    with pytest.MonkeyPatch.context() as mp:
        # Hermetic settings: no user file, no DATELINE_* variables from the environment.
        mp.setenv("DATELINE_CONFIG", str(tmp_path_factory.mktemp("cfg") / "none.toml"))
        for name in [n for n in os.environ if n.startswith("DATELINE_")]:
            if name != "DATELINE_CONFIG":
                mp.delenv(name)
        settings = load_settings(home=tmp_path_factory.mktemp("home"))
    svc = DatelineService(settings)
    report = svc.ingest_paths([SEEDS])
    assert not report.skipped
    return svc


class Spy:
    """Wraps the service: records every ``ask`` call, and can fail the next ones."""

    def __init__(self, inner, fail_with: list[BaseException] | None = None):
        self.inner = inner
        self.calls: list[dict] = []
        self.fail_with = list(fail_with or [])

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def ask(self, question, history=(), **kwargs):
        self.calls.append({"question": question, "history": list(history), **kwargs})
        if self.fail_with:
            raise self.fail_with.pop(0)
        return self.inner.ask(question, history, **kwargs)


def lines(*items):
    """An ``input_fn`` returning ``items`` in turn (exceptions are raised), then EOFError."""
    queue = list(items)
    prompts: list[str] = []

    def input_fn(prompt: str) -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    input_fn.remaining = queue
    input_fn.prompts = prompts
    return input_fn


def make(service, *items, **kwargs):
    """A Repl over ``service`` reading ``items``, writing to a string console."""
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    return Repl(service, input_fn=lines(*items), console=console, **kwargs)


def output(repl: Repl) -> str:
    return repl.console.file.getvalue()


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (the console wraps at 120)."""
    return " ".join(text.split())


def error_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("error:")]


def test_question_gets_a_cited_answer_with_sources(service):
    repl = make(service, "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    assert "hua chunying" in flat(out).lower()
    assert "[1]" in out
    assert "Sources" in out and "Reuters" in out
    assert repl.last_answer is not None and not repl.last_answer.abstained
    assert repl.mode == "extractive" and repl.k == service.settings.answer.k
    assert not error_lines(out)


def test_follow_up_is_resolved_against_the_conversation(service):
    spy = Spy(service)
    repl = make(spy, "Who is Song Tao?", "Who did he meet?")
    assert repl.run() == 0
    first, second = spy.calls
    assert first["history"] == []
    assert [t.question for t in second["history"]] == ["Who is Song Tao?"]
    answer = repl.last_answer
    assert answer.question == "Who did he meet?" and not answer.abstained
    # The follow-up was searched together with the previous question's entities.
    assert "Song Tao" in answer.search_query
    assert "Lee" in answer.text
    assert [t.question for t in repl.history] == ["Who is Song Tao?", "Who did he meet?"]


def test_reset_forgets_the_conversation(service):
    repl = make(service, "Who is Song Tao?", "/reset", "Who did he meet?")
    assert repl.run() == 0
    assert "Conversation forgotten" in output(repl)
    # Without history the pronoun has nothing to lean on: no expansion, and the bot abstains.
    answer = repl.last_answer
    assert answer.search_query is None
    assert answer.abstained
    assert repl.history == []


def test_reset_leaves_an_empty_history(service):
    repl = make(service, "Who is Song Tao?")
    repl.run()
    assert len(repl.history) == 1
    repl.handle("/reset")
    assert repl.history == [] and repl.last_answer is None


def test_abstained_answers_are_not_kept_as_history(service):
    repl = make(service, "Who did he meet?")
    repl.run()
    assert repl.last_answer.abstained
    assert repl.history == []


def test_k_sets_the_passages_per_answer(service):
    spy = Spy(service)
    repl = make(spy, "/k", "/k 3", "Who is Song Tao?")
    assert repl.run() == 0
    out = output(repl)
    assert f"k = {service.settings.answer.k} passages" in out
    assert "k = 3 passages" in out
    assert repl.k == 3
    assert spy.calls[0]["k"] == 3
    assert len(repl.last_answer.retrieved) == 3


@pytest.mark.parametrize("value", ["abc", "0", "51", "2.5", "-1"])
def test_bad_k_is_an_error_and_the_repl_continues(service, value):
    repl = make(service, f"/k {value}", "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    (line,) = error_lines(out)
    assert "1 to 50" in line
    assert repl.k == service.settings.answer.k
    assert "[1]" in out


def test_help_lists_the_commands(service):
    repl = make(service, "/help")
    repl.run()
    out = output(repl)
    for usage in ("/help", "/sources", "/reset", "/k [N]", "/mode [extractive | llm SPEC]"):
        assert usage in out
    assert "/quit, /exit" in out


def test_sources_lists_the_indexed_articles(service):
    repl = make(service, "/sources")
    repl.run()
    out = output(repl)
    assert "3 indexed articles" in out
    assert "Reuters" in out and "The Times of India" in out


def test_mode_shows_and_switches(service):
    repl = make(
        service,
        "/mode",
        "/mode llm openai:test-model",
        "/mode",
        "/mode extractive",
        "/mode llm nonsense",
        "/mode sideways",
    )
    assert repl.run() == 0
    out = output(repl).splitlines()
    assert out.count("mode: extractive") == 2
    assert out.count("mode: llm:openai:test-model") == 2
    errors = error_lines("\n".join(out))
    assert len(errors) == 2
    assert "provider:model" in errors[0] and "usage" in errors[1]
    assert repl.mode == "extractive" and repl.llm is None


def test_mode_llm_without_a_spec_needs_a_configured_model(service):
    repl = make(service, "/mode llm")
    repl.run()
    (line,) = error_lines(output(repl))
    assert "no LLM configured" in line
    assert repl.mode == "extractive"


def test_empty_lines_are_ignored(service):
    spy = Spy(service)
    repl = make(spy, "", "   ", "\t")
    assert repl.run() == 0
    assert spy.calls == []
    out = output(repl)
    assert not error_lines(out)
    # Only the banner was printed.
    assert "Dateline: ask about 3 indexed articles." in out
    assert len(out.strip().splitlines()) == 2


def test_a_very_long_question_is_a_one_line_error(service):
    repl = make(service, "why " * 2500, "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    (line,) = error_lines(out)
    assert "too long" in line
    assert "Traceback" not in out
    assert "hua chunying" in flat(out).lower()


def test_a_question_without_words_is_a_one_line_error(service):
    repl = make(service, "?!? ...", "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    assert error_lines(out) == ["error: the question has no words in it"]
    assert "[1]" in out


def test_unknown_command_gets_a_short_message(service):
    spy = Spy(service)
    repl = make(spy, "/frobnicate now")
    assert repl.run() == 0
    out = output(repl)
    assert "unknown command /frobnicate; /help lists the commands" in out
    assert spy.calls == []


def test_end_of_input_exits_with_zero_and_nothing_scary(service):
    repl = make(service)
    assert repl.run() == 0
    out = output(repl)
    assert "Traceback" not in out and "error" not in out.lower()
    assert repl.console.file.getvalue().count("\n") == 2  # the two banner lines


@pytest.mark.parametrize("command", ["/quit", "/exit", "/QUIT"])
def test_quit_stops_reading(service, command):
    repl = make(service, command, "Who is Hua Chunying?")
    assert repl.run() == 0
    assert repl._input.remaining == ["Who is Hua Chunying?"]
    assert repl.last_answer is None


def test_ctrl_c_at_the_prompt_drops_the_line_and_keeps_going(service):
    repl = make(service, KeyboardInterrupt(), "Who is Hua Chunying?")
    assert repl.run() == 0
    assert "[1]" in output(repl)
    assert repl._input.prompts[0] == "dateline> "


def test_ctrl_c_while_answering_cancels_that_answer(service):
    spy = Spy(service, fail_with=[KeyboardInterrupt()])
    repl = make(spy, "Who is Song Tao?", "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    assert "(cancelled)" in out
    assert "hua chunying" in flat(out).lower()
    assert [t.question for t in repl.history] == ["Who is Hua Chunying?"]


def test_unexpected_error_is_one_line_logged_and_the_next_question_works(service, caplog):
    spy = Spy(service, fail_with=[RuntimeError("boom\nwith a second line")])
    repl = make(spy, "Who is Song Tao?", "Who is Hua Chunying?")
    with caplog.at_level(logging.ERROR, logger="bot.repl"):
        assert repl.run() == 0
    out = output(repl)
    (line,) = error_lines(out)
    assert line.startswith("error: unexpected error (RuntimeError)") and "log" in line
    assert "Traceback" not in out and "boom" not in out
    (record,) = [r for r in caplog.records if r.name == "bot.repl"]
    assert record.exc_info and record.exc_info[0] is RuntimeError
    assert "hua chunying" in flat(out).lower()
    assert [t.question for t in repl.history] == ["Who is Hua Chunying?"]


@pytest.mark.parametrize(
    "exc, message",
    [
        (InvalidQuestionError("the question is empty"), "the question is empty"),
        (IndexUnavailableError("cannot reach Chroma\ndetails"), "cannot reach Chroma"),
    ],
)
def test_dateline_errors_are_one_line(service, exc, message):
    spy = Spy(service, fail_with=[exc])
    repl = make(spy, "Who is Song Tao?", "Who is Hua Chunying?")
    assert repl.run() == 0
    out = output(repl)
    assert error_lines(out) == [f"error: {message}"]
    assert "[1]" in out


def test_non_interactive_mode_prints_answers_separated_by_a_blank_line(service):
    repl = make(service, "Who is Song Tao?", "", "Who is Hua Chunying?", interactive=False)
    assert repl.run() == 0
    out = output(repl)
    assert "Dateline:" not in out and "dateline>" not in out
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    assert "Song Tao" in blocks[0] and "hua chunying" in flat(blocks[1]).lower()
    assert all("Sources" in b for b in blocks)


# -- LLM mode, against a local OpenAI-compatible stub -------------------------------------


@pytest.fixture
def llm_service(service, monkeypatch):
    """The seeded service, its LLM pointed at a stub server; yields (service, stub)."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with OpenAIStub(reply="Song Tao met Lee Longnan [1].") as stub:
        settings = service.settings
        answer = settings.answer.model_copy(update={"llm_base_url": stub.base_url})
        svc = copy.copy(service)  # shares the loaded index and model, not the LLM cache
        svc.settings = settings.model_copy(update={"answer": answer})
        svc._llms = {}
        yield svc, stub


def test_llm_answer_is_streamed_once_then_sources(llm_service):
    svc, stub = llm_service
    repl = make(svc, "Who is Song Tao?", llm="openai:test-model")
    assert repl.run() == 0
    out = output(repl)
    assert stub.requests and stub.requests[-1]["stream"] is True
    assert out.count("Song Tao met Lee Longnan [1].") == 1
    assert "(citations checked)" not in out
    assert "Sources" in out and "[1] " in out
    assert repl.last_answer.mode == "llm"
    assert repl.history[-1].answer == "Song Tao met Lee Longnan [1]."


def test_llm_answer_with_an_invented_citation_is_printed_once_checked(llm_service):
    svc, stub = llm_service
    stub.reply = "Song Tao met Lee Longnan [1][9]."
    repl = make(svc, "/mode llm openai:test-model", "Who is Song Tao?")
    assert repl.run() == 0
    out = output(repl)
    assert out.count("Song Tao met Lee Longnan") == 1
    assert "Song Tao met Lee Longnan [1]." in out and "[9]" not in out
    assert "(citations checked)" not in out
    assert repl.last_answer.text == "Song Tao met Lee Longnan [1]."


ERASE_LINE = "\x1b[2K"


def make_terminal(service, *items, **kwargs):
    """A Repl writing to a string console that claims to be a terminal (live drafts on)."""
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    return Repl(service, input_fn=lines(*items), console=console, **kwargs)


def after_last_erase(out: str) -> str:
    return out.rsplit(ERASE_LINE, 1)[-1]


def test_terminal_draft_is_replaced_by_the_checked_answer(llm_service):
    svc, stub = llm_service
    stub.reply = "Song Tao met Lee Longnan [1][9]. He is a minister."
    repl = make_terminal(svc, "Who is Song Tao?", llm="openai:test-model")
    assert repl.run() == 0
    out = output(repl)
    assert "He is a minister." in out  # the draft was shown while it streamed...
    final = after_last_erase(out)  # ...then erased, and the checked answer printed once
    assert final.count("Song Tao met Lee Longnan [1].") == 1
    assert "[9]" not in final and "He is a minister." not in final
    assert "Sources" in final


def test_terminal_draft_that_falls_back_is_replaced_by_the_labelled_extractive_answer(
    llm_service,
):
    svc, stub = llm_service
    stub.reply = "Song Tao is a famous singer from Canada."  # no citation: falls back
    repl = make_terminal(svc, "Who is Song Tao?", llm="openai:test-model")
    assert repl.run() == 0
    out = output(repl)
    assert "famous singer" in out
    final = flat(after_last_erase(out))
    assert "famous singer" not in final
    assert "LLM unavailable: no valid citation; quoted extractively" in final
    assert "minister of the International Department" in final
    assert repl.last_answer.mode == "extractive"


def test_a_log_record_during_an_answer_is_written_after_it(llm_service):
    svc, stub = llm_service
    stub.reply = "Song Tao met Lee Longnan [1]."
    repl = make(svc, "Who is Song Tao?", llm="openai:test-model")
    inner_ask = svc.ask

    def ask(question, history=(), **kwargs):
        logging.getLogger("bot.chain").warning("a warning while streaming")
        return inner_ask(question, history, **kwargs)

    svc.ask = ask
    handler = logging.StreamHandler(repl.console.file)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        assert repl.run() == 0
    finally:
        root.removeHandler(handler)
    out = output(repl)
    answer_at = out.index("Song Tao met Lee Longnan [1].")
    assert out.index("a warning while streaming") > out.index("Sources") > answer_at


def test_llm_abstention_is_completed_not_reprinted(llm_service):
    from prompts import ABSTAIN_PHRASE

    svc, stub = llm_service
    stub.reply = ABSTAIN_PHRASE
    repl = make(svc, "Who is Song Tao?", llm="openai:test-model")
    assert repl.run() == 0
    out = flat(output(repl))
    assert repl.last_answer.abstained
    assert out.count(ABSTAIN_PHRASE) == 1
    assert f"{ABSTAIN_PHRASE} Closest articles:" in out
    assert "(citations checked)" not in out
    assert repl.history == []


def test_llm_failure_prints_the_extractive_fallback_in_full(llm_service):
    svc, stub = llm_service
    stub.mode, stub.status = "error", 400  # not retried by the client
    repl = make(svc, "Who is Song Tao?", llm="openai:test-model")
    assert repl.run() == 0
    out = output(repl)
    assert repl.last_answer.fallback_reason
    assert "LLM unavailable" in out and "quoted extractively" in out
    assert "minister of the International Department" in flat(out)
    assert "Sources" in out and not error_lines(out)


def test_llm_follow_up_sends_the_conversation(llm_service):
    svc, stub = llm_service
    repl = make(svc, "Who is Song Tao?", "Who did he meet?", llm="openai:test-model")
    assert repl.run() == 0
    assert len(repl.history) == 2
    # The follow-up was condensed with the first turn (a request without a system message).
    condense = [r for r in stub.requests if r["messages"][0]["role"] != "system"]
    assert condense and "Who is Song Tao?" in str(condense[0]["messages"])


# -- the real command, with piped stdin ---------------------------------------------------


def test_piped_stdin_answers_and_exits(service, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATELINE_")},
        "HF_HUB_OFFLINE": "1",
        "DATELINE_CONFIG": str(tmp_path / "none.toml"),
    }
    exe = Path(sys.executable).with_name("dateline")
    result = subprocess.run(
        [str(exe), "--home", str(service.settings.home), "repl"],
        input="Who is Hua Chunying?\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "hua chunying" in result.stdout.lower()
    assert "[1]" in result.stdout
    assert "Sources" in result.stdout
    assert "dateline>" not in result.stdout and "Traceback" not in result.stderr
