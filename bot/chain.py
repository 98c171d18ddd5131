"""The LLM answer step: passages and a question in, a cited answer (plain Python) out.

This is the only module that touches LangChain (and the OpenAI client), and it imports them
lazily so that ``dateline --help`` stays fast. Every call streams on a daemon worker thread
and is bounded by one wall-clock deadline per answer, retries included (there are none), so a
hung provider never blocks the caller past ``timeout`` seconds.

OpenAI-compatible servers (``openai:`` specs, local servers, ``llamacpp:`` models) are called
through the ``openai`` client directly, because cancelling must really cancel: when the
deadline passes, the HTTP connection is shut down, so the server sees the client leave and
stops generating. (LangChain's streaming wrapper, closed early, reads the provider's stream
to its end instead, and the abandoned generation then delays every later answer.) Before the
first byte of the reply there is no response to shut; the read timeout, set to what is left
of the deadline, closes the connection then. llama.cpp notices a closed connection when it
has a token to send, so a request cut off while the prompt is being read ends with that read.
Any other provider, and the fake chat models of the tests, go through LangChain's ``stream``.

The reply is then checked sentence by sentence: echoed passage headers are removed, every
kept sentence must cite a shown passage, a reply cut by the token limit keeps only its
complete sentences, and an optional ``support`` check drops citations (and then sentences)
whose passage does not back the sentence.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.answer import Turn
from bot.errors import ConfigError
from bot.text import one_line
from config.settings import AnswerSettings
from prompts import ABSTAIN_PHRASE, load_prompt

if TYPE_CHECKING:
    from retrieval.models import Passage

__all__ = [
    "AnswerFallback",
    "AnswerSentence",
    "ChainAnswer",
    "LLMAnswerer",
    "format_passages",
    "is_abstain",
    "parse_citations",
    "split_answer",
    "strip_echoed_headers",
]

log = logging.getLogger(__name__)

_NUM_OR_RANGE = r"\d{1,6}(?:\s*[-–]\s*\d{1,6})?"
# One marker such as [2], [1, 3], [1;3] or [2-4], with the blanks before it.
_MARKER = re.compile(rf"([ \t]*)\[\s*({_NUM_OR_RANGE}(?:\s*[,;]\s*{_NUM_OR_RANGE})*)\s*\]")
_MAX_RANGE = 20
_HISTORY_ANSWER_CHARS = 600


class AnswerFallback(Exception):
    """The LLM could not give a usable answer; ``reason`` says why, for ``Answer.fallback_reason``.

    ``raw`` holds the model's reply when there was one (e.g. an answer without citations).
    """

    def __init__(self, reason: str, raw: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass
class ChainAnswer:
    """An LLM answer whose ``[n]`` markers all point at passages that were shown.

    ``cited`` lists those numbers in order of first use, ``invalid`` the numbers that were
    removed from the text, ``raw`` is the model's reply before any cleaning. ``dropped``
    holds ``(sentence, why)`` for each sentence removed (``"uncited"``, ``"unsupported"``,
    ``"cut off"``); ``truncated`` says the reply stopped at the token limit.
    """

    text: str
    cited: list[int]
    raw: str
    invalid: list[int] = field(default_factory=list)
    abstained: bool = False
    dropped: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False


def _expand(body: str) -> list[int]:
    """The numbers of a marker body such as ``1, 3`` or ``2-4``, in order."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", body.strip()):
        lo, sep, hi = re.sub(r"\s+", "", part).replace("–", "-").partition("-")
        if not sep:
            numbers.append(int(lo))
        elif int(lo) <= int(hi) and int(hi) - int(lo) < _MAX_RANGE:
            numbers.extend(range(int(lo), int(hi) + 1))
        else:
            numbers.extend((int(lo), int(hi)))
    return numbers


def parse_citations(text: str, shown: int) -> tuple[str, list[int], list[int]]:
    """Check the ``[n]`` markers of ``text`` against passages ``1..shown``.

    Accepts ``[n]``, ``[n, m]``, ``[n; m]``, ``[n][m]`` and ranges ``[n-m]``. Returns the
    cleaned text (invalid numbers removed, each kept marker written as ``[n][m]``), the valid
    numbers in order of first use, and the invalid numbers in order of first use.
    """
    cited: list[int] = []
    invalid: list[int] = []
    removed = False

    def rewrite(match: re.Match[str]) -> str:
        nonlocal removed
        keep: list[int] = []
        for n in _expand(match.group(2)):
            if 1 <= n <= shown:
                keep.append(n)
                if n not in cited:
                    cited.append(n)
            else:
                removed = True
                if n not in invalid:
                    invalid.append(n)
        if not keep:
            return ""
        return match.group(1) + "".join(f"[{n}]" for n in dict.fromkeys(keep))

    clean = _MARKER.sub(rewrite, text)
    if removed:
        clean = re.sub(r"(?<=\S)[ \t]{2,}", " ", clean)
        clean = re.sub(r"[ \t]+(?=\n|$)", "", clean)
    return clean.strip(), cited, invalid


def _normalise(text: str) -> str:
    text = _MARKER.sub("", text).replace("\u2019", "'").lower()
    return one_line(text).strip(" \"'`*_.")


def is_abstain(text: str) -> bool:
    """Whether a reply is the abstain phrase (ignoring case, quotes, markers, final period)."""
    return _normalise(text) == _normalise(ABSTAIN_PHRASE)


def format_passages(passages: Sequence[Passage]) -> str:
    """The passages as the prompt shows them: ``[n]`` with title, outlet and date, then text."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        head = (
            f"[{n}] Title: {one_line(p.title) or 'untitled'} | "
            f"Outlet: {one_line(p.source) or 'unknown outlet'} | "
            f"Date: {one_line(p.published) or 'undated'}"
        )
        # The text is fenced by triple quotes; a passage must not be able to close the fence.
        body = p.text.strip().replace('"""', '"')
        blocks.append(f'{head}\n"""\n{body}\n"""')
    return "\n\n".join(blocks)


def _format_history(history: Sequence[Turn]) -> str:
    """Earlier turns as text; old ``[n]`` markers are dropped since they name other passages."""
    lines = []
    for turn in history:
        answer = one_line(_MARKER.sub("", turn.answer))
        if len(answer) > _HISTORY_ANSWER_CHARS:
            answer = answer[:_HISTORY_ANSWER_CHARS].rstrip() + "…"
        lines.append(f"User: {one_line(turn.question)}\nAssistant: {answer}")
    return "\n".join(lines)


# Header fields as the prompt writes them (see format_passages), copied back by small models.
_HEADER_FIELDS = (
    r"Title[ \t]*:[^\n|]*(?:\|[ \t]*Outlet[ \t]*:[^\n|]*)?(?:\|[ \t]*Date[ \t]*:[ \t]*[^\s|]*)?"
)
_ECHOED_HEADER = re.compile(
    rf"\[\s*\d{{1,6}}\s*\][ \t]*{_HEADER_FIELDS}"
    rf"|^[ \t]*{_HEADER_FIELDS}"
    r"|^[ \t]*(?:Outlet|Date)[ \t]*:[^\n]*"
    r'|^[ \t]*"""[ \t]*$',
    re.I | re.M,
)
_LEADING_MARKERS = re.compile(r"^((?:\[\s*[\d,;\s–-]+\]\s*)+)")
_COMPLETE = re.compile(r"[.!?…][\"'”’)]*(?:\s*\[\d+\])*\s*$")
_CONDENSE_MAX_TOKENS = 64


def strip_echoed_headers(text: str) -> tuple[str, int]:
    """``text`` without passage headers copied from the prompt (``[2] Title: … | Outlet: …``).

    Such a header is not a citation: its ``[n]`` names the passage it copies, not a
    passage that supports a sentence. Returns the text and how many headers were removed.
    """
    cleaned, count = _ECHOED_HEADER.subn("", text)
    return (cleaned, count) if count else (text, 0)


@dataclass
class AnswerSentence:
    """One sentence of an answer: ``text`` with its markers, ``plain`` without, ``cited``
    the numbers it cites, ``complete`` whether it ends like a sentence."""

    text: str
    plain: str
    cited: list[int]
    complete: bool


def split_answer(text: str) -> list[AnswerSentence]:
    """The sentences of an answer whose markers are already checked (``[n]`` form).

    A marker that opens a sentence right after one that ended (``.``, ``!``, ``?``) on the
    same line without a marker, as in ``Rates held. [1] Analysts…``, is moved back to the
    sentence it follows; at the start of a line it cites the sentence it opens.
    """
    from retrieval.sentences import split_sentences

    pieces: list[tuple[str, bool]] = []  # (sentence, whether it continues a line)
    for line in text.splitlines():
        pieces.extend((s.text, i > 0) for i, s in enumerate(split_sentences(line)))
    merged: list[str] = []
    pending = ""  # markers alone at the end of a line: they open the next sentence
    for piece, same_line in pieces:
        if pending:
            piece, same_line, pending = f"{pending} {piece}", False, ""
        lead = _LEADING_MARKERS.match(piece)
        if (
            lead
            and merged
            and same_line
            and not _MARKER.search(merged[-1])
            and re.search(r"[.!?…][\"'”’)]*$", merged[-1])
        ):
            merged[-1] = f"{merged[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :].strip()
        if not piece:
            continue
        if not _MARKER.sub("", piece).strip(" \t.,;:"):  # markers (and a stray period) only
            if merged and same_line:
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                pending = piece
            continue
        merged.append(piece)
    if pending and merged:
        merged[-1] = f"{merged[-1]} {pending}"
    out = []
    for piece in merged:
        cited: list[int] = []
        for match in _MARKER.finditer(piece):
            cited.extend(n for n in _expand(match.group(2)) if n not in cited)
        plain = one_line(_MARKER.sub("", piece))
        out.append(AnswerSentence(piece, plain, cited, bool(_COMPLETE.search(piece))))
    return out


def _keep_markers(text: str, keep: set[int]) -> str:
    def rewrite(match: re.Match[str]) -> str:
        numbers = [n for n in _expand(match.group(2)) if n in keep]
        return match.group(1) + "".join(f"[{n}]" for n in numbers) if numbers else ""

    kept = one_line(_MARKER.sub(rewrite, text))
    return re.sub(r"(?<=[^\s\[\]])\[(?=\d)", " [", kept)  # "percent[2]": its blank went


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


def _shutdown(stream: Any) -> None:
    """Shut the socket under an open HTTP stream, from any thread.

    ``shutdown`` (unlike ``close``) wakes a thread blocked reading it and sends the server
    a FIN at once, which is how llama.cpp and others learn to stop generating.
    """
    import socket

    response = getattr(stream, "response", None)
    network = (getattr(response, "extensions", None) or {}).get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _text_of(chunk: Any) -> str:
    text = getattr(chunk, "text", "")
    text = text() if callable(text) else text
    return text if isinstance(text, str) else ""


Emit = Callable[[str], None]
_DEFAULTS = AnswerSettings()  # what a model built without settings uses


class LLMAnswerer:
    """Writes cited answers with a chat model chosen by a ``provider:model`` spec.

    ``openai:`` specs (with ``base_url``: any OpenAI-compatible server) are called through
    the OpenAI client, other specs through LangChain's ``init_chat_model``. ``max_tokens``
    is sent with every request. Construction is cheap: the client or model is built on
    first use (or by :meth:`ensure_model`), unless ``model`` (any LangChain chat model,
    e.g. a fake in tests) is given.
    """

    def __init__(
        self,
        spec: str,
        *,
        base_url: str | None = None,
        timeout: float = _DEFAULTS.llm_timeout,
        temperature: float = _DEFAULTS.llm_temperature,
        max_tokens: int = _DEFAULTS.llm_max_tokens,
        model: Any = None,
    ) -> None:
        """Remember the settings; nothing is imported or connected here."""
        if timeout <= 0:
            raise ConfigError(f"LLM timeout must be positive, got {timeout}")
        self.spec = spec
        self.base_url = base_url
        self.timeout = float(timeout)
        self.temperature = temperature
        self.max_tokens = int(max_tokens)
        self._model = model
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def _direct(self) -> bool:
        """Whether the OpenAI client is used directly (not a given model, not LangChain)."""
        return self._model is None and (self.spec or "").strip().startswith("openai:")

    def ensure_model(self) -> None:
        """Build the client or chat model now; raises :class:`ConfigError` if unusable."""
        if self._direct:
            self._openai_client()
        else:
            self._get_model()

    def _openai_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                key = os.environ.get("OPENAI_API_KEY") or None
                if key is None and self.base_url:
                    key = "not-needed"  # local servers ignore it; the client insists on one
                if key is None:
                    raise ConfigError(
                        f"LLM {self.spec!r} needs OPENAI_API_KEY in the environment "
                        "(or answer.llm_base_url pointing at a local server)"
                    )
                # No retries: one deadline per answer, and a retry would outlive it.
                client = openai.OpenAI(
                    api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout
                )
                # Loaded lazily by the client; loading them inside the first, timed call
                # would hold the interpreter lock while the deadline runs.
                _ = client.chat.completions
                import httpx  # noqa: F401
                from openai.types.chat import ChatCompletionChunk  # noqa: F401

                self._client = client
            return self._client

    def _build_model(self) -> Any:
        from langchain.chat_models import init_chat_model

        spec = (self.spec or "").strip()
        if not spec:
            raise ConfigError("no LLM configured: set answer.llm, e.g. 'openai:gpt-4o-mini'")
        kwargs: dict[str, Any] = {
            "timeout": self.timeout,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "max_retries": 0,
        }
        if self.base_url:
            kwargs["base_url"] = self.base_url
        try:
            return init_chat_model(spec, **kwargs)
        except ImportError as exc:
            raise ConfigError(f"LLM {spec!r} cannot be used: {exc}") from exc
        except ValueError as exc:
            supported = next(
                (line for line in str(exc).splitlines() if line.startswith("Supported")), ""
            )
            raise ConfigError(
                f"unknown LLM provider in {spec!r}: use 'provider:model', "
                f"e.g. 'openai:gpt-4o-mini'. {supported}".strip()
            ) from exc
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"LLM {spec!r} cannot be set up: {first}") from exc

    def _get_model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._build_model()
            return self._model

    # -- one streamed request, on the worker thread ------------------------------------

    def _stream_openai(
        self,
        messages: list[tuple[str, str]],
        emit: Emit,
        cancelled: threading.Event,
        deadline: float,
        streams: list[Any],
        max_tokens: int,
        streaming: bool,
    ) -> str | None:
        import httpx

        client = self._openai_client()
        remaining = max(deadline - time.monotonic(), 0.001)
        roles = {"human": "user"}
        stream = client.chat.completions.create(
            model=self.spec.strip().removeprefix("openai:"),
            messages=[{"role": roles.get(r, r), "content": c} for r, c in messages],
            stream=True,
            max_tokens=max_tokens,
            temperature=self.temperature,
            # Every read is bounded by what is left of the deadline: a silent server
            # (still reading the prompt) is dropped then, and the connection closed.
            timeout=httpx.Timeout(remaining, connect=min(remaining, 5.0)),
        )
        streams.append(stream)
        finish: str | None = None
        try:
            for chunk in stream:
                if cancelled.is_set():
                    break
                for choice in chunk.choices[:1]:
                    if choice.delta is not None and choice.delta.content:
                        emit(choice.delta.content)
                    finish = choice.finish_reason or finish
        finally:
            stream.close()  # an unfinished response closes its connection
        return finish

    def _stream_langchain(
        self,
        messages: list[tuple[str, str]],
        emit: Emit,
        cancelled: threading.Event,
        deadline: float,
        streams: list[Any],
        max_tokens: int,
        streaming: bool,
    ) -> str | None:
        model = self._get_model()
        if not streaming:
            reply = model.invoke(messages)
            meta = getattr(reply, "response_metadata", None) or {}
            emit(_text_of(reply))
            return meta.get("finish_reason")
        finish: str | None = None
        chunks = model.stream(messages)
        try:
            for chunk in chunks:
                if cancelled.is_set():
                    break
                piece = _text_of(chunk)
                if piece:
                    emit(piece)
                meta = getattr(chunk, "response_metadata", None) or {}
                finish = meta.get("finish_reason") or finish
        finally:
            chunks.close()
        return finish

    def _run(
        self,
        system: str | None,
        user: str,
        on_token: Callable[[str], None] | None,
        max_tokens: int | None = None,
    ) -> tuple[str, str | None]:
        """The model's reply and its finish reason, streamed to ``on_token`` if given.

        One deadline (``timeout`` seconds from now) bounds the whole call; when it passes,
        the request is cut off. ``on_token`` is called on the caller's thread, never after
        this returns.
        """
        stream_fn = self._stream_openai if self._direct else self._stream_langchain
        self.ensure_model()  # a ConfigError belongs to the caller, not the worker
        # The OpenAI client always streams, so that a request can be cut off; LangChain
        # models stream only for a caller that shows tokens.
        streaming = on_token is not None
        messages = [("system", system)] if system else []
        messages.append(("human", user))
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        cancelled = threading.Event()
        streams: list[Any] = []
        deadline = time.monotonic() + self.timeout
        cap = max_tokens or self.max_tokens

        def work() -> None:
            try:
                emit = lambda piece: events.put(("token", piece))  # noqa: E731
                finish = stream_fn(messages, emit, cancelled, deadline, streams, cap, streaming)
                events.put(("done", finish))
            except BaseException as exc:  # re-raised, or mapped, on the caller's thread
                events.put(("error", exc))

        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(work,), name="dateline-llm")
        # A hung provider call cannot be interrupted; a daemon thread at least never blocks exit.
        worker.daemon = True
        timeout_reason = f"llm timeout after {self.timeout:g}s"
        pieces: list[str] = []
        finished = False
        worker.start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AnswerFallback(timeout_reason, raw="".join(pieces) or None)
                try:
                    kind, value = events.get(timeout=remaining)
                except queue.Empty:
                    continue
                if kind == "token":
                    pieces.append(value)
                    if on_token is not None:
                        on_token(value)
                elif kind == "done":
                    finished = True
                    return "".join(pieces), value
                elif _is_timeout(value):
                    raise AnswerFallback(timeout_reason) from value
                else:
                    log.info("LLM call failed: %s", type(value).__name__)
                    log.debug("LLM error detail", exc_info=value)
                    raise AnswerFallback(f"llm error: {type(value).__name__}") from value
        finally:
            cancelled.set()
            if not finished:
                for stream in list(streams):
                    _shutdown(stream)

    # -- answering ---------------------------------------------------------------------

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
        support: Callable[[str, Passage], bool] | None = None,
    ) -> ChainAnswer:
        """Answer ``question`` from ``passages`` (shown as ``[1]..[k]``), citing every claim.

        Streams raw reply pieces to ``on_token`` when given (they may still contain markers
        and sentences that the returned text drops). The reply is checked sentence by
        sentence: echoed passage headers go, a sentence without a valid citation goes, a
        sentence cut off by the token limit goes, and with ``support(sentence, passage)``
        each citation must pass it (a sentence left without one goes). Raises
        :class:`AnswerFallback` (its reason names the check) on a model error, a timeout,
        or when no sentence is left; :class:`ConfigError` if the model cannot be built.
        """
        if not passages:
            return ChainAnswer(text=ABSTAIN_PHRASE, cited=[], raw="", abstained=True)
        system = load_prompt("answer_system").render(abstain_phrase=ABSTAIN_PHRASE)
        user = load_prompt("answer_user").render(
            passages=format_passages(passages),
            history=_format_history(history) or "(none)",
            question=one_line(question),
        )
        raw, finish = self._run(system, user, on_token)
        unechoed, echoed = strip_echoed_headers(raw)
        text, cited, invalid = parse_citations(unechoed, len(passages))
        if is_abstain(text) or (not cited and _normalise(ABSTAIN_PHRASE) in _normalise(text)):
            return ChainAnswer(
                text=ABSTAIN_PHRASE, cited=[], raw=raw, invalid=invalid, abstained=True
            )
        truncated = finish == "length"
        kept: list[str] = []
        dropped: list[tuple[str, str]] = []
        checked = 0
        for sentence in split_answer(text):
            if truncated and not sentence.complete:
                dropped.append((sentence.plain, "cut off"))
                continue
            if not sentence.cited:
                dropped.append((sentence.plain, "uncited"))
                continue
            good = set(sentence.cited)
            if support is not None:
                checked += 1
                good = {n for n in good if support(sentence.plain, passages[n - 1])}
                if not good:
                    dropped.append((sentence.plain, "unsupported"))
                    continue
            kept.append(_keep_markers(sentence.text, good))
        if not kept:
            if checked:
                reason = "citations not supported by their passages"
            elif truncated and any(why == "cut off" for _, why in dropped):
                reason = f"reply cut at the token limit ({self.max_tokens}) before a cited sentence"
            elif echoed and not cited:
                reason = "no valid citation (only echoed passage headers)"
            else:
                reason = "no valid citation"
            raise AnswerFallback(reason, raw=raw)
        final = " ".join(kept)
        _, final_cited, _ = parse_citations(final, len(passages))
        return ChainAnswer(
            text=final,
            cited=final_cited,
            raw=raw,
            invalid=invalid,
            dropped=dropped,
            truncated=truncated,
        )

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """``question`` rewritten to stand alone given ``history``; unchanged on any LLM failure.

        Without history the question is returned as is, without calling the model.
        """
        if not history:
            return question
        user = load_prompt("condense").render(
            history=_format_history(history), question=one_line(question)
        )
        try:
            raw, _ = self._run(None, user, None, _CONDENSE_MAX_TOKENS)
        except AnswerFallback as exc:
            log.info("condense fell back to the original question: %s", exc.reason)
            return question
        line = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I)
        line = line.strip(" \"'`*")
        return line or question
