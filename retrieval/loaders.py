"""Read news articles from files and folders, in every format of ``retrieval.formats``.

``iter_articles`` yields an ``Article`` for every article found and a ``Skipped`` (with a
reason a user can act on) for every input that gives none; it never raises for a bad file.
``read_bytes`` does the same for the content of one file that is not on disk (an upload).

Keys: a file holding one article is keyed by its absolute, resolved path. A file holding
several is keyed per record as ``{path}#{n}``, where ``n`` is the 1-based line number in a
JSONL file and the 1-based position of the record in a JSON array or of the entry in a feed.
Positions rather than URLs keep keys unique (a URL can repeat) and stable when the same file
is read again. A skipped JSONL line is reported as ``{path}:{lineno}``, a skipped JSON
record or feed entry as ``{path}#{n}``.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePath
from typing import BinaryIO

from retrieval.formats import format_for_content, format_for_suffix
from retrieval.models import Article, Skipped
from retrieval.skip_reasons import exc_reason, os_reason
from retrieval.textdecode import looks_binary

# Formats that are read whole are refused above this size; streamed ones have no limit.
MAX_FILE_BYTES = 200 * 1024 * 1024


def iter_articles(paths: Iterable[str | os.PathLike]) -> Iterator[Article | Skipped]:
    """Yield the articles in ``paths`` (files or folders), and a ``Skipped`` for each input
    that gives no article.

    Folders are walked recursively in name order, skipping hidden entries and following
    symlinks without looping; a file reached twice is read once. Only KeyboardInterrupt
    (and other non-``Exception`` errors) escape.
    """
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for raw in paths:
        yield from _walk(Path(raw), seen_dirs, seen_files)


def read_bytes(data: bytes, name: str) -> Iterator[Article | Skipped]:
    """Yield the articles in ``data``, the content of a file called ``name``, as
    ``iter_articles`` would for that file: the suffix of ``name`` picks the format, and keys
    and skip reasons start with ``name``. Never raises for bad content."""
    try:
        yield from _load(
            name,
            PurePath(name).suffix.lower(),
            len(data),
            read=lambda: data,
            stream=lambda: io.BytesIO(data),
        )
    except Exception as exc:  # a bug in a parser must not reach the caller
        yield Skipped(name, exc_reason(exc))


def _walk(path: Path, seen_dirs: set[str], seen_files: set[str]) -> Iterator[Article | Skipped]:
    shown = os.path.abspath(path)
    try:
        info = path.stat()
        resolved = str(path.resolve())
    except (OSError, RuntimeError) as exc:  # Path.resolve raises RuntimeError on a symlink loop
        yield Skipped(shown, os_reason(exc))
        return
    if stat.S_ISDIR(info.st_mode):
        if resolved in seen_dirs:
            return  # a symlink loop, or a folder given twice
        seen_dirs.add(resolved)
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            yield Skipped(shown, os_reason(exc))
            return
        for name in names:
            if not name.startswith("."):
                yield from _walk(path / name, seen_dirs, seen_files)
        return
    if not stat.S_ISREG(info.st_mode):
        yield Skipped(shown, "not a regular file")
        return
    if resolved in seen_files:
        return
    seen_files.add(resolved)
    try:
        target = Path(resolved)
        # A symlink is read as what it points to, unless the target's name has no extension.
        suffix = (target.suffix or path.suffix).lower()
        yield from _load(
            resolved,
            suffix,
            info.st_size,
            read=lambda: _read_bytes(target),
            stream=lambda: open(target, "rb"),
        )
    except Exception as exc:  # a bug in a parser must not stop the rest of the ingest
        yield Skipped(resolved, exc_reason(exc))


def _load(
    name: str,
    suffix: str,
    size: int,
    *,
    read: Callable[[], bytes],
    stream: Callable[[], BinaryIO],
) -> Iterator[Article | Skipped]:
    """Read one file of ``size`` bytes whose format ``suffix`` names (or its content shows,
    when it has no suffix), with ``read`` (all of it) or ``stream`` (an open handle)."""
    fmt = format_for_suffix(suffix) if suffix else None
    if suffix and fmt is None:
        yield Skipped(name, f"unsupported file type {suffix}")
        return
    if size == 0:
        yield Skipped(name, "empty file")
        return
    if fmt is not None and fmt.read_lines is not None:
        with stream() as handle:
            yield from fmt.read_lines(name, handle)
        return
    if size > MAX_FILE_BYTES:
        mb = MAX_FILE_BYTES // (1024 * 1024)
        yield Skipped(name, f"file too large ({size // (1024 * 1024)} MB > {mb} MB)")
        return
    data = read()
    if data.isspace():
        yield Skipped(name, "empty file")
        return
    fmt = fmt or format_for_content(data)
    if not fmt.binary and looks_binary(data):
        yield Skipped(name, "binary file")
        return
    yield from fmt.read(name, data)


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
