"""Datelines: the place, agency and date that open a wire story (``SEOUL (Reuters) -``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.dates import DATE_TEXT, MONTH, normalize_date
from retrieval.line_shapes import is_upper, titlecase

_LETTER = r"[^\W\d_]"
_PLACE_WORD = rf"{_LETTER}(?:{_LETTER}|['’.\-](?={_LETTER}))*\.?"
_PLACE = rf"{_PLACE_WORD}(?:(?:\s*/\s*|\s+){_PLACE_WORD}){{0,4}}"
_REGION = rf",\s+(?!{MONTH}\b){_LETTER}+\.?"
_HEAD = rf"^(?P<place>{_PLACE})(?P<region>{_REGION})?(?:,\s+(?P<when>{DATE_TEXT}))?"
_PAREN_DATELINE = re.compile(
    rf"{_HEAD}\s*\(\s*(?P<paren>[^()\n]{{1,100}}?)\s*\)\s*(?P<sep>[-–—:]{{1,2}})?\s*(?=\S)", re.I
)
_COLON_DATELINE = re.compile(rf"{_HEAD}\s*:\s+(?=\S)", re.I)
_DASH_DATELINE = re.compile(rf"{_HEAD}\s+[-–—]{{1,2}}\s+(?=\S)", re.I)
_PAREN_DATE_LAST = re.compile(rf"^(?P<src>.*?)\s*[-–—,]?\s*(?P<date>{DATE_TEXT})$", re.I)
_PAREN_DATE_FIRST = re.compile(rf"^(?P<date>{DATE_TEXT})\s*[-–—,]\s*(?P<src>.+)$", re.I)

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
        if match and is_upper(match["place"]) and match["place"].upper() not in _NOT_PLACES:
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
    if is_upper(place):
        ok = True
    else:
        plain_place = place.islower() or all(w[:1].isupper() for w in words)
        ok = plain_place and words[0].lower() not in _PRONOUNS and len(words) <= 3
        ok = ok and (is_agency or (bool(match["sep"]) and len(source.split()) <= 5))
    if not ok:
        return None
    source = AGENCIES.get(source.lower()) or (titlecase(source) if source.islower() else source)
    return Dateline(_place_name(place, match["region"]), source, normalize_date(when), match.end())


def _place_name(place: str, region: str | None) -> str:
    if is_upper(place) or place.islower():
        place = titlecase(place)
    if region:
        region = region.strip(", ")
        place = f"{place}, {titlecase(region) if is_upper(region) else region}"
    return place
