"""Publication dates: any written or machine date to ISO 8601, and the date in a file name.

Nothing is guessed: a date without a year (``nov. 1``, ``on thursday``) gives None.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime
from pathlib import PurePath

_MONTH_NAMES = "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|"
_MONTH_NAMES += "sep sept september|oct october|nov november|dec december"
_MONTHS = {
    name: number
    for number, names in enumerate(_MONTH_NAMES.split("|"), start=1)
    for name in names.split()
}
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
# A date as written in text; the year is optional here and required by normalize_date.
DATE_TEXT = (
    rf"(?:(?:{_WEEKDAY},?\s+)?(?:{_DAY}\s+{MONTH},?\s+\d{{4}}|{MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?)"
    rf"|{_ISO_DATE})"
)
_DMY = re.compile(
    rf"^(?:{_WEEKDAY},?\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{MONTH}),?\s+"
    r"(?P<y>\d{4})$",
    re.I,
)
_MDY = re.compile(
    rf"^(?:{_WEEKDAY},?\s+)?(?P<m>{MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
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


def filename_date(path: str | None) -> str | None:
    """A date that starts a file name (``2021-03-22-some-story.md``, as blogs name posts)."""
    if not path:
        return None
    match = _FILENAME_DATE.match(PurePath(path).name)
    return normalize_date(match.group(1)) if match else None
