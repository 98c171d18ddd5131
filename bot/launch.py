"""The ``dateline`` console script.

Before the command line is parsed (importing typer, pydantic and the settings takes a
third of a second), a one-shot question (``ask``, ``search``) starts loading its encoder
on another thread and turns off the cyclic garbage collector: the imports make
hundreds of thousands of objects, and the collections they trigger cost ~0.1 s of a
process that exits a second later. The command line itself (``bot.cli``) decides
everything else; a wrong guess here costs only that work.
"""

from __future__ import annotations

import gc
import sys

ONE_SHOT_COMMANDS = frozenset({"ask", "search"})
# The global options that take a value (bot.cli.main_options).
_VALUED_OPTIONS = frozenset({"--home", "--chroma-url"})


def one_shot_command(argv: list[str]) -> str | None:
    """The one-shot command ``argv`` (without the program name) runs, or None.

    None also for ``--help`` anywhere, which answers nothing.
    """
    if "--help" in argv:
        return None
    args = iter(argv)
    for arg in args:
        if arg in _VALUED_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in ONE_SHOT_COMMANDS else None
    return None


def main() -> None:
    """Console-script entry point: ``bot.cli.main`` after the one-shot head start."""
    if one_shot_command(sys.argv[1:]):
        gc.disable()
        from bot import warm_encoder

        warm_encoder.start_early(one_shot=True)
    from bot.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
