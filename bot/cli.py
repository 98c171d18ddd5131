"""The ``dateline`` command line. Heavy libraries load inside commands, so ``--help`` is instant."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from retrieval import formats

app = typer.Typer(
    help="Dateline: answers questions from news articles, with numbered citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it with rich imports ~0.1-0.4 s of modules before any
    # output, and `dateline --help` should be instant.
    rich_markup_mode=None,
)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="Data directory of the index (env DATELINE_HOME).", show_default=False
    ),
]


NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The day the question is asked (YYYY-MM-DD; env DATELINE_NOW): later articles "
        "are ignored, 'latest' and 'last week' are read against it. Default: today.",
        show_default=False,
    ),
]


def _quiet_libraries() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@app.callback()
def main_options(
    ctx: typer.Context,
    home: HomeOpt = None,
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Use a `chroma run` server (env DATELINE_CHROMA_URL)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Global options, applied before any command."""
    _quiet_libraries()
    ctx.obj = {"home": home, "chroma_url": chroma_url, "verbose": verbose}


def _settings(ctx: typer.Context, **overrides):
    from pydantic import ValidationError

    from config import load_settings

    obj = ctx.obj or {}
    try:
        settings = load_settings(
            home=obj.get("home"), chroma_url=obj.get("chroma_url"), **overrides
        )
    except ValidationError as exc:
        _fail(f"invalid settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", 2)
    except Exception as exc:  # a malformed TOML file
        _fail(f"cannot read settings: {exc}", 2)
    level = logging.INFO if obj.get("verbose") else getattr(logging, settings.log_level, 30)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    from bot.redact import install_log_redaction

    install_log_redaction()
    for noisy in ("bm25s", "chromadb", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return settings


def _service(ctx: typer.Context, *, warm: bool = False, one_shot: bool = False, **overrides):
    """The service for a command. With ``warm`` (commands that encode a question) the
    question encoder starts loading on another thread at once, before the settings are
    read (a third of a second of imports), for the backend the shipped settings choose;
    settings that choose another get that one instead. ``bot.launch`` may have started
    it already, before the command line was parsed.

    ``one_shot`` is for a command that answers one question and exits (``ask``,
    ``search``): its encoder starts faster at a small cost per encode, and the process
    skips the interpreter's teardown when it is done (see ``main``).
    """
    from bot import warm_encoder

    if warm:
        warm_encoder.start_early(one_shot)
    settings = _settings(ctx, **overrides)
    encoder = None
    if warm:
        encoder = warm_encoder.take(settings.index.question_backend(), one_shot)
        encoder.batch_size = settings.index.batch_size
    from bot.service import DatelineService

    service = DatelineService(settings, query_embedder=encoder)
    global _one_shot_service
    _one_shot_service = service if one_shot else None
    return service


# The service of a one-shot command (see ``_service``), read by ``main`` once the command is
# done. Holding it until the process ends also spares freeing the encoder's session when the
# command returns (~40 ms), which ``main`` skips by ending the process (``_exit_now``).
_one_shot_service = None


def _fail(message: str, code: int = 1) -> None:
    from bot.redact import redact
    from bot.text import one_line

    typer.echo(f"error: {one_line(redact(message))}", err=True)
    raise typer.Exit(code)


def _run(fn):
    """Run a command body, turning Dateline's typed errors into one line and an exit code.

    Anything else is a bug: still one line (the traceback goes to the log with ``-v``).
    """
    from bot.errors import DatelineError, user_message
    from retrieval.errors import RetrievalError

    try:
        return fn()
    except (DatelineError, RetrievalError) as exc:
        _fail(user_message(exc), getattr(exc, "exit_code", 3))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        logging.getLogger("bot.cli").info("unexpected error", exc_info=exc)
        _fail(f"unexpected error ({type(exc).__name__}); run with -v to see the traceback", 1)


def _printable(text: str) -> str:
    """``text`` on one line: a newline or control character in a file name is escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@app.command(
    help=f"Index articles: files ({formats.describe()}) or http(s) URLs.\n\n"
    "A URL may be an article page or a feed (RSS, Atom or JSON Feed, told by its content)."
)
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders of articles, or http(s) URLs.")
    ],
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only ingest when the index is empty.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Index articles from files, folders or URLs (the help text lists the formats)."""
    service = _service(ctx)
    urls = [p for p in paths if _URL.match(p)]
    files = [Path(p) for p in paths if not _URL.match(p)]

    def body():
        if urls:
            if if_empty and not service.is_empty():
                return
            failed = 0
            if files:
                _print_report(service.ingest_paths(files), as_json)
            report = service.ingest_urls(urls)
            _print_report(report, as_json)
            failed = sum(1 for s in report.skipped if s.path in urls)
            if failed:
                _fail(f"{failed} of {len(urls)} URLs could not be read", 1)
            return
        if if_empty and not service.is_empty():
            if not as_json:
                typer.echo(f"The index at {service.store.location} already has articles.")
            return
        console = _stderr_console()
        if console.is_terminal and not as_json:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("reading", total=None)
                count = {"n": 0}

                def on_event(kind, detail):
                    if kind == "article":
                        count["n"] += 1
                    progress.update(task, description=f"{count['n']} articles · {detail[:60]}")

                report = service.ingest_paths(files, on_event)
        else:
            report = service.ingest_paths(files)
        _print_report(report, as_json)

    _run(body)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _print_report(report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json()))
        return
    typer.echo(report.summary())
    for d in report.duplicates:
        copied = _printable(d.of_title or d.of_id)
        typer.echo(f"  duplicate: {_printable(d.key)} copies {copied} ({d.similarity:.2f})")
    for s in report.skipped:
        typer.echo(f"  skipped: {_printable(s.path)}: {_printable(s.reason)}")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[
        int | None,
        typer.Option("--k", min=1, max=100, help="Passages to show (default: answer.k)."),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only this outlet (repeatable).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (YYYY-MM-DD).")] = None,
    now: NowOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ranked passages for a query (hybrid dense + BM25 search)."""
    service = _service(ctx, warm=True, one_shot=True, now=now)

    def body():
        from retrieval.search import Filters

        filters = Filters(tuple(source or ()), since, until)
        hits = service.search(query, k, filters)
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {
                            "passage_id": h.passage.id,
                            "article_id": h.passage.article_id,
                            "title": h.passage.title,
                            "source": h.passage.source,
                            "published": h.passage.published,
                            "url": h.passage.url,
                            "score": round(h.score, 4),
                            "dense": round(h.best_sentence_sim, 4),
                            "bm25": round(h.lexical, 4),
                            "text": h.passage.text,
                        }
                        for h in hits
                    ]
                )
            )
            return
        from rich.console import Console

        from bot.render import print_hits

        if not hits:
            typer.echo("No passages found (is the index empty? run `dateline ingest`).")
        print_hits(Console(), hits)

    _run(body)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question.")],
    k: Annotated[int | None, typer.Option("--k", min=1, max=50, help="Passages to use.")] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="Chat model, e.g. openai:gpt-4o-mini, or llamacpp:/path/to/model.gguf.",
        ),
    ] = None,
    now: NowOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer a question from the indexed articles, with numbered citations."""
    service = _service(ctx, warm=True, one_shot=True, now=now)

    def body():
        answer = service.ask(question, k=k, llm=llm)
        if as_json:
            typer.echo(json.dumps(answer.to_json(), ensure_ascii=False))
            return
        from rich.console import Console

        from bot.render import print_answer

        print_answer(Console(), answer)

    _run(body)


@app.command()
def sources(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indexed articles."""
    service = _service(ctx)

    def body():
        articles = service.articles()
        if as_json:
            typer.echo(json.dumps([a.__dict__ for a in articles]))
            return
        from rich.console import Console

        from bot.render import print_articles

        print_articles(Console(), articles)

    _run(body)


@app.command()
def remove(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Article id (see `sources`) or file path.")],
) -> None:
    """Remove an article (and all its passages) from the index."""
    service = _service(ctx)

    def body():
        removed = service.remove(ref)
        if not removed:
            _fail(f"no indexed article matches {ref!r} (see `dateline sources`)", 1)
        for a in removed:
            typer.echo(f"removed {a.id} {a.title or ''} ({a.passages} passages)")

    _run(body)


@app.command()
def reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the whole index."""
    service = _service(ctx)
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete every article in {service.store.location}?", abort=True)

    def body():
        service.reset()
        typer.echo("The index is empty.")

    _run(body)


@app.command()
def repl(
    ctx: typer.Context,
    llm: Annotated[
        str | None, typer.Option("--llm", help="Chat model spec (or llamacpp:/path/to/model.gguf).")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=50)] = None,
    now: NowOpt = None,
) -> None:
    """Chat with the articles (line editing, history, /help). Reads stdin when piped."""
    service = _service(ctx, warm=True, now=now)

    def body():
        from bot.repl import Repl

        Repl(service, llm=llm, k=k).run()

    _run(body)


@app.command("eval")
def evaluate(
    ctx: typer.Context,
    questions: Annotated[Path, typer.Argument(help="questions.jsonl (id, question, answers).")],
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Articles to index (default: beside the file).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write predictions here.")] = None,
    llm: Annotated[
        str | None, typer.Option("--llm", help="Chat model spec (or llamacpp:/path/to/model.gguf).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the first N questions.")
    ] = None,
    now: NowOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
) -> None:
    """Measure retrieval and answers on a question set, in a fresh index unless --home.

    Newsroom-style questions are each asked on their own ``asked_on`` day; ``--now`` is
    the day for questions without one.
    """
    obj = ctx.obj or {}

    def body():
        from bot.evaluate import run_eval

        corpus_dir = corpus or questions.parent / "corpus"
        settings = _settings(ctx, now=now)
        metrics = run_eval(
            settings,
            questions,
            corpus_dir,
            out=out,
            llm=llm,
            limit=limit,
            fresh=obj.get("home") is None and not os.environ.get("DATELINE_HOME"),
            progress=not as_json,
        )
        if as_json:
            typer.echo(json.dumps(metrics))
        else:
            from bot.evaluate import print_metrics

            print_metrics(metrics)

    _run(body)


feeds_app = typer.Typer(
    help="Feeds followed by `dateline watch` and the Discord bot.", rich_markup_mode=None
)
app.add_typer(feeds_app, name="feeds")


def _feed_store(ctx: typer.Context):
    from bot.poller import feed_store

    return feed_store(_settings(ctx))


@feeds_app.command("add")
def feeds_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="URL of an RSS, Atom or JSON feed.")],
    every: Annotated[
        str | None,
        typer.Option("--every", help="Polling interval, e.g. 15m, 1h (default: config)."),
    ] = None,
) -> None:
    """Follow a feed (stored in the data directory)."""

    def body():
        from bot.errors import ConfigError
        from bot.feeds import check_feed_url, format_duration, parse_duration
        from bot.web import make_fetcher
        from retrieval.fetch import RefusedURLError

        settings = _settings(ctx)
        store = _feed_store(ctx)
        checked = check_feed_url(url)
        try:
            make_fetcher(settings).check_url(checked)
        except RefusedURLError as exc:
            raise ConfigError(str(exc)) from None
        feed = store.add(checked, parse_duration(every) if every else None)
        typer.echo(f"following {feed.url} every {format_duration(feed.every)}")

    _run(body)


@feeds_app.command("list")
def feeds_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The followed feeds, with their last poll."""

    def body():
        from bot.feeds import format_duration
        from bot.poller import PollState

        settings = _settings(ctx)
        feeds = _feed_store(ctx).list()
        state = PollState(settings.home).load()
        rows = [{**f.to_json(), **_feed_status(state.get(f.url, {}))} for f in feeds]
        if as_json:
            typer.echo(json.dumps(rows))
            return
        if not feeds:
            typer.echo("No feeds followed; add one with `dateline feeds add URL`.")
        for f, row in zip(feeds, rows, strict=True):
            if row["last_error"]:
                status = f"error: {row['last_error']}"
            else:
                status = "polled" if row["last_poll"] else "not polled yet"
            origin = " (config)" if f.origin == "config" else ""
            typer.echo(f"{f.url}  every {format_duration(f.every)}{origin}  {_printable(status)}")

    _run(body)


def _feed_status(state: dict) -> dict:
    from datetime import UTC, datetime

    def stamp(t):
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t else None

    return {
        "last_poll": stamp(state.get("last_poll")),
        "next_due": stamp(state.get("next_due")),
        "failures": state.get("failures", 0),
        "last_error": state.get("last_error"),
    }


@feeds_app.command("remove")
def feeds_remove(
    ctx: typer.Context, url: Annotated[str, typer.Argument(help="The feed's URL.")]
) -> None:
    """Stop following a feed (its articles stay indexed)."""

    def body():
        if not _feed_store(ctx).remove(url):
            _fail(f"not following {url} (see `dateline feeds list`)", 1)
        typer.echo(f"stopped following {url}")

    _run(body)


@app.command()
def watch(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every feed once and exit (non-zero on errors).")
    ] = False,
) -> None:
    """Poll the followed feeds when due and index what is new or changed."""
    service = _service(ctx)

    def body():
        from bot.poller import Poller

        poller = Poller(service, service.settings)
        if once:
            _watch_once(poller)
        else:
            _watch_forever(poller)

    _run(body)


def _watch_once(poller) -> None:
    if not poller.feeds.list():
        typer.echo("No feeds followed; add one with `dateline feeds add URL`.", err=True)
        return
    report = poller.poll()
    typer.echo(report.summary())
    for result in report.results:
        for note in result.notes[:3]:
            typer.echo(f"  note: {_printable(note)}")
    for result in report.failed:
        typer.echo(f"  failed: {_printable(result.line())}")
    if report.failed:
        raise typer.Exit(1)


def _watch_forever(poller) -> None:
    import threading
    import time

    console = _stderr_console()
    stop = threading.Event()
    totals = {"new": 0, "errors": 0, "polls": 0}

    def status_text() -> str:
        feeds = poller.feeds.list()
        upcoming = poller.next_due()
        wait = max(0, int((upcoming or time.time()) - time.time()))
        due = len(poller.due())
        return (
            f"{len(feeds)} feeds, {due} due, next poll in {wait} s · "
            f"{totals['new']} new articles · {totals['errors']} errors"
        )

    def on_report(report) -> None:
        totals["polls"] += 1
        totals["new"] += report.added
        totals["errors"] += len(report.failed)
        line = report.summary()
        for result in report.failed:
            line += f"\n  failed: {_printable(result.line())}"
        if console.is_terminal:
            console.print(line, highlight=False)
        else:
            typer.echo(line)

    def loop(update) -> None:
        while not stop.is_set():
            due = poller.due()
            if due:
                update(f"polling {len(due)} feeds...")
                on_report(poller.poll(due))
            update(status_text())
            stop.wait(1.0)

    try:
        if console.is_terminal:
            with console.status(status_text()) as live:
                loop(lambda text: live.update(text))
        else:
            loop(lambda text: None)
    except KeyboardInterrupt:  # the way to stop watching: not an error
        typer.echo(f"stopped after {totals['polls']} polls, {totals['new']} new articles", err=True)


@app.command()
def discord(ctx: typer.Context) -> None:
    """Run the Discord bot (token from DISCORD_TOKEN)."""
    service = _service(ctx)

    def body():
        from bot.discord_bot import run_discord

        run_discord(service.settings, service)

    _run(body)


@app.command("config")
def show_config(ctx: typer.Context) -> None:
    """Show the effective settings and where the user file is read from."""
    from config import user_config_path

    settings = _settings(ctx)
    typer.echo(f"# user file: {user_config_path()}")
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        if _one_shot_service is not None and "chromadb" not in sys.modules:
            _exit_now(exc.code)
        raise


def _exit_now(code) -> None:
    """End the process without the interpreter's teardown, once the output is flushed.

    Tearing down the modules a question loads (onnxruntime, numpy, pydantic) takes
    0.15-0.25 s, a fifth of a one-shot ``ask``. Only for commands that wrote nothing but
    their output and closed files; not once Chroma was opened, whose client may still
    hold work for its own exit handlers. This also ends the encoder's warm-up thread if
    the command failed before needing it.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(status)


if __name__ == "__main__":
    main()
