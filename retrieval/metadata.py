"""Metadata from the plain text of a news article: boilerplate, bylines, datelines, dates, titles.

``parse_plain_text`` is the entry point; ``parse_markdown`` adds front matter and markdown
syntax on top of it. Every field is optional and nothing is guessed: a date without a year
(``nov. 1``, ``on thursday``) gives no published date.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import PurePath

FIELDS = ("title", "source", "published", "place", "url", "author")

TITLE_WORDS = 12  # a derived title is cut after this many words
_MAX_TITLE_LINE_WORDS = 20

# ---------------------------------------------------------------------------------------------
# Dates

_MONTH_NAMES = "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|"
_MONTH_NAMES += "sep sept september|oct october|nov november|dec december"
_MONTHS = {
    name: number
    for number, names in enumerate(_MONTH_NAMES.split("|"), start=1)
    for name in names.split()
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
# A date as written in text; the year is optional here and required by normalize_date.
_DATE_TEXT = (
    rf"(?:(?:{_WEEKDAY},?\s+)?(?:{_DAY}\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?)"
    rf"|{_ISO_DATE})"
)
_DMY = re.compile(
    rf"^(?:{_WEEKDAY},?\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{_MONTH}),?\s+"
    r"(?P<y>\d{4})$",
    re.I,
)
_MDY = re.compile(
    rf"^(?:{_WEEKDAY},?\s+)?(?P<m>{_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y>\d{4})$",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(?:1[89]|2\d)\d\d(?!\d)")
_TIME = re.compile(r"\d{1,2}:\d{2}|\b\d{1,2}\s*[ap]\.?m\b", re.I)
_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?=[-_ .])")


def normalize_date(value: object) -> str | None:
    """Return ``value`` as an ISO 8601 date (``YYYY-MM-DD``) or datetime, or None.

    A datetime (with its UTC offset when one is given) is returned only when the input
    carries a time. Inputs without a day, month and four-digit year give None, as do
    numbers that are not plausible Unix timestamps. ``dateparser`` handles free-form text.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_timestamp(float(value))
    if isinstance(value, datetime):
        return _format(value, True)
    if isinstance(value, date):
        return _format(value, False)
    text = re.sub(r"\s+", " ", str(value)).strip()
    if not text or len(text) > 100 or not _YEAR.search(text):
        return None
    has_time = bool(_TIME.search(text))
    parsed = _parse_iso(text) or _parse_rfc2822(text) or _parse_written(text)
    if parsed is None:
        parsed = _parse_with_dateparser(text)
    return _format(parsed, has_time) if parsed is not None else None


def _parse_iso(text: str) -> date | datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _parse_rfc2822(text: str) -> datetime | None:
    if not re.search(r"\d{1,2}:\d{2}", text) or not re.match(r"^(?:[A-Za-z]{3},\s*)?\d", text):
        return None
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _parse_written(text: str) -> date | None:
    match = _DMY.match(text) or _MDY.match(text)
    if not match:
        return None
    month = _MONTHS.get(match["m"].rstrip(".").lower())
    try:
        return date(int(match["y"]), month or 0, int(match["d"]))
    except ValueError:
        return None


def _parse_with_dateparser(text: str) -> datetime | None:
    import dateparser

    settings = {
        "STRICT_PARSING": True,
        "REQUIRE_PARTS": ["day", "month", "year"],
        "PREFER_DATES_FROM": "past",
    }
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None and re.search(r"[^\x00-\x7f]", text):
        parsed = dateparser.parse(text, settings=settings)
    return parsed


def _from_timestamp(seconds: float) -> str | None:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    if not 0 < seconds < 4e9:
        return None
    return _format(datetime.fromtimestamp(seconds, tz=UTC), True)


def _format(value: date | datetime, has_time: bool) -> str | None:
    if not 1900 <= value.year <= datetime.now().year + 1:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") if has_time else value.date().isoformat()
    return value.isoformat()


# ---------------------------------------------------------------------------------------------
# Boilerplate

# Sentences that are promotion or page furniture, matched at the start of a sentence.
_BOILERPLATE_SENTENCE = re.compile(
    r"""^[\W_]*(?:
        get\s+(?:the\s+)?latest\s+news\b
      | (?:download|install|get)\s+(?:the\s+|our\s+)?(?:[\w&'’.]+\s+){0,6}?(?:news\s+)?app\b
      | (?:subscribe|sign\s+up)\s+(?:to|for)\s+(?:our|the)\s+(?:[\w'’-]+\s+){0,4}?newsletters?\b
      | (?:subscribe|sign\s+up)\s+(?:to|for)\b.{0,60}$
      | .*\bin\s+your\s+inbox\b
      | (?:watch|listen)\s*:
      | .*\bnewsletter\b.*\b(?:delivered|every)\b
      | (?:follow|like|join)\s+us\s+on\b
      | click\s+here\b
      | (?:also\s+)?read\s+(?:more|also)\s*[:|]
      | (?:share|email|print)\s+this\s+(?:article|story)\b
      | this\s+story\s+has\s+not\s+been\s+edited\s+by\b
      | (?:copyright\s*(?:©|\(c\))?\s*\d{4}|©|\(c\)\s*\d{4})
      | for\s+(?:more|the\s+latest)\s+(?:news|updates)\b.*\b(?:follow|subscribe|download|app)\b
      | .*\ball\s+rights\s+reserved\b
    )""",
    re.I | re.X,
)
# Paragraphs that are page furniture as a whole.
_BOILERPLATE_PARAGRAPH = re.compile(
    r"^(?:advertisement|advertisements|ad|sponsored|skip\s+advertisement"
    r"|scroll\s+to\s+continue\s+with\s+content|story\s+continues\s+below(?:\s+advertisement)?"
    r"|continue\s+reading(?:\s+the\s+main\s+story)?|related\s+(?:articles|stories|coverage)"
    r"|share\s+this(?:\s+article)?|share\s+on\s+\w+)[\s:.]*$",
    re.I,
)
_PROMO_OUTLET = re.compile(r"\bdownload\s+(?P<outlet>.+?)\s+(?:news\s+)?app\b", re.I)
_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"”’)\]]*(?=\s|$)|$)", re.S)


def strip_boilerplate(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """Drop promotion and page-furniture sentences (app promos, newsletter and social
    prompts, copyright lines, "Click here ...") from ``paragraphs``.

    Returns the remaining paragraphs and the outlet a promo names ("Download The Times
    of India news app" gives "The Times of India"), or None.
    """
    kept: list[str] = []
    outlet = None
    for paragraph in paragraphs:
        if _BOILERPLATE_PARAGRAPH.match(paragraph):
            continue
        sentences = _SENTENCE.findall(paragraph)
        clean = [s for s in sentences if not _BOILERPLATE_SENTENCE.match(s)]
        if len(clean) != len(sentences):
            for sentence in sentences:
                if sentence not in clean:
                    outlet = outlet or _promo_outlet(sentence)
            paragraph = " ".join(clean)
        if paragraph:
            kept.append(paragraph)
    return kept, outlet


def _promo_outlet(sentence: str) -> str | None:
    match = _PROMO_OUTLET.search(sentence)
    if not match:
        return None
    outlet = re.sub(r"^(?:the|our)\s+", "", match["outlet"].strip())
    if not outlet[:1].isupper() or len(outlet.split()) > 6 or outlet.lower() == "the":
        return None
    return outlet


# ---------------------------------------------------------------------------------------------
# Datelines

_LETTER = r"[^\W\d_]"
_PLACE_WORD = rf"{_LETTER}(?:{_LETTER}|['’.\-](?={_LETTER}))*\.?"
_PLACE = rf"{_PLACE_WORD}(?:(?:\s*/\s*|\s+){_PLACE_WORD}){{0,4}}"
_REGION = rf",\s+(?!{_MONTH}\b){_LETTER}+\.?"
_HEAD = rf"^(?P<place>{_PLACE})(?P<region>{_REGION})?(?:,\s+(?P<when>{_DATE_TEXT}))?"
_PAREN_DATELINE = re.compile(
    rf"{_HEAD}\s*\(\s*(?P<paren>[^()\n]{{1,100}}?)\s*\)\s*(?P<sep>[-–—:]{{1,2}})?\s*(?=\S)", re.I
)
_COLON_DATELINE = re.compile(rf"{_HEAD}\s*:\s+(?=\S)", re.I)
_DASH_DATELINE = re.compile(rf"{_HEAD}\s+[-–—]{{1,2}}\s+(?=\S)", re.I)
_PAREN_DATE_LAST = re.compile(rf"^(?P<src>.*?)\s*[-–—,]?\s*(?P<date>{_DATE_TEXT})$", re.I)
_PAREN_DATE_FIRST = re.compile(rf"^(?P<date>{_DATE_TEXT})\s*[-–—,]\s*(?P<src>.+)$", re.I)

AGENCIES = {
    name.lower(): name
    for name in (
        "Reuters AP AFP UPI ANI PTI IANS dpa Xinhua TASS EFE ANSA Kyodo Yonhap Bernama CNN BBC "
        "Sputnik Bloomberg AA RIA WAM SPA APP IRNA KCNA"
    ).split()
} | {"associated press": "Associated Press", "agence france-presse": "Agence France-Presse"}
# All-caps words that start a paragraph with a colon or dash but are not places.
_NOT_PLACES = set(
    "NOTE|EDITOR'S NOTE|EDITORS NOTE|UPDATE|UPDATED|BREAKING|BREAKING NEWS|WATCH|READ|ALSO READ|"
    "READ MORE|PHOTO|PHOTOS|VIDEO|LIVE|EXCLUSIVE|ANALYSIS|OPINION|CORRECTION|CLARIFICATION|FILE|"
    "WARNING|Q|A|FACT CHECK|EDITORIAL|COMMENT|REVIEW|INTERVIEW|SOURCE|SOURCES|DISCLAIMER|NB|PS|"
    "TITLE|SUMMARY|TL;DR|URGENT|FLASH|ADVISORY|EMBARGOED|AP|TOPLINE".split("|")
)
# Words that start a sentence, not a place name.
_PRONOUNS = set("the a an he she it we they i you this that in on at his her their our its".split())
_PRONOUNS |= {"as", "but", "and", "so"}


@dataclass(frozen=True)
class Dateline:
    """A dateline found at the start of a paragraph; ``end`` is where the story begins."""

    place: str
    source: str | None
    published: str | None
    end: int


def parse_dateline(paragraph: str) -> Dateline | None:
    """Recognise a dateline at the start of ``paragraph``.

    Handles ``SEOUL/BEIJING (Reuters) -``, ``WASHINGTON (AP) —``, ``LONDON, March 3
    (Reuters) -``, ``MOSCOW (UrduPoint News / Sputnik - 22nd March, 2021)``, ``SEOUL:`` and
    ``WASHINGTON —``, in any letter case when a dash or a known agency confirms it.
    """
    match = _PAREN_DATELINE.match(paragraph)
    if match:
        found = _paren_dateline(match)
        if found:
            return found
    for pattern in (_COLON_DATELINE, _DASH_DATELINE):
        match = pattern.match(paragraph)
        if match and _is_upper(match["place"]) and match["place"].upper() not in _NOT_PLACES:
            place = _place_name(match["place"], match["region"])
            return Dateline(place, None, normalize_date(match["when"]), match.end())
    return None


def _paren_dateline(match: re.Match) -> Dateline | None:
    place, paren = match["place"], match["paren"]
    source, when = paren, match["when"]
    split = _PAREN_DATE_LAST.match(paren) or _PAREN_DATE_FIRST.match(paren)
    if split:
        source, when = split["src"], split["date"]
    source = source.strip(" -–—,")
    if not source or len(source.split()) > 8 or source.endswith((".", "!", "?")):
        return None
    words = place.split()
    is_agency = source.lower() in AGENCIES
    if _is_upper(place):
        ok = True
    else:
        plain_place = place.islower() or all(w[:1].isupper() for w in words)
        ok = plain_place and words[0].lower() not in _PRONOUNS and len(words) <= 3
        ok = ok and (is_agency or (bool(match["sep"]) and len(source.split()) <= 5))
    if not ok:
        return None
    source = AGENCIES.get(source.lower()) or (_titlecase(source) if source.islower() else source)
    return Dateline(_place_name(place, match["region"]), source, normalize_date(when), match.end())


def _is_upper(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _place_name(place: str, region: str | None) -> str:
    if _is_upper(place) or place.islower():
        place = _titlecase(place)
    if region:
        region = region.strip(", ")
        place = f"{place}, {_titlecase(region) if _is_upper(region) else region}"
    return place


def _titlecase(text: str) -> str:
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), text)


# ---------------------------------------------------------------------------------------------
# Header lines, bylines and titles

_DATE_LINE = re.compile(
    r"^(?P<key>date|dated|published|posted|updated|last\s+updated)(?:\s+on)?\s*[:\-]?\s*"
    r"(?P<value>.+?)\s*(?:\((?P<who>[^()]{1,60})\))?(?:\s+by\s+(?P<by>[^()]{1,60}))?$",
    re.I,
)
_KEY_LINE = re.compile(
    r"^(?P<key>title|headline|source|publisher|outlet|author|authors|byline|url|link|permalink"
    r"|place|location)\s*:\s*(?P<value>\S.*)$",
    re.I,
)
_KEY_FIELDS = {
    **dict.fromkeys(("title", "headline"), "title"),
    **dict.fromkeys(("source", "publisher", "outlet"), "source"),
    **dict.fromkeys(("author", "authors", "byline"), "author"),
    **dict.fromkeys(("url", "link", "permalink"), "url"),
    **dict.fromkeys(("place", "location"), "place"),
}
# Lines that close a wire story and say nothing of the news: credits and "read more" links.
_CREDIT_LINE = re.compile(
    r"^(?:\((?:(?:additional )?reporting|writing|written|editing|compiled|edited)\s+by\b.*\)"
    r"|(?:read more|related|see also|more on this(?: story)?)\s*:.*)$",
    re.I,
)
_URL = re.compile(r"^<?(https?://\S+?)>?$")
_BYLINE = re.compile(r"^by\s*:?\s+(?P<names>[@\w].{0,100})$", re.I)
_NAME_CONNECTORS = set("and & de da del der van von la le bin al el di du y".split())
_HEADING = re.compile(r"^#{1,3}\s+(?P<text>.+?)\s*#*$")
_TERMINAL = re.compile(r"[.!?…][\"”’')\]]*$")


def _meta_line(line: str) -> dict[str, str] | None:
    """Fields of a metadata-only line (``date 2021-03-22 (@someone)``, ``Source: X``,
    ``By Jane Doe``, a lone URL), or None when the line is article text."""
    match = _DATE_LINE.match(line)
    if match:
        published = normalize_date(match["value"])
        if published:
            key = "updated" if "updated" in match["key"].lower() else "published"
            found = {key: published}
            author = _person(match["who"] or match["by"] or "")
            if author:
                found["author"] = author
            return found
    match = _KEY_LINE.match(line)
    if match:
        field, value = _KEY_FIELDS[match["key"].lower()], match["value"].strip()
        if field == "url":
            url = _URL.match(value)
            return {"url": url.group(1)} if url else None
        if field == "author":
            return {"author": _person(value) or value}
        return {field: value}
    match = _URL.match(line)
    if match:
        return {"url": match.group(1)}
    match = _BYLINE.match(line)
    if match and len(line.split()) <= 16 and not _TERMINAL.search(line):
        author = _person(match["names"])
        if not author:
            return None
        found = {"author": author}
        # "By Lena Marsh | The Harbor Post | 16 November 2023"
        for part in [p.strip() for p in match["names"].split("|")[1:]]:
            published = normalize_date(part) if re.search(r"\d", part) else None
            if published:
                found.setdefault("published", published)
            elif part:
                found.setdefault("source", part)
        return found
    return None


def _person(text: str) -> str | None:
    """A name or handle, without a trailing ", Reuters" / "| Staff Writer"; None if not a name."""
    name = re.split(r"\s*(?:[,|]|\s[-–—]\s)\s*", text.strip(), maxsplit=1)[0].strip()
    if not name:
        return None
    if name.startswith("@") and re.fullmatch(r"@\w{1,40}", name):
        return name
    words = name.split()
    if len(words) > 8 or any(ch.isdigit() for ch in name):
        return None
    if not all(w[:1].isupper() or w.lower() in _NAME_CONNECTORS for w in words):
        return None
    return _titlecase(name) if _is_upper(name) and len(name) > 3 else name


def _title_line(lines: list[str], index: int) -> str | None:
    """The title on ``lines[index]``, when it is a markdown heading or a short unpunctuated line
    followed by a blank line and more text."""
    line = lines[index]
    heading = _HEADING.match(line)
    if heading:
        return heading["text"]
    following = lines[index + 1 :]
    if not following or following[0] or not any(following):
        return None
    if len(line.split()) >= _MAX_TITLE_LINE_WORDS or len(line) > 200:
        return None
    if re.search(r"[.!,;:…][\"”’')\]]*$", line) or _URL.match(line) or parse_dateline(line):
        return None
    return line


def _same_title(a: str, b: str) -> bool:
    def key(text: str) -> str:
        return re.sub(r"\W+", " ", text.lstrip("# ")).strip().lower()

    return key(a) == key(b)


# ---------------------------------------------------------------------------------------------
# Paragraphs and derived titles

_LIST_ITEM = re.compile(r"^(?:[-*•▪]|\d{1,3}[.)])\s+")


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")


def _normalize_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_SPACES.sub(" ", line).strip() for line in text.split("\n")]


def _paragraphs(lines: list[str]) -> list[str]:
    """Join lines into paragraphs: a blank line always ends one, a single line break ends one
    after a full sentence or before a list item, and otherwise is a hard wrap."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and (_TERMINAL.search(current[-1]) or _LIST_ITEM.match(line)):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


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
            if token.strip("\"“”'’") and _TERMINAL.match(token):
                break
            continue
        if len(words) == max_words:
            ended = False
            break
        words.append(token)
        if _TERMINAL.search(token) and not _ABBREVIATION.match(token):
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


# ---------------------------------------------------------------------------------------------
# Entry points


def empty_fields() -> dict[str, str | None]:
    """A metadata dict with every field set to None."""
    return dict.fromkeys(FIELDS)


def parse_plain_text(
    text: str, path: str | None = None, *, known: Mapping[str, object] | None = None
) -> tuple[str, dict[str, str | None]]:
    """Split a plain-text article into the text to index and its metadata.

    Returns ``(text, fields)``; ``fields`` has the keys title, source, published, place, url
    and author (None when unknown). Metadata-only lines at the top (`` date 2021-03-22
    (@someone)``, ``Source: ...``, ``By Jane Doe``) and a title line are removed from the text;
    the dateline stays in it. Boilerplate (app promos, newsletter prompts, copyright lines)
    is dropped. Paragraphs are separated by blank lines.

    ``known`` holds fields the caller already has (a JSON record, front matter, HTML
    metadata); they win over anything found in the text, and a known title stops a first
    line from being taken as a title unless it repeats that title.
    """
    explicit = {k: v for k, v in (known or {}).items() if k in FIELDS and v}
    found: dict[str, str] = {}
    lines = _normalize_lines(text)

    index = _take_meta_lines(lines, 0, found)
    title = None
    if index < len(lines):
        known_title = explicit.get("title")
        if known_title:
            if _same_title(lines[index], str(known_title)):
                index += 1
        else:
            title = _title_line(lines, index)
            if title is not None:
                index += 1
        index = _take_meta_lines(lines, index, found)

    paragraphs, outlet = strip_boilerplate(_paragraphs(lines[index:]))
    _take_trailers(paragraphs, found)
    _drop_labels(paragraphs, explicit.get("title") or title)

    dateline, dateline_first = None, False
    for position, paragraph in enumerate(paragraphs[:2]):
        dateline = parse_dateline(paragraph)
        if dateline:
            dateline_first = position == 0
            break
    fields = empty_fields()
    fields.update(
        title=title or found.get("title"),
        source=found.get("source") or (dateline and dateline.source) or outlet,
        published=found.get("published")
        or (dateline and dateline.published)
        or found.get("updated")
        or _filename_date(path),
        place=found.get("place") or (dateline and dateline.place),
        url=found.get("url"),
        author=found.get("author"),
    )
    fields.update({k: str(v) for k, v in explicit.items()})
    if not fields["title"] and paragraphs:
        first = paragraphs[0]
        if dateline and dateline_first:
            first = first[dateline.end :]
        fields["title"] = derive_title(first)
    return "\n\n".join(paragraphs), fields


_LABEL_WORDS = 5


def _drop_labels(paragraphs: list[str], title: str | None) -> None:
    """Drop what a page puts above the story: a section label ("Port & Business"), the
    title again, or an outlet banner ("Coastal Broadcasting News | By Dana Whitcombe")."""
    while len(paragraphs) > 1:
        first = paragraphs[0].strip()
        label = len(first.split()) <= _LABEL_WORDS and not _TERMINAL.search(first)
        banner = " | " in first and not _TERMINAL.search(first) and len(first.split()) <= 16
        if not (label or banner or (title and _same_title(first, str(title)))):
            break
        paragraphs.pop(0)


def _take_trailers(paragraphs: list[str], found: dict[str, str]) -> None:
    """Move the metadata lines that close an article (``Permalink: ...``, ``URL: ...``,
    ``Source: ...``, a byline, reporting credits, "Read more" links) out of ``paragraphs``
    and into ``found``."""
    while len(paragraphs) > 1:
        last = paragraphs[-1].strip()
        if "\n" in last:
            break
        meta = _meta_line(last)
        if meta is not None:
            for key, value in meta.items():
                found.setdefault(key, value)
        elif not _CREDIT_LINE.match(last):
            break
        paragraphs.pop()


def _take_meta_lines(lines: list[str], index: int, found: dict[str, str]) -> int:
    """Consume blank and metadata-only lines from ``index``; return the first other line."""
    while index < len(lines):
        line = lines[index]
        if line:
            meta = _meta_line(line)
            if meta is None:
                break
            for key, value in meta.items():
                found.setdefault(key, value)
        index += 1
    return index


def _filename_date(path: str | None) -> str | None:
    """A date that starts a file name (``2021-03-22-some-story.md``, as blogs name posts)."""
    if not path:
        return None
    match = _FILENAME_DATE.match(PurePath(path).name)
    return normalize_date(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# Markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_MATTER_FIELDS = {
    **dict.fromkeys(("title", "headline"), "title"),
    **dict.fromkeys(
        ("date", "published", "pubdate", "published_at", "publishdate", "datepublished"),
        "published",
    ),
    **dict.fromkeys(("source", "publisher", "outlet", "site", "site_name"), "source"),
    **dict.fromkeys(("url", "link", "canonical_url", "permalink"), "url"),
    **dict.fromkeys(("author", "authors", "byline"), "author"),
    **dict.fromkeys(("place", "location", "dateline"), "place"),
}
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
_INLINE_MARKDOWN = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]+)\]\((?:[^()\s]+|\([^)]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_MD_RULE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+)\s*$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_MD_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def parse_front_matter(text: str) -> tuple[str, dict[str, str]]:
    """Split YAML-style front matter (``---`` ... ``---``) off ``text``.

    Returns the rest of the text and the recognised fields (title, published, source, url,
    author, place); ``key: value`` lines and ``- item`` lists are understood, nothing more.
    """
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        return text, {}
    raw: dict[str, list[str]] = {}
    key = None
    for line in match["body"].split("\n"):
        item = re.match(r"^\s+-\s+(.*)$|^-\s+(.*)$", line)
        if item and key:
            raw[key].append(_unquote(item.group(1) or item.group(2)))
            continue
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if pair:
            key = pair.group(1).lower()
            value = pair.group(2).strip()
            if value.startswith("[") and value.endswith("]"):
                raw[key] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
            else:
                raw[key] = [_unquote(value)] if value else []
    fields: dict[str, str] = {}
    for name, values in raw.items():
        field = _FRONT_MATTER_FIELDS.get(name)
        values = [v for v in values if v]
        if not field or not values or field in fields:
            continue
        if field == "published":
            published = normalize_date(values[0])
            if published:
                fields[field] = published
        else:
            fields[field] = ", ".join(values) if field == "author" else values[0]
    return text.replace("\r\n", "\n")[match.end() :], fields


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.strip()


def strip_markdown(text: str) -> tuple[str, str | None]:
    """Turn markdown into plain text; return it and the first heading (removed from the text)
    when the document starts with one (``# Title`` or a ``===`` underlined line)."""
    lines = text.replace("\r\n", "\n").split("\n")
    title = None
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if start < len(lines):
        heading = _MD_HEADING.match(lines[start])
        if heading:
            title, start = heading.group(1).strip(), start + 1
        elif start + 1 < len(lines) and re.match(r"^\s*=+\s*$", lines[start + 1]):
            title, start = lines[start].strip(), start + 2
    out: list[str] = []
    for line in lines[start:]:
        if _MD_FENCE.match(line) or _MD_REFERENCE.match(line) or _MD_TABLE_RULE.match(line):
            continue
        if _MD_RULE.match(line):
            out.append("")
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            out.extend(["", heading.group(1), ""])
            continue
        line = re.sub(r"^\s{0,3}(?:>\s?)+", "", line)
        if _MD_LIST.match(line):
            out.extend(["", _MD_LIST.sub("", line)])
            continue
        out.append(line)
    body = "\n".join(out)
    if title:
        title = _strip_inline(title)
    return _strip_inline(body), title


def _strip_inline(text: str) -> str:
    # Escaped characters are parked in the private use area so emphasis rules skip them.
    text = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_MARKDOWN:
        text = pattern.sub(replacement, text)
    return re.sub("[\ue000-\ue07f]", lambda m: chr(ord(m.group(0)) - 0xE000), text)


def parse_markdown(
    text: str, path: str | None = None, *, known: Mapping[str, object] | None = None
) -> tuple[str, dict[str, str | None]]:
    """Like ``parse_plain_text`` for markdown: front matter fields and a leading ``# Heading``
    give metadata, and markdown syntax (links, emphasis, heading marks, lists) is removed."""
    body, front = parse_front_matter(text)
    plain, heading = strip_markdown(body)
    merged: dict[str, object] = {"title": heading} if heading else {}
    merged.update(front)
    merged.update({k: v for k, v in (known or {}).items() if v})
    return parse_plain_text(plain, path, known=merged)
