"""The interactive chat behind ``dateline repl``.

:class:`Repl` reads lines, answers questions through the chat core (:class:`~bot.chat.Chat`
over :class:`~bot.service.DatelineService`), whose memory of the session gives follow-ups such
as "Who did he meet?" their history, and understands a few ``/commands``. Its two seams are
``input_fn`` (where lines come from) and ``console`` (a rich Console output goes to), so tests
can drive it without a terminal.

Input, when no ``input_fn`` is given:

* stdin and stdout are terminals: a prompt_toolkit session with line editing, command
  completion and a persistent history in ``<home>/repl_history``;
* stdin is a terminal, stdout is not: plain ``input()``, the prompt written to stderr;
* stdin is piped: lines are read from stdin without a banner or prompt, each non-empty line
  is answered, blocks of output are separated by a blank line, and end of input exits.

Streaming (LLM mode, on a terminal): tokens are shown, dimmed, as they arrive, in a
transient live region. The chain checks the reply afterwards (it may drop invented ``[n]``
markers, uncited or unsupported sentences, or fall back to an extractive answer), so when
the answer is ready the draft is erased and the answer is printed once, in full, with its
sources (and, after a fallback, a note saying why). Output that is not a terminal gets only
the final answers. Log records emitted while an answer is being written are held back and
written after it, so a warning never lands inside an answer.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.answer import Answer, Turn
from bot.chat import Chat
from bot.errors import DatelineError, user_message
from bot.text import one_line
from retrieval.errors import RetrievalError

if TYPE_CHECKING:
    from bot.service import DatelineService

__all__ = ["COMMANDS", "MAX_K", "PROMPT", "Repl"]

log = logging.getLogger(__name__)

PROMPT = "dateline> "
MAX_K = 50
HISTORY_FILE = "repl_history"

SESSION = "repl"  # the one conversation of a REPL, in its chat core's memory

# Usage and description of every command, in the order /help lists them.
COMMANDS: dict[str, str] = {
    "/help": "list these commands",
    "/sources": "list the indexed articles",
    "/reset": "forget the conversation, so the next question starts afresh",
    "/k [N]": f"show or set the passages used per answer (1-{MAX_K})",
    "/mode [extractive | llm SPEC]": "show or switch the answer mode (SPEC: openai:gpt-4o-mini)",
    "/quit, /exit": "leave (Ctrl-D works too)",
}
_COMMAND_NAMES = ("/help", "/sources", "/reset", "/k", "/mode", "/quit", "/exit")


def _read_stdin_line(prompt: str = "") -> str:
    """One line of piped stdin, without its newline; EOFError at the end. No prompt is shown."""
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def _input_prompt_on_stderr(prompt: str) -> str:
    """``input()`` with the prompt on stderr, so a redirected stdout holds only answers."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return input()


class _LiveDraft:
    """The ``on_token`` callback on a terminal: the streamed draft, in a transient live region.

    :meth:`close` erases it; the checked answer is then printed in its place.
    """

    _REFRESH_SECONDS = 0.05

    def __init__(self, console: Any, on_first: Callable[[], None] | None = None) -> None:
        self.console = console
        self.pieces: list[str] = []
        self._on_first = on_first
        self._live: Any = None
        self._shown_at = 0.0

    def __call__(self, token: str) -> None:
        from rich.text import Text

        if not self.pieces:
            if self._on_first is not None:
                self._on_first()
            from rich.live import Live

            self._live = Live(
                Text(""),
                console=self.console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self.pieces.append(token)
        now = time.monotonic()
        refresh = now - self._shown_at >= self._REFRESH_SECONDS
        if refresh:
            self._shown_at = now
        self._live.update(Text(self.text, style="dim"), refresh=refresh)

    @property
    def text(self) -> str:
        """Everything streamed so far."""
        return "".join(self.pieces)

    def close(self) -> None:
        """Erase the draft (a no-op if nothing was streamed)."""
        if self._live is not None:
            self._live.stop()
            self._live = None


class _HeldLogs(logging.Handler):
    """Holds the root logger's records while an answer is written, then hands them on."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self._saved: list[logging.Handler] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record for later."""
        self.records.append(record)

    def __enter__(self) -> _HeldLogs:
        root = logging.getLogger()
        self._saved = list(root.handlers)
        if self._saved:  # without handlers there is nothing to interleave (or to hold for)
            root.handlers = [self]
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        if self._saved:
            root.handlers = self._saved
        for record in self.records:
            for handler in self._saved:
                if record.levelno >= handler.level:
                    handler.handle(record)
        self.records.clear()


class Repl:
    """A read-answer loop over a :class:`DatelineService`; :meth:`run` returns the exit code.

    ``llm`` is a chat model spec (None: the configured one, if any; "" forces extractive),
    ``k`` the passages per answer (None: the configured ``answer.k``). ``input_fn(prompt)``
    returns a line, raises EOFError at the end of input and KeyboardInterrupt to cancel a
    line. ``interactive`` (default: True when ``input_fn`` is given or stdin is a terminal)
    decides whether a banner and prompt are shown.
    """

    def __init__(
        self,
        service: DatelineService,
        *,
        llm: str | None = None,
        k: int | None = None,
        input_fn: Callable[[str], str] | None = None,
        console: Any = None,
        interactive: bool | None = None,
    ) -> None:
        """Set up the loop; raises ConfigError for an LLM spec that cannot work."""
        from bot.service import check_llm_spec

        self.service = service
        settings = service.settings.answer
        self.llm: str | None = (llm if llm is not None else settings.llm) or None
        if self.llm:
            check_llm_spec(self.llm)
        self.k: int = k or settings.k
        self.chat = Chat(service, history_turns=settings.history_turns)
        self.last_answer: Answer | None = None
        if interactive is None:
            interactive = input_fn is not None or sys.stdin.isatty()
        self.interactive = interactive
        self.console = console if console is not None else self._default_console()
        self._input = input_fn if input_fn is not None else self._default_input()
        self._blocks = 0

    # -- seams ----------------------------------------------------------------------------

    @staticmethod
    def _default_console() -> Any:
        from rich.console import Console

        # Piped output is not wrapped at 80 columns: one answer, one line.
        return Console(highlight=False, soft_wrap=not sys.stdout.isatty())

    def _default_input(self) -> Callable[[str], str]:
        if not sys.stdin.isatty():
            return _read_stdin_line
        if not sys.stdout.isatty():
            return _input_prompt_on_stderr
        return self._prompt_session().prompt

    def _prompt_session(self) -> Any:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.completion import Completer, Completion
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        class CommandCompleter(Completer):
            """Completes /command names at the start of a line, nothing else."""

            def get_completions(self, document, complete_event):
                text = document.text_before_cursor
                if text.startswith("/") and " " not in text:
                    for name in _COMMAND_NAMES:
                        if name.startswith(text.lower()):
                            yield Completion(name, start_position=-len(text))

        home = self.service.settings.home
        try:
            home.mkdir(parents=True, exist_ok=True)
            path = home / HISTORY_FILE
            path.touch(exist_ok=True)
            history = FileHistory(str(path))
        except OSError as exc:
            log.warning("no persistent REPL history (%s)", exc)
            history = InMemoryHistory()
        return PromptSession(
            history=history,
            auto_suggest=AutoSuggestFromHistory(),
            completer=CommandCompleter(),
            complete_while_typing=True,
        )

    # -- the loop -------------------------------------------------------------------------

    @property
    def history(self) -> list[Turn]:
        """The conversation so far (answered turns, oldest first) that follow-ups lean on."""
        return self.chat.history(SESSION)

    @property
    def mode(self) -> str:
        """The answer mode: ``extractive`` or ``llm:<spec>``."""
        return f"llm:{self.llm}" if self.llm else "extractive"

    def run(self) -> int:
        """Read and answer lines until end of input or /quit; returns the exit code (0)."""
        if self.interactive:
            self._banner()
        while True:
            try:
                line = self._input(PROMPT)
            except EOFError:
                break
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                continue  # Ctrl-C drops the line being typed
            if not self.handle(line):
                break
        return 0

    def handle(self, line: str) -> bool:
        """Act on one line: a /command or a question. Returns False when the user quits.

        Errors never escape: Dateline's own errors become one ``error:`` line, anything
        else a one-line "unexpected error" with the traceback in the log.
        """
        text = line.strip()
        if not text:
            return True
        try:
            if text.startswith("/"):
                return self._command(text)
            self._ask(text)
        except KeyboardInterrupt:
            if not self.interactive:
                raise
            self._note("(cancelled)")
        except (DatelineError, RetrievalError) as exc:
            self._error(user_message(exc))
        except Exception as exc:
            log.exception("REPL: unexpected error on %r", text[:200])
            self._error(user_message(exc))
        return True

    # -- answering ------------------------------------------------------------------------

    def _ask(self, question: str) -> None:
        from bot.render import print_answer

        self._begin_block()
        status = None
        if self.interactive and self.console.is_terminal:
            status = self.console.status("searching the articles…", spinner="dots")
            status.start()

        def first_token() -> None:
            if status is not None:
                status.stop()

        # Only a terminal can take a draft back; elsewhere the checked answer is all.
        draft = (
            _LiveDraft(self.console, first_token) if self.llm and self.console.is_terminal else None
        )
        with _HeldLogs():
            try:
                answer = self.chat.ask(
                    question,
                    SESSION,
                    k=self.k,
                    llm=self.llm or "",  # "" keeps a configured LLM out of extractive mode
                    on_token=draft,
                )
            finally:
                if status is not None:
                    status.stop()
                if draft is not None:
                    draft.close()
            print_answer(self.console, answer)
            if self.interactive:
                self.console.print()
        self.last_answer = answer

    # -- commands -------------------------------------------------------------------------

    def _command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("/quit", "/exit"):
            return False
        self._begin_block()
        handlers: dict[str, Callable[[str], None]] = {
            "/help": self._help,
            "/sources": self._sources,
            "/reset": self._reset,
            "/k": self._set_k,
            "/mode": self._set_mode,
        }
        handler = handlers.get(name)
        if handler is None:
            self._say(f"unknown command {name}; /help lists the commands", style="yellow")
        else:
            handler(arg)
        return True

    def _help(self, _arg: str) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for usage, description in COMMANDS.items():
            table.add_row(Text(usage), Text(description))  # Text: "[N]" is not markup
        self._say("Ask a question about the articles, or use a command:")
        self.console.print(table)

    def _sources(self, _arg: str) -> None:
        from bot.render import print_articles

        articles = self.service.articles()
        if not articles:
            self._say("The index is empty: add articles with `dateline ingest PATH`.")
            return
        print_articles(self.console, articles)

    def _reset(self, _arg: str) -> None:
        self.chat.forget(SESSION)
        self.last_answer = None
        self._say("Conversation forgotten; the next question starts afresh.")

    def _set_k(self, arg: str) -> None:
        if not arg:
            self._say(f"k = {self.k} passages per answer")
            return
        try:
            k = int(arg)
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_K:
            self._error(f"/k needs a whole number from 1 to {MAX_K}, got {arg[:40]!r}")
            return
        self.k = k
        self._say(f"k = {self.k} passages per answer")

    def _set_mode(self, arg: str) -> None:
        from bot.service import check_llm_spec

        words = arg.split()
        choice = words[0].lower() if words else ""
        if not words:
            pass
        elif choice == "extractive" and len(words) == 1:
            self.llm = None
        elif choice == "llm" and len(words) <= 2:
            spec = words[1] if len(words) == 2 else self.service.settings.answer.llm
            if not spec:
                self._error(
                    "no LLM configured: use /mode llm SPEC, e.g. /mode llm openai:gpt-4o-mini"
                )
                return
            check_llm_spec(spec)
            self.llm = spec
        else:
            self._error("usage: /mode, /mode extractive or /mode llm SPEC")
            return
        self._say(f"mode: {self.mode}")

    # -- output ---------------------------------------------------------------------------

    def _banner(self) -> None:
        try:
            count = len(self.service.articles())
        except (DatelineError, RetrievalError) as exc:
            self._error(user_message(exc))
            count = None
        except Exception:
            log.exception("REPL: cannot count the indexed articles")
            count = None
        if count == 0:
            where = "The index is empty: add articles with `dateline ingest PATH` first."
        elif count is None:
            where = "Dateline: ask about the indexed articles."
        else:
            where = f"Dateline: ask about {count} indexed article{'s' if count != 1 else ''}."
        self._say(where, style="bold")
        self._say(f"mode {self.mode}, k={self.k}. /help lists the commands, Ctrl-D quits.", "dim")

    def _begin_block(self) -> None:
        """Piped mode separates the output of consecutive lines with a blank line."""
        if not self.interactive and self._blocks:
            self.console.print()
        self._blocks += 1

    def _say(self, message: str, style: str | None = None) -> None:
        self.console.print(message, style=style, markup=False, highlight=False)

    def _note(self, message: str) -> None:
        self._say(message, style="dim")

    def _error(self, message: str) -> None:
        line = one_line(message)
        self.console.print(
            f"error: {line}", style="red", markup=False, highlight=False, soft_wrap=True
        )
