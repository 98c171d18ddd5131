"""Promotion and page furniture in article text: app promos, newsletter and social prompts,
copyright lines, "Advertisement" paragraphs."""

from __future__ import annotations

import re

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
