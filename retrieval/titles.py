"""Article titles: a title line above the story, a title derived from the first sentence,
and the section labels and banners a page puts above the story."""

from __future__ import annotations

import re

from retrieval.bylines import LINK_LINE
from retrieval.datelines import parse_dateline
from retrieval.line_shapes import ENDS_SENTENCE

TITLE_WORDS = 12  # a derived title is cut after this many words
_MAX_TITLE_LINE_WORDS = 20
_HEADING = re.compile(r"^#{1,3}\s+(?P<text>.+?)\s*#*$")
_LABEL_WORDS = 5


def title_line(lines: list[str], index: int) -> str | None:
    """The title on ``lines[index]``, when it is a markdown heading or a short unpunctuated line
    followed by a blank line and more text (``lines`` are stripped; a blank one is empty)."""
    line = lines[index]
    heading = _HEADING.match(line)
    if heading:
        return heading["text"]
    following = lines[index + 1 :]
    if not following or following[0] or not any(following):
        return None
    if len(line.split()) >= _MAX_TITLE_LINE_WORDS or len(line) > 200:
        return None
    if re.search(r"[.!,;:…][\"”’')\]]*$", line) or LINK_LINE.match(line) or parse_dateline(line):
        return None
    return line


def same_title(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are the same title, ignoring case, punctuation and ``#`` marks."""

    def key(text: str) -> str:
        return re.sub(r"\W+", " ", text.lstrip("# ")).strip().lower()

    return key(a) == key(b)


_ABBREVIATION = re.compile(
    r"^(?:[A-Za-z]\.){1,3}$|^(?:mr|mrs|ms|dr|st|jr|sr|gen|gov|sen|rep|vs|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.$",
    re.I,
)
_TRAILING_STOPWORDS = set(
    "a an the of to and or in on at for with by from as that s is was his her its their".split()
)


def derive_title(text: str, max_words: int = TITLE_WORDS) -> str | None:
    """A short title from the first sentence of ``text``: the sentence itself when it has at most
    ``max_words`` words, otherwise its first words followed by an ellipsis."""
    words: list[str] = []
    ended = True  # running out of text ends the sentence too
    for token in text.split():
        if not re.search(r"\w", token):
            if token.strip("\"“”'’") and ENDS_SENTENCE.match(token):
                break
            continue
        if len(words) == max_words:
            ended = False
            break
        words.append(token)
        if ENDS_SENTENCE.search(token) and not _ABBREVIATION.match(token):
            break
    if not words:
        return None
    if ended:
        title = re.sub(r"[.!…]+(?=[\"”’')\]]*$)", "", " ".join(words))
    else:
        while len(words) > 3 and words[-1].lower().strip(",;:") in _TRAILING_STOPWORDS:
            words.pop()
        title = " ".join(words).rstrip(",;:-–—") + "…"
    return title[:1].upper() + title[1:]


def drop_labels(paragraphs: list[str], title: str | None) -> None:
    """Drop what a page puts above the story: a section label ("Port & Business"), the
    title again, or an outlet banner ("Coastal Broadcasting News | By Dana Whitcombe")."""
    while len(paragraphs) > 1:
        first = paragraphs[0].strip()
        short = len(first.split()) <= _LABEL_WORDS and not ENDS_SENTENCE.search(first)
        label = short and bool(title) and same_title(paragraphs[1], str(title))
        banner = " | " in first and not ENDS_SENTENCE.search(first) and len(first.split()) <= 16
        if not (label or banner or (title and same_title(first, str(title)))):
            break
        paragraphs.pop(0)
