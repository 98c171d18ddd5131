"""Prompt templates shipped as package data, and the fixed abstain phrase.

Each template is a TOML file in this package with ``template`` (``str.format`` syntax,
literal braces doubled), ``variables`` (every placeholder, declared) and an optional
``description``. Files are read with :mod:`importlib.resources`, so an installed wheel works.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["ABSTAIN_PHRASE", "Prompt", "PromptError", "list_prompts", "load_prompt"]

_SUFFIX = ".toml"


class PromptError(ValueError):
    """A template file is malformed, or was rendered with the wrong variables."""


def _placeholders(template: str) -> set[str]:
    """Names of the ``{placeholders}`` in a ``str.format`` template."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptError(f"unbalanced braces: {exc}") from exc
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise PromptError(f"placeholder {{{field}}} is not a plain name")
        names.add(field)
    return names


@dataclass(frozen=True)
class Prompt:
    """A named template whose placeholders are exactly its declared ``variables``."""

    name: str
    template: str
    variables: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        found = _placeholders(self.template)
        declared = set(self.variables)
        if found != declared:
            raise PromptError(
                f"prompt {self.name!r}: undeclared placeholders {sorted(found - declared)}, "
                f"unused variables {sorted(declared - found)}"
            )

    def render(self, **values: object) -> str:
        """The template filled with ``values``; every declared variable, and only those."""
        missing = [v for v in self.variables if v not in values]
        unknown = sorted(set(values) - set(self.variables))
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name!r}: missing variables {missing}, unknown variables {unknown}"
            )
        return self.template.format(**{k: str(v) for k, v in values.items()})


def _files():
    return resources.files(__name__)


def list_prompts() -> list[str]:
    """Names of every template shipped in this package, sorted."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in _files().iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


@cache
def load_prompt(name: str) -> Prompt:
    """The template ``name`` (file ``<name>.toml``); raises :class:`PromptError` if unusable."""
    entry = _files().joinpath(name + _SUFFIX)
    if not name.isidentifier() or not entry.is_file():
        raise PromptError(f"no prompt named {name!r}; available: {', '.join(list_prompts())}")
    try:
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"prompt {name!r}: invalid TOML: {exc}") from exc
    template, variables = data.get("template"), data.get("variables")
    if not isinstance(template, str) or not template.strip():
        raise PromptError(f"prompt {name!r}: 'template' must be a non-empty string")
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise PromptError(f"prompt {name!r}: 'variables' must be a list of names")
    return Prompt(
        name=name,
        template=template.strip() + "\n",
        variables=tuple(variables),
        description=str(data.get("description", "")),
    )


ABSTAIN_PHRASE: str = _files().joinpath("abstain.txt").read_text(encoding="utf-8").strip()
"""The one reply used when the articles don't cover a question (prompt and code share it)."""
