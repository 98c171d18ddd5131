"""The LLM answer step with LangChain fake chat models and over HTTP against a local stub."""

from __future__ import annotations

import importlib.util
import threading
import time
from typing import Any

import openai
import pytest
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    FakeListChatModelError,
    GenericFakeChatModel,
)

from bot.answer import Turn
from bot.chain import (
    AnswerFallback,
    ChainAnswer,
    LLMAnswerer,
    format_passages,
    is_abstain,
    parse_citations,
    split_answer,
    strip_echoed_headers,
)
from bot.errors import ConfigError
from prompts import ABSTAIN_PHRASE
from retrieval.models import Passage
from tests.openai_stub import OpenAIStub

QUESTION = "What did the central bank decide?"


def _passages(k: int = 3) -> list[Passage]:
    outlets = ["Reuters", "AP", "BBC", "Le Monde", "NHK"]
    return [
        Passage(
            id=f"a{i}:0",
            article_id=f"a{i}",
            ordinal=0,
            start=0,
            end=40,
            text=f"Passage {i} text: the bank held rates at {i}% {{not a placeholder}}.",
            title=f"Article {i}",
            source=outlets[i % len(outlets)],
            published=f"2024-05-0{i + 1}",
        )
        for i in range(k)
    ]


def _fake(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


class RecordingModel(GenericFakeChatModel):
    """Replies like GenericFakeChatModel and keeps the messages it was sent."""

    seen: list[Any] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class FailingModel(GenericFakeChatModel):
    """Raises on every call."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise FakeListChatModelError("provider exploded")


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text", "cited", "invalid"),
    [
        ("Held [1].", "Held [1].", [1], []),
        ("Held [2] and cut [1][3].", "Held [2] and cut [1][3].", [2, 1, 3], []),
        ("Held [1, 3] and [2; 1].", "Held [1][3] and [2][1].", [1, 3, 2], []),
        ("Held [1-3].", "Held [1][2][3].", [1, 2, 3], []),
        ("Held [7]. Cut [1].", "Held. Cut [1].", [1], [7]),
        ("Held [1][7] and [0, 2].", "Held [1] and [2].", [1, 2], [7, 0]),
        ("[9] Held.\nCut [2].", "Held.\nCut [2].", [2], [9]),
        ("No markers here.", "No markers here.", [], []),
    ],
)
def test_parse_citations(raw, text, cited, invalid):
    assert parse_citations(raw, 3) == (text, cited, invalid)


def test_is_abstain_tolerates_quotes_and_case():
    assert is_abstain(ABSTAIN_PHRASE)
    assert is_abstain(f'"{ABSTAIN_PHRASE.upper()}"')
    assert is_abstain(ABSTAIN_PHRASE.replace("'", "\u2019").rstrip("."))
    assert not is_abstain("The bank held rates [1].")


def test_format_passages_numbers_and_labels_every_passage():
    shown = format_passages(_passages(3))
    for n, outlet in enumerate(["Reuters", "AP", "BBC"], start=1):
        assert f"[{n}] Title: Article {n - 1} | Outlet: {outlet} | Date: 2024-05-0{n}" in shown
    bare = Passage(id="x", article_id="x", ordinal=0, start=0, end=3, text='a """ b')
    assert "Title: untitled | Outlet: unknown outlet | Date: undated" in format_passages([bare])
    assert '"""' not in format_passages([bare]).split("\n")[2]


# --- chain with fake chat models ---------------------------------------------------------


def test_valid_citations_are_kept():
    answerer = LLMAnswerer("fake", model=_fake("Rates were held [1]. Analysts agreed [2][3]."))
    result = answerer.answer(QUESTION, _passages(3))
    assert result == ChainAnswer(
        text="Rates were held [1]. Analysts agreed [2][3].",
        cited=[1, 2, 3],
        raw="Rates were held [1]. Analysts agreed [2][3].",
        invalid=[],
        abstained=False,
    )


def test_invented_citation_is_removed():
    answerer = LLMAnswerer("fake", model=_fake("Rates were held [1]. Inflation fell [7]."))
    result = answerer.answer(QUESTION, _passages(3))
    # The sentence left without a valid citation is dropped, not kept uncited.
    assert result.text == "Rates were held [1]."
    assert result.cited == [1]
    assert result.invalid == [7]
    assert result.dropped == [("Inflation fell.", "uncited")]
    assert "[7]" in result.raw


@pytest.mark.parametrize("reply", ["Rates were held.", "Rates were held [4][5].", ""])
def test_no_valid_citation_falls_back(reply):
    answerer = LLMAnswerer("fake", model=_fake(reply))
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    assert info.value.reason == "no valid citation"


def test_model_exception_falls_back():
    answerer = LLMAnswerer("fake", model=FailingModel(messages=iter([])))
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    assert info.value.reason == "llm error: FakeListChatModelError"
    assert isinstance(info.value.__cause__, FakeListChatModelError)


def test_model_exception_while_streaming_falls_back():
    model = FakeListChatModel(responses=["Rates were held [1]."], error_on_chunk_number=3)
    pieces: list[str] = []
    with pytest.raises(AnswerFallback, match="llm error: FakeListChatModelError"):
        LLMAnswerer("fake", model=model).answer(QUESTION, _passages(3), on_token=pieces.append)
    assert "".join(pieces) == "Rat"


def test_hung_model_times_out_on_the_wall_clock():
    model = FakeListChatModel(responses=["Too late [1]."], sleep=5)
    answerer = LLMAnswerer("fake", timeout=0.5, model=model)
    start = time.monotonic()
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    assert time.monotonic() - start < 1.0
    assert info.value.reason == "llm timeout after 0.5s"


def test_slow_stream_times_out_and_stops_calling_on_token():
    model = FakeListChatModel(responses=["Rates were held at five percent [1]."], sleep=0.1)
    pieces: list[str] = []
    start = time.monotonic()
    with pytest.raises(AnswerFallback, match=r"llm timeout after 0\.35s"):
        LLMAnswerer("fake", timeout=0.35, model=model).answer(
            QUESTION, _passages(3), on_token=pieces.append
        )
    assert time.monotonic() - start < 1.0
    seen = len(pieces)
    assert 1 <= seen <= 4
    time.sleep(0.3)
    assert len(pieces) == seen


def test_streaming_calls_on_token_with_the_pieces_on_the_callers_thread():
    reply = "Rates were held [1]. Inflation fell [7]."
    pieces: list[str] = []
    threads: set[int] = set()

    def on_token(piece: str) -> None:
        pieces.append(piece)
        threads.add(threading.get_ident())

    result = LLMAnswerer("fake", model=_fake(reply)).answer(
        QUESTION, _passages(3), on_token=on_token
    )
    assert len(pieces) > 1
    assert "".join(pieces) == reply
    assert threads == {threading.get_ident()}
    assert result.text == "Rates were held [1]."
    assert result.cited == [1]


@pytest.mark.parametrize("reply", [ABSTAIN_PHRASE, f"  {ABSTAIN_PHRASE.rstrip('.')}\n"])
def test_abstain_phrase_is_reported_as_abstained(reply):
    result = LLMAnswerer("fake", model=_fake(reply)).answer(QUESTION, _passages(3))
    assert result.abstained
    assert result.text == ABSTAIN_PHRASE
    assert result.cited == []


def test_no_passages_abstains_without_calling_the_model():
    model = FailingModel(messages=iter([]))
    result = LLMAnswerer("fake", model=model).answer(QUESTION, [])
    assert result.abstained and result.text == ABSTAIN_PHRASE


def test_prompt_carries_rules_passages_history_and_question():
    model = RecordingModel(messages=iter(["Held [1]."]), seen=[])
    history = [Turn(question="Who chairs the bank?", answer="Jane Doe chairs it [2].")]
    LLMAnswerer("fake", model=model).answer(QUESTION, _passages(3), history=history)
    (messages,) = model.seen
    assert [m.type for m in messages] == ["system", "human"]
    system, user = messages[0].content, messages[1].content
    assert ABSTAIN_PHRASE in system
    assert "[3] Title: Article 2 | Outlet: BBC | Date: 2024-05-03" in user
    assert "{not a placeholder}" in user
    assert "Jane Doe chairs it." in user and "[2]." not in user.split("Earlier")[1]
    assert user.rstrip().splitlines()[-3] == f"Question: {QUESTION}"


def test_condense_rewrites_and_falls_back_to_the_question():
    history = [Turn(question="Who chairs the central bank?", answer="Jane Doe [1].")]
    model = RecordingModel(messages=iter(["Standalone question: What did Jane Doe say?"]), seen=[])
    assert LLMAnswerer("fake", model=model).condense("What did she say?", history) == (
        "What did Jane Doe say?"
    )
    assert "Jane Doe" in model.seen[0][-1].content
    failing = LLMAnswerer("fake", model=FailingModel(messages=iter([])))
    assert failing.condense("What did she say?", history) == "What did she say?"
    hung = LLMAnswerer("fake", timeout=0.3, model=FakeListChatModel(responses=["x"], sleep=5))
    assert hung.condense("What did she say?", history) == "What did she say?"
    assert failing.condense("Standalone?", []) == "Standalone?"


# --- configuration -----------------------------------------------------------------------


def test_constructor_is_lazy_and_unknown_provider_is_a_config_error():
    answerer = LLMAnswerer("foo:bar")
    with pytest.raises(ConfigError, match="unknown LLM provider in 'foo:bar'"):
        answerer.ensure_model()
    with pytest.raises(ConfigError):
        answerer.answer(QUESTION, _passages(1))


@pytest.mark.skipif(
    importlib.util.find_spec("langchain_anthropic") is not None,
    reason="langchain-anthropic is installed",
)
def test_missing_provider_package_is_a_config_error():
    with pytest.raises(ConfigError, match="langchain-anthropic"):
        LLMAnswerer("anthropic:claude-test").ensure_model()


def test_missing_api_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMAnswerer("openai:test-model").ensure_model()


def test_non_positive_timeout_is_a_config_error():
    with pytest.raises(ConfigError):
        LLMAnswerer("fake", timeout=0)


# --- real HTTP through langchain-openai --------------------------------------------------


@pytest.fixture
def openai_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def stub(openai_env):
    with OpenAIStub(reply="The bank held rates [1]. Markets rose [9].") as server:
        yield server


def _http_model(stub: OpenAIStub, timeout: float = 30.0):
    from langchain.chat_models import init_chat_model

    return init_chat_model(
        "openai:test-model",
        base_url=stub.base_url,
        api_key="test-key",
        timeout=timeout,
        max_retries=0,
    )


def test_http_answer_built_from_the_spec(stub):
    answerer = LLMAnswerer("openai:test-model", base_url=stub.base_url, timeout=5)
    result = answerer.answer(QUESTION, _passages(3))
    assert result.text == "The bank held rates [1]."
    assert result.cited == [1] and result.invalid == [9]
    (request,) = stub.requests
    assert request["model"] == "test-model"
    assert request["temperature"] == 0
    assert request["max_tokens"] == 300
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert request["stream"] is True  # always streamed, so that a timeout can cut it off


def test_http_local_server_needs_no_api_key(stub, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    answerer = LLMAnswerer("openai:test-model", base_url=stub.base_url, timeout=5)
    assert answerer.answer(QUESTION, _passages(3)).cited == [1]


def test_http_streaming_sse(stub):
    pieces: list[str] = []
    result = LLMAnswerer("openai:test", model=_http_model(stub), timeout=5).answer(
        QUESTION, _passages(3), on_token=pieces.append
    )
    assert stub.requests[0]["stream"] is True
    assert len(pieces) > 1
    assert "".join(pieces) == "The bank held rates [1]. Markets rose [9]."
    assert result.cited == [1]


def test_http_500_falls_back(stub):
    stub.mode = "error"
    answerer = LLMAnswerer("openai:test", model=_http_model(stub), timeout=5)
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    # langchain-openai re-raises a 500 as its own OpenAIAPIError, a subclass of openai's.
    assert info.value.reason == f"llm error: {type(info.value.__cause__).__name__}"
    assert isinstance(info.value.__cause__, openai.InternalServerError)
    assert len(stub.requests) == 1


def test_http_server_that_never_answers_times_out(stub):
    stub.mode = "hang"
    answerer = LLMAnswerer("openai:test", model=_http_model(stub), timeout=0.5)
    start = time.monotonic()
    with pytest.raises(AnswerFallback, match=r"llm timeout after 0\.5s"):
        answerer.answer(QUESTION, _passages(3))
    assert time.monotonic() - start < 1.0


def test_http_client_timeout_is_reported_as_timeout(stub):
    stub.mode = "hang"
    answerer = LLMAnswerer("openai:test", model=_http_model(stub, timeout=0.3), timeout=5)
    with pytest.raises(AnswerFallback, match=r"llm timeout after 5s"):
        answerer.answer(QUESTION, _passages(3))


def test_http_condense(stub):
    stub.reply = "What did the Federal Reserve decide in May 2024?"
    history = [Turn(question="What is the Fed?", answer="The US central bank [1].")]
    answerer = LLMAnswerer("openai:test", model=_http_model(stub), timeout=5)
    assert answerer.condense("What did it decide?", history) == stub.reply
    stub.mode = "error"
    assert answerer.condense("What did it decide?", history) == "What did it decide?"


def test_http_request_is_sent_once_with_max_tokens_and_never_retried(stub):
    stub.mode, stub.status = "error", 503  # the OpenAI client would retry this twice
    answerer = LLMAnswerer("openai:test-model", base_url=stub.base_url, timeout=5, max_tokens=77)
    with pytest.raises(AnswerFallback, match="llm error: InternalServerError"):
        answerer.answer(QUESTION, _passages(3))
    time.sleep(1.0)  # longer than the client's first retry back-off
    (request,) = stub.requests
    assert request["max_tokens"] == 77


def test_http_timeout_is_one_deadline_for_the_answer_without_retry(stub):
    stub.mode = "hang"
    answerer = LLMAnswerer("openai:test-model", base_url=stub.base_url, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(AnswerFallback, match=r"llm timeout after 0\.5s"):
        answerer.answer(QUESTION, _passages(3))
    assert time.monotonic() - start < 1.0
    time.sleep(1.0)
    assert len(stub.requests) == 1


def test_http_reply_cut_by_the_token_limit_keeps_its_complete_cited_sentences(stub):
    stub.finish_reason = "length"
    stub.reply = "The bank held rates [1]. Analysts agreed [2]. Markets then rose sharply in the"
    answerer = LLMAnswerer("openai:test-model", base_url=stub.base_url, timeout=5, max_tokens=20)
    result = answerer.answer(QUESTION, _passages(3))
    assert result.truncated
    assert result.text == "The bank held rates [1]. Analysts agreed [2]."
    assert result.dropped == [("Markets then rose sharply in the", "cut off")]
    stub.reply = "The bank held rates and then [1"
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    assert info.value.reason == "reply cut at the token limit (20) before a cited sentence"


# --- sentences, echoed headers, support --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Held [1]. Cut [2].", [("Held [1].", [1]), ("Cut [2].", [2])]),
        ("Held. [1] Cut [2].", [("Held. [1]", [1]), ("Cut [2].", [2])]),
        (
            "It says:\n[1] Held.\n[2]\nCut.",
            [("It says:", []), ("[1] Held.", [1]), ("[2] Cut.", [2])],
        ),
        ("U.S. officials met [1]. Then.", [("U.S. officials met [1].", [1]), ("Then.", [])]),
    ],
)
def test_split_answer_gives_each_sentence_its_markers(text, sentences):
    assert [(s.text, s.cited) for s in split_answer(text)] == sentences


def test_echoed_headers_are_removed_and_are_not_citations():
    header = "[2] Title: Article 1 | Outlet: AP | Date: 2024-05-02"
    assert strip_echoed_headers(f"{header}\nThe bank held [2].") == ("\nThe bank held [2].", 1)
    answerer = LLMAnswerer("fake", model=_fake(f"{header}\nRates were held at two percent."))
    with pytest.raises(AnswerFallback) as info:
        answerer.answer(QUESTION, _passages(3))
    assert info.value.reason == "no valid citation (only echoed passage headers)"
    reply = f"{header}\nThe bank held rates at 1% [2]."
    result = LLMAnswerer("fake", model=_fake(reply)).answer(QUESTION, _passages(3))
    assert result.text == "The bank held rates at 1% [2]." and result.cited == [2]


def test_support_check_drops_unsupported_citations_then_sentences():
    reply = "Rates were held at one percent [1][2]. The moon is made of cheese [3]."
    seen: list[tuple[str, str]] = []

    def support(sentence: str, passage: Passage) -> bool:
        seen.append((sentence, passage.id))
        return "held" in sentence and passage.id == "a1:0"

    result = LLMAnswerer("fake", model=_fake(reply)).answer(QUESTION, _passages(3), support=support)
    assert result.text == "Rates were held at one percent [2]."
    assert result.cited == [2]
    assert result.dropped == [("The moon is made of cheese.", "unsupported")]
    assert ("The moon is made of cheese.", "a2:0") in seen
    with pytest.raises(AnswerFallback) as info:
        LLMAnswerer("fake", model=_fake(reply)).answer(
            QUESTION, _passages(3), support=lambda s, p: False
        )
    assert info.value.reason == "citations not supported by their passages"
