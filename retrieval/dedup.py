"""Article identity and near-duplicate detection (syndicated copies)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Case-, accent-form- and whitespace-insensitive form of a text."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def content_hash(text: str) -> str:
    """Hash of the exact indexed text (changes whenever a passage offset could)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id(text: str, url: str | None) -> str:
    """A stable id: from the URL when there is one, else from the normalized content."""
    basis = f"url:{url.strip()}" if url and url.strip() else f"text:{normalize(text)}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def shingles(text: str, size: int = 5) -> set[int]:
    """Hashed word ``size``-grams of the normalized text."""
    words = normalize(text).split()
    if len(words) < size:
        return {hash(" ".join(words))} if words else set()
    return {hash(" ".join(words[i : i + size])) for i in range(len(words) - size + 1)}


def jaccard(a: set[int], b: set[int]) -> float:
    """Jaccard similarity of two shingle sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
