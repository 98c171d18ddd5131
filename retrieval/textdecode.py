"""Turn the bytes of a text file into clean Unicode: encoding detection and mojibake repair."""

from __future__ import annotations

import codecs
import os
import re

from retrieval.errors import RetrievalError

# How much of a file is inspected to decide whether it is binary or UTF-16.
SNIFF_BYTES = 8192

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_BINARY_MAGIC = (
    b"%PDF-",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x7fELF",
    b"\xd0\xcf\x11\xe0",  # legacy MS Office
    b"SQLite format 3",
)

# Control bytes that plain text does not contain (everything below 0x20 but \t \n \f \r and ESC).
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}

# Non-ASCII characters besides À-ÿ that text in a Western code page plausibly contains.
_WESTERN_EXTRA = frozenset("ŒœŠšŽžŸƒ“”‘’‚„–—…€•«»°£¥©®™½¼¾·§¶¡¿ªº¢\u00a0")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


class TextDecodeError(RetrievalError):
    """Bytes that are not text worth indexing; ``reason`` says why ("empty file", "binary file")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def bom_encoding(data: bytes) -> tuple[str | None, int]:
    """Return the encoding named by a byte-order mark at the start of ``data`` and its length."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None, 0


def guess_utf16(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16 by its pattern of zero bytes; return the codec name or None."""
    sample = data[:SNIFF_BYTES]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_zeros = even.count(0) / len(even)
    odd_zeros = odd.count(0) / len(odd)
    # Mostly-ASCII UTF-16 has a zero in every other byte and almost none in the others.
    if odd_zeros > 0.4 and even_zeros < 0.05:
        return "utf-16-le"
    if even_zeros > 0.4 and odd_zeros < 0.05:
        return "utf-16-be"
    return None


def looks_binary(data: bytes) -> bool:
    """Whether ``data`` (or its first few KB) is binary rather than text.

    NUL bytes or many control characters mean binary, unless the bytes are UTF-16/32
    (which a byte-order mark or the zero-byte pattern gives away).
    """
    sample = data[:SNIFF_BYTES]
    if not sample:
        return False
    if bom_encoding(sample)[0] is not None:
        return False
    if sample.startswith(_BINARY_MAGIC):
        return True
    if guess_utf16(sample):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte in _CONTROL)
    return controls / len(sample) > 0.05


def decode_bytes(data: bytes, *, fix: bool = True, hint: str | None = None) -> str:
    """Decode the bytes of a text file to ``str``.

    Tries, in order: a byte-order mark (UTF-8/16/32), BOM-less UTF-16, strict UTF-8, the
    ``hint`` encoding (e.g. an HTML ``<meta charset>``), then charset_normalizer's guess
    with cp1252/latin-1 as the last resort. With ``fix`` the result is repaired with
    ``ftfy.fix_text`` (mojibake such as "CafÃ©" becomes "Café"; curly quotes are kept).

    Raises TextDecodeError with reason "empty file" or "binary file".
    """
    if not data or data.isspace():
        raise TextDecodeError("empty file")
    encoding, skip = bom_encoding(data)
    if encoding is None:
        encoding = guess_utf16(data)
    if encoding is not None:
        text = data[skip:].decode(encoding, errors="replace")
    elif looks_binary(data):
        raise TextDecodeError("binary file")
    else:
        text = _decode_8bit(data, hint)
    text = _ZERO_WIDTH.sub("", text)
    if fix:
        text = fix_text(text)
    if not text.strip():
        raise TextDecodeError("empty file")
    return text


def fix_text(text: str) -> str:
    """Repair mojibake and stray control characters with ftfy, keeping quotes and widths."""
    if text.isascii() and "&" not in text:
        # Nothing for ftfy to repair but control characters, and ftfy is slow on big files.
        return _ASCII_CONTROL.sub("", text)
    import ftfy

    config = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False)
    return ftfy.fix_text(text, config)


def read_text(path: str | os.PathLike) -> str:
    """Read a text file and return its decoded, repaired text (see ``decode_bytes``).

    Raises OSError when the file cannot be read, TextDecodeError when it is empty or binary.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    return decode_bytes(data)


def _decode_8bit(data: bytes, hint: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if hint:
        try:
            return data.decode(_canonical(hint))
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode(_guess_encoding(data), errors="replace")


def _guess_encoding(data: bytes) -> str:
    """Pick the 8-bit encoding of ``data``, preferring cp1252 for plausible Western text.

    charset_normalizer is unreliable on short text and cannot tell cp1252 from cp1250 on
    French or German. Text whose cp1252 decoding holds only Latin letters and typographic
    punctuation, and mostly ASCII letters (Cyrillic or Greek decoded as cp1252 also looks
    like Latin letters, but almost none are ASCII), is therefore read as cp1252.
    """
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _plausibly_western(western):
        return "cp1252"
    import charset_normalizer

    best = charset_normalizer.from_bytes(data[: 1 << 20]).best()
    if best is not None:
        return best.encoding
    return "cp1252" if western is not None else "latin-1"


def _plausibly_western(text: str) -> bool:
    sample = text[:100_000]
    if not all(_is_western(ch) for ch in set(sample) if ord(ch) > 127):
        return False
    letters = sum(1 for ch in sample if ch.isalpha())
    foreign = sum(1 for ch in sample if ord(ch) > 127 and ch.isalpha())
    return foreign <= 0.3 * letters


def _is_western(ch: str) -> bool:
    return ("\u00c0" <= ch <= "\u00ff" and ch not in "×÷") or ch in _WESTERN_EXTRA


def _canonical(name: str) -> str:
    name = name.strip().lower()
    # Browsers read these labels as cp1252, and so do we.
    if name in {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"}:
        return "cp1252"
    return codecs.lookup(name).name
