"""YAML front matter (``---`` ... ``---`` at the top of a markdown file) as article fields."""

from __future__ import annotations

import re

from retrieval.dates import normalize_date

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FIELDS = {
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


def parse_front_matter(text: str) -> tuple[str, dict[str, str]]:
    """Split YAML front matter off ``text``.

    Returns the rest of the text and the recognised fields (title, published, source, url,
    author, place); several authors are joined with ", ". Every value is read as a string
    (``date: 2021-03-22`` is the text ``2021-03-22``, ``title: yes`` stays ``yes``). Front
    matter that is not valid YAML, or not a mapping, is removed and gives no fields.
    """
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        return text, {}
    fields: dict[str, str] = {}
    for key, value in _load_mapping(match["body"]).items():
        field = _FIELDS.get(str(key).lower())
        values = [v for v in _strings(value) if v]
        if not field or not values or field in fields:
            continue
        if field == "published":
            published = normalize_date(values[0])
            if published:
                fields[field] = published
        else:
            fields[field] = ", ".join(values) if field == "author" else values[0]
    return text.replace("\r\n", "\n")[match.end() :], fields


def _load_mapping(body: str) -> dict:
    import yaml

    # The base loader reads every scalar as a string and builds no objects from tags.
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        doc = yaml.load(body, Loader=loader)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _strings(value: object) -> list[str]:
    """A scalar or a list of scalars as stripped one-line strings; anything else gives none."""
    items = value if isinstance(value, list) else [value]
    return [re.sub(r"\s*\n\s*", " ", item.strip()) for item in items if isinstance(item, str)]
