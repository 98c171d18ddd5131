"""Time in questions: the publication window a question is about, read against "now".

Explicit times ("in March 2024", "on July 15, 2024", "in 2019", "between May and July",
"since January", "as of May 2023"), relative ones ("last week", "yesterday", "this year",
"two months ago") and the question's stance on time: recency ("latest", "current", "still",
"so far"), the earliest reports ("first", "before the deal", "initially") and timelines
("how has X changed", "history of"). Spans are found with patterns; dateparser turns each
span into a date against "now". A date inside a noun phrase ("the June 9 vote", "the
October 2023 hearing") names an event, not a window, and is left to retrieval.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19|20)\d{2}"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}


def _absolute(tag: str) -> str:
    """One absolute time expression (a day, a month of a year, a year), groups tagged."""
    part = rf"(?:(?P<part{tag}>early|mid|late|the end of|the start of|the beginning of)[\s-]+)?"
    return (
        rf"(?P<when{tag}>{part}(?P<md{tag}>{_MONTHS}\s+{_DAY}(?:,?\s+{_YEAR})?"
        rf"|{_DAY}\s+{_MONTHS}(?:,?\s+{_YEAR})?|{_MONTHS}(?:\s+of)?(?:\s+{_YEAR})?|{_YEAR}))"
    )


_EXPLICIT = re.compile(
    r"\b(?P<prep>in|on|during|since|from|after|before|until|till|by|as of|between|throughout)?"
    rf"\s*{_absolute('')}(?:\s+(?:and|to|until|-)\s+{_absolute('2')})?(?![\w-])",
    re.I,
)
_RELATIVE = re.compile(
    r"\b(?P<rel>yesterday|today|this (?:week|month|year)|last (?:week|month|year)|"
    r"recently|lately|in recent (?:days|weeks)|"
    r"(?:the )?(?:past|last|previous) (?P<n>\d+|\w+) (?P<unit>days?|weeks?|months?|years?)|"
    r"(?P<n2>\d+|\w+) (?P<unit2>days?|weeks?|months?|years?) ago)\b",
    re.I,
)
# "the June 9 vote", "the October 2023 hearing", "March's report": an event's name.
_EVENT_AFTER = re.compile(r"^(?:'s)?\s+(?!and\b|to\b|or\b|of\b|in\b|on\b|at\b|by\b)[a-z]{3,}", re.I)
_EVENT_BEFORE = re.compile(r"\b(?:the|a|an|its|their|his|her)\s*$", re.I)

_RECENCY = re.compile(
    r"\b(latest|current(?:ly)?|now|still|so far|to date|most recent(?:ly)?|newest|"
    r"last(?! (?:week|month|year|\d+|\w+ (?:days?|weeks?|months?|years?))\b)|"
    r"up to date|at present|presently|these days|as it stands|right now|nowadays|"
    r"(?:is|are) (?:going|set|due|expected) to|will happen|what(?:'s| is) next|next step)\b",
    re.I,
)
_EARLIEST = re.compile(
    r"\b(first|initial(?:ly)?|originally|original|at first|earliest|at the start|"
    r"^\W*before\b[^?,]*|when it began|"
    r"when (?:\w+ ){0,4}first|began)\b",
    re.I,
)
# "When was Korvath arrested, convicted and sentenced?": several events, one "when".
_EVENT_LIST = re.compile(r"^\W*when\b[^?]*\b\w+ed,\s+\w+ed,?\s+and\s+\w+ed\b", re.I)
_TIMELINE = re.compile(
    r"\b(timeline|history of|over time|over the (?:years|months|course)|chang(?:e|ed|es)\b|"
    r"evolv(?:e|ed)|progress(?:ed)?|step by step|"
    r"grow|grew|rise over|fall over|when have|when has|how has .* (?:changed|grown|risen))",
    re.I,
)

# "In what year was the rule changed?": one point in time is asked for, not a timeline.
_ONE_POINT = re.compile(r"\b(?:what|which) (?:year|century|decade|date|day|month)\b", re.I)


@dataclass(frozen=True)
class TimeFrame:
    """What a question says about time.

    ``since``/``until`` bound the publication dates of the reports the question is about
    (inclusive; None when open). ``recency``: the newest report wins. ``earliest``: the
    first reports win. ``timeline``: several dated reports, oldest first. ``spans`` are the
    time expressions found (they say nothing about the topic); ``events`` are dates that
    name an event and stay in the topic.
    """

    now: date
    since: date | None = None
    until: date | None = None
    recency: bool = False
    earliest: bool = False
    timeline: bool = False
    spans: tuple[str, ...] = ()
    events: tuple[str, ...] = field(default=())

    @property
    def windowed(self) -> bool:
        """Whether the question names a publication window of its own."""
        return self.since is not None or (self.until is not None and self.until < self.now)

    def describe(self) -> str:
        """The window in words, e.g. "in March 2024" or "between 1 May and 31 July 2024"."""
        if self.since and self.until:
            if self.since == self.until:
                return f"on {long_date(self.since)}"
            last = calendar.monthrange(self.until.year, self.until.month)[1]
            if self.since.day == 1 and self.until.day == last:
                if (self.since.year, self.since.month) == (self.until.year, self.until.month):
                    return f"in {self.since:%B %Y}"
                if self.since.month == 1 and self.until.month == 12:
                    if self.since.year == self.until.year:
                        return f"in {self.since.year}"
            return f"between {long_date(self.since)} and {long_date(self.until)}"
        if self.since:
            return f"since {long_date(self.since)}"
        if self.until:
            return f"before {long_date(self.until + timedelta(days=1))}"
        return ""


def long_date(day: date | str | None) -> str:
    """``11 February 2025`` for a date or an ISO string; '' when unknown."""
    if day is None:
        return ""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            return day
    return f"{day.day} {day:%B %Y}"


@lru_cache(maxsize=1)
def _dateparser():
    import dateparser

    return dateparser


def _parse(text: str, now: date) -> datetime | None:
    settings = {
        "RELATIVE_BASE": datetime(now.year, now.month, now.day),
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
    }
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.I).replace(" of ", " ")
    return _dateparser().parse(cleaned, languages=["en"], settings=settings)


def _span(expr: str, part: str | None, now: date) -> tuple[date, date] | None:
    """The first and last day an absolute expression covers."""
    expr = expr.strip()
    if re.fullmatch(_YEAR, expr):
        year = int(expr)
        return date(year, 1, 1), date(year, 12, 31)
    parsed = _parse(expr, now)
    if parsed is None:
        return None
    day = parsed.date()
    if re.search(r"\d", re.sub(_YEAR, "", expr)):  # a day of the month was given
        return day, day
    if not re.search(_YEAR, expr) and day > now:
        day = day.replace(year=day.year - 1)
    first = day.replace(day=1)
    last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if part:
        p = part.lower()
        if p == "early" or "start" in p or "beginning" in p:
            last = first.replace(day=10)
        elif p == "mid":
            first, last = first.replace(day=10), first.replace(day=20)
        elif p in ("late", "the end of"):
            first = first.replace(day=20)
    return first, last


# How far back "recently" reaches: the news of the past month; "in recent days", a week.
_RECENT_DAYS = {"recently": 30, "lately": 30, "in recent weeks": 30, "in recent days": 7}


def _relative(match: re.Match, now: date) -> tuple[date, date] | None:
    rel = match.group("rel").lower()
    monday = now - timedelta(days=now.weekday())
    if rel == "yesterday":
        return now - timedelta(days=1), now - timedelta(days=1)
    if rel == "today":
        return now, now
    if rel == "this week":
        # A rolling week: on a Monday "this week" still means the last few days' news.
        return now - timedelta(days=6), now
    if rel in _RECENT_DAYS:
        return now - timedelta(days=_RECENT_DAYS[rel]), now
    if rel == "last week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if rel == "this month":
        return now.replace(day=1), now
    if rel == "last month":
        last = now.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if rel == "this year":
        return date(now.year, 1, 1), now
    if rel == "last year":
        return date(now.year - 1, 1, 1), date(now.year - 1, 12, 31)
    n = match.group("n") or match.group("n2")
    unit = (match.group("unit") or match.group("unit2")).lower().rstrip("s")
    count = int(n) if n.isdigit() else _NUMBER_WORDS.get(n.lower())
    if count is None:
        return None
    days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * count
    if match.group("n2"):  # "two months ago": around that time
        centre = now - timedelta(days=days)
        slack = max(3, days // 4)
        return centre - timedelta(days=slack), min(now, centre + timedelta(days=slack))
    return now - timedelta(days=days), now  # "the past two weeks"


def _is_event(question: str, match: re.Match) -> bool:
    before = question[: match.start("when")]
    after = question[match.end() :]
    return not match.group("prep") and bool(
        _EVENT_BEFORE.search(before) and _EVENT_AFTER.match(after)
    )


def _in_year(day: date, year: int) -> date:
    """``day`` in ``year``, the 29th of February becoming the 28th where there is none."""
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def read_time(question: str, now: date) -> TimeFrame:
    """The :class:`TimeFrame` of ``question`` asked on ``now``."""
    since: date | None = None
    until: date | None = None
    spans: list[str] = []
    events: list[str] = []
    recency = bool(_RECENCY.search(question))
    for match in _RELATIVE.finditer(question):
        window = _relative(match, now)
        if window:
            since, until = window
            spans.append(match.group(0))
    for match in _EXPLICIT.finditer(question):
        if not match.group("when").strip() or not re.search(r"\w", match.group("when")):
            continue
        bare_month = not re.search(r"\d", match.group("when"))
        if bare_month and not match.group("prep"):  # "may I ask", "march on"
            continue
        if _is_event(question, match):
            events.append(match.group("when").strip())
            continue
        first = _span(match.group("md"), match.group("part"), now)
        if first is None:
            continue
        second = None
        if match.group("when2"):
            second = _span(match.group("md2"), match.group("part2"), now)
            if second and not re.search(_YEAR, match.group("when")):
                # "between May and July 2024": the first month takes the second's year
                first = (_in_year(first[0], second[0].year), _in_year(first[1], second[0].year))
        prep = (match.group("prep") or "").lower()
        spans.append(match.group(0).strip())
        if second:
            since, until = first[0], second[1]
        elif prep in ("since", "from", "after"):
            since, until = (first[1] + timedelta(days=1) if prep == "after" else first[0]), None
        elif prep in ("before", "until", "till"):
            since, until = None, first[0] - timedelta(days=1)
        elif prep in ("by", "as of"):
            since, until = None, first[1]
            recency = True
        else:
            since, until = first
    earliest = bool(_EARLIEST.search(question)) and not recency
    timeline = (
        (bool(_TIMELINE.search(question)) and not _ONE_POINT.search(question))
        or len(re.findall(r"\bwhen\b", question, re.I)) > 1
        or bool(_EVENT_LIST.search(question))
    )
    if until is not None and until > now:
        until = now
    return TimeFrame(
        now=now,
        since=since,
        until=until,
        recency=recency and not timeline,
        earliest=earliest and not timeline,
        timeline=timeline,
        spans=tuple(spans),
        events=tuple(events),
    )
