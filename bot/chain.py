"""The LLM answer step: passages and a question in, a cited answer (plain Python) out.

This is the only module that touches LangChain, and it imports it lazily so that
``dateline --help`` stays fast. Every call runs on a daemon worker thread and is bounded by a
wall-clock timeout, so a hung provider never blocks the caller past ``timeout`` seconds.
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
from prompts import ABSTAIN_PHRASE, load_prompt

if TYPE_CHECKING:
    from retrieval.models import Passage

__all__ = [
    "AnswerFallback",
    "ChainAnswer",
    "LLMAnswerer",
    "format_passages",
    "is_abstain",
    "parse_citations",
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
    removed from the text, ``raw`` is the model's reply before any cleaning.
    """

    text: str
    cited: list[int]
    raw: str
    invalid: list[int] = field(default_factory=list)
    abstained: bool = False


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
    return " ".join(text.split()).strip(" \"'`*_.")


def is_abstain(text: str) -> bool:
    """Whether a reply is the abstain phrase (ignoring case, quotes, markers, final period)."""
    return _normalise(text) == _normalise(ABSTAIN_PHRASE)


def _one_line(value: str | None, default: str) -> str:
    return " ".join(value.split()) if value and value.strip() else default


def format_passages(passages: Sequence[Passage]) -> str:
    """The passages as the prompt shows them: ``[n]`` with title, outlet and date, then text."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        head = (
            f"[{n}] Title: {_one_line(p.title, 'untitled')} | "
            f"Outlet: {_one_line(p.source, 'unknown outlet')} | "
            f"Date: {_one_line(p.published, 'undated')}"
        )
        # The text is fenced by triple quotes; a passage must not be able to close the fence.
        body = p.text.strip().replace('"""', '"')
        blocks.append(f'{head}\n"""\n{body}\n"""')
    return "\n\n".join(blocks)


def _format_history(history: Sequence[Turn]) -> str:
    """Earlier turns as text; old ``[n]`` markers are dropped since they name other passages."""
    lines = []
    for turn in history:
        answer = " ".join(_MARKER.sub("", turn.answer).split())
        if len(answer) > _HISTORY_ANSWER_CHARS:
            answer = answer[:_HISTORY_ANSWER_CHARS].rstrip() + "…"
        lines.append(f"User: {' '.join(turn.question.split())}\nAssistant: {answer}")
    return "\n".join(lines)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__


class LLMAnswerer:
    """Writes cited answers with a chat model chosen by an ``init_chat_model`` spec.

    Construction is cheap: the model is built on first use (or by :meth:`ensure_model`),
    unless ``model`` (any LangChain chat model, e.g. a fake in tests) is given.
    """

    def __init__(
        self,
        spec: str,
        *,
        base_url: str | None = None,
        timeout: float = 20.0,
        temperature: float = 0.0,
        model: Any = None,
    ) -> None:
        """Remember the settings; nothing is imported or connected here."""
        if timeout <= 0:
            raise ConfigError(f"LLM timeout must be positive, got {timeout}")
        self.spec = spec
        self.base_url = base_url
        self.timeout = float(timeout)
        self.temperature = temperature
        self._model = model
        self._chain: Any = None
        self._lock = threading.Lock()

    def ensure_model(self) -> None:
        """Build the chat model now; raises :class:`ConfigError` if the spec is unusable."""
        self._get_chain()

    def _build_model(self) -> Any:
        from langchain.chat_models import init_chat_model

        spec = (self.spec or "").strip()
        if not spec:
            raise ConfigError("no LLM configured: set answer.llm, e.g. 'openai:gpt-4o-mini'")
        kwargs: dict[str, Any] = {"timeout": self.timeout, "temperature": self.temperature}
        if self.base_url:
            kwargs["base_url"] = self.base_url
            # Local OpenAI-compatible servers ignore the key, but the client insists on one.
            if spec.startswith("openai:") and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = "not-needed"
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

    def _get_chain(self) -> Any:
        with self._lock:
            if self._chain is None:
                from langchain_core.output_parsers import StrOutputParser
                from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

                if self._model is None:
                    self._model = self._build_model()
                # Messages arrive already rendered, so braces in passages are never parsed.
                prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("messages")])
                self._chain = prompt | self._model | StrOutputParser()
            return self._chain

    def _run(self, system: str | None, user: str, on_token: Callable[[str], None] | None) -> str:
        """The model's reply, streamed to ``on_token`` if given; bounded by the timeout.

        ``on_token`` is called on the caller's thread, never after this returns.
        """
        chain = self._get_chain()
        messages = [("system", system)] if system else []
        inputs = {"messages": [*messages, ("human", user)]}
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        cancelled = threading.Event()

        def work() -> None:
            try:
                if on_token is None:
                    events.put(("done", chain.invoke(inputs)))
                    return
                for piece in chain.stream(inputs):
                    if cancelled.is_set():
                        return
                    if piece:
                        events.put(("token", piece))
                events.put(("done", None))
            except BaseException as exc:  # re-raised, or mapped, on the caller's thread
                events.put(("error", exc))

        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(work,), name="dateline-llm")
        # A hung provider call cannot be interrupted; a daemon thread at least never blocks exit.
        worker.daemon = True
        deadline = time.monotonic() + self.timeout
        timeout_reason = f"llm timeout after {self.timeout:g}s"
        pieces: list[str] = []
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
                    on_token(value)
                elif kind == "done":
                    return value if on_token is None else "".join(pieces)
                elif _is_timeout(value):
                    raise AnswerFallback(timeout_reason) from value
                else:
                    log.warning("LLM call failed: %s", type(value).__name__)
                    log.debug("LLM error detail", exc_info=value)
                    raise AnswerFallback(f"llm error: {type(value).__name__}") from value
        finally:
            cancelled.set()

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        on_token: Callable[[str], None] | None = None,
    ) -> ChainAnswer:
        """Answer ``question`` from ``passages`` (shown as ``[1]..[k]``), citing every claim.

        Streams raw reply pieces to ``on_token`` when given (they may still contain markers
        that the returned text drops). Raises :class:`AnswerFallback` on a model error, a
        timeout, or a reply without a valid citation; :class:`ConfigError` if the model
        cannot be built.
        """
        if not passages:
            return ChainAnswer(text=ABSTAIN_PHRASE, cited=[], raw="", abstained=True)
        system = load_prompt("answer_system").render(abstain_phrase=ABSTAIN_PHRASE)
        user = load_prompt("answer_user").render(
            passages=format_passages(passages),
            history=_format_history(history) or "(none)",
            question=" ".join(question.split()),
        )
        raw = self._run(system, user, on_token)
        text, cited, invalid = parse_citations(raw, len(passages))
        if is_abstain(text) or (not cited and _normalise(ABSTAIN_PHRASE) in _normalise(text)):
            return ChainAnswer(
                text=ABSTAIN_PHRASE, cited=[], raw=raw, invalid=invalid, abstained=True
            )
        if not cited:
            raise AnswerFallback("no valid citation", raw=raw)
        return ChainAnswer(text=text, cited=cited, raw=raw, invalid=invalid)

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """``question`` rewritten to stand alone given ``history``; unchanged on any LLM failure.

        Without history the question is returned as is, without calling the model.
        """
        if not history:
            return question
        user = load_prompt("condense").render(
            history=_format_history(history), question=" ".join(question.split())
        )
        try:
            raw = self._run(None, user, None)
        except AnswerFallback as exc:
            log.info("condense fell back to the original question: %s", exc.reason)
            return question
        line = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I)
        line = line.strip(" \"'`*")
        return line or question
