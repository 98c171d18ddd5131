"""What kind of answer a news question wants, and which of its words name the topic.

A question is a ``timeline`` ("how has X changed"), ``latest`` ("what is the current..."),
``summary`` ("what happened with X", "background on X"), ``why`` ("why did...", "what
caused..."), ``who_said`` ("what did <person> say") or a plain ``lookup``. The words that
only say what kind of answer is wanted ("latest", "news", "happened", "background") are
not part of the topic: they do not count as evidence and are not searched for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.followup import content_words
from bot.timeframe import TimeFrame

Kind = str  # "timeline" | "latest" | "summary" | "why" | "who_said" | "lookup"

_SUMMARY = re.compile(
    r"\b(what(?:'s| is| has)? (?:been )?happen(?:ed|ing)|what happened|(?:the )?background|"
    r"what(?:'s| is) (?:the )?(?:(?:current|latest) )?"
    r"(?:news|story|situation|state of play|status)|news (?:on|about)|"
    r"tell me about|summar(?:y|ise|ize)|overview|what do we know|catch me up|"
    r"what(?:'s| is) going on|update on|explain|what(?:'s| is| was) in|"
    r"what (?:are|were) the (?:terms|details|main points|key points)|"
    r"what did (?:the |an? )?[\w' -]{2,60}? (?:decide|announce|rule|find|order|agree|approve|"
    r"reveal|admit|conclude|do)\b)\b",
    re.I,
)
_WHY = re.compile(
    r"(?:^|,\s*)\W*(why|what (?:caused|led to|prompted|triggered|was behind|is behind|drove|"
    r"explains)|how come|what (?:was|is|were|are) the (?:reason|cause)s?|for what reason)\b",
    re.I,
)
_SAID = re.compile(
    r"\b(?:what|how) (?:did|does|has|had|do) (?P<who>.+?) (?:say|said|tell|told|testify|"
    r"testified|describe|respond|react|warn|argue|claim|write)\b|"
    r"\bwhat (?:was|were) (?P<who2>.+?)'s (?:words|comments?|remarks?|response|reaction)\b",
    re.I,
)
_NAME = re.compile(r"\b[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*")
_INTENT_WORDS = re.compile(
    r"\b(latest|current(?:ly)?|now|still|so far|to date|most recent(?:ly)?|newest|recent(?:ly)?|"
    r"news|happened|happening|happen|background|update[sd]?|story|situation|status|"
    r"timeline|history|over time|tell me|summar(?:y|ise|ize)|overview|give me|"
    r"what's|whats|going on|last(?= \w+ed\b| \w+s\b))\b",
    re.I,
)
# What an answer-kind word leaves behind: "the latest news about X" -> "the about X".
_DANGLING = re.compile(
    r"^(\W*(?:what(?:'s| is| are| was)?|the|a|an|any|me)\s+)*(?:about|on|regarding|of|for)\b|"
    r"\b(?:about|on|regarding|of|for)\s*(?=\?|$)",
    re.I,
)
# The words of "what did X say" that ask for a quote, not for a topic.
_SAY_WORDS = re.compile(
    r"\b(?:what|how|did|does|do|has|had|say|said|says|tell|told|testify|testified|describe|"
    r"respond|react|warn|argue|claim|write|words|comments?|remarks?|response|reaction)\b",
    re.I,
)
_COUNT = re.compile(
    r"\bhow (many|much)\b|\bwhat (?:was|is|were) the (?:number|count|total|figure|toll|tally)\b",
    re.I,
)
_QUANTITY = re.compile(
    r"\b(how (?:many|much|large|big|high|long)|cost|costs|number|toll|count|offer|estimate|"
    r"budget|size|figure|price|total|amount|rate|fine|package|pay|rise|sentence|tally|"
    r"lots|bribes|reports|cases|deaths)\b",
    re.I,
)
# In a timeline ("how did the recall grow"), a change in size asks for the figures.
_GROWTH = re.compile(
    r"\b(grow|grew|grown|rise|rose|risen|increase[sd]?|climb(?:ed)?|fall|fell|fallen|drop(?:ped)?|"
    r"shr[iau]nk|expand(?:ed)?|widen(?:ed)?|escalate[sd]?|balloon(?:ed)?)\b",
    re.I,
)
# "What is <Name>'s annual salary as...", "Which manufacturer built...": the attribute asked.
_ATTRIBUTE = (
    re.compile(
        r"\b(?i:what) (?:is|was|are|were) (?:the |an? )?(?:[A-Z][\w'-]*(?: [A-Z][\w'-]*)*'s )?"
        r"(?P<a>(?:[a-z][\w-]* ){0,2}[a-z][\w-]*)\b"
        r"(?= (?:of|for|as|at|in|on|from|to|by|with|when|that)\b|\s*\?)"
    ),
    re.compile(
        r"\b(?i:which|what) (?P<a>[a-z][\w-]*(?: [a-z][\w-]*){0,2}) (?:did|does|do|is|was|were|are|"
        r"has|had|have|will|would|can|could|built|made|makes|builds|won|runs|ran)\b"
    ),
)
# Words that name no particular attribute ("what was the outcome of...").
_GENERIC = re.compile(
    r"\b(name|names|number|amount|kind|type|sort|role|result|outcome|reason|cause|purpose|"
    r"date|time|year|day|month|size|term|word|part|point|thing|one|way|main|first|last|new|"
    r"total|full|official|overall|exact|final|other|same)\b"
)
_YES_NO = re.compile(
    r"^\W*(did|was|were|has|have|had|is|are|do|does)\b(?!.*\b(?:what|who|how|why)\b)", re.I
)


@dataclass(frozen=True)
class Intent:
    """The kind of answer wanted, the topic words to search, and (for ``who_said``) who."""

    kind: Kind
    topic: str
    speaker: str | None = None
    broad: bool = False
    counts: bool = False
    yes_no: bool = False
    quantity: bool = False
    attribute: str | None = None
    growth: bool = False


def asked_attribute(question: str) -> str | None:
    """The words naming what is asked about a thing ("annual salary" in "What is X's annual
    salary as chairman?"), without answer-kind and generic words; None when the question
    does not have that form."""
    for pattern in _ATTRIBUTE:
        match = pattern.search(question)
        if match:
            words = _GENERIC.sub(" ", _INTENT_WORDS.sub(" ", match.group("a")))
            return " ".join(words.split()) or None
    return None


def speaker_of(question: str) -> str | None:
    """The person whose words are asked for ("What did Graham Tolliver say..." -> the name)."""
    match = _SAID.search(question)
    if not match:
        return None
    who = match.group("who") or match.group("who2") or ""
    names = _NAME.findall(who)
    return names[-1] if names else None


def topic_of(question: str, frame: TimeFrame) -> str:
    """``question`` without its time expressions and answer-kind words (may be empty)."""
    topic = question
    for span in frame.spans:
        topic = topic.replace(span, " ")
    topic = _INTENT_WORDS.sub(" ", topic)
    return " ".join(_DANGLING.sub(" ", topic).split())


def read_intent(question: str, frame: TimeFrame) -> Intent:
    """The :class:`Intent` of ``question``, given what it says about time."""
    speaker = speaker_of(question)
    if _WHY.search(question):
        kind = "why"
    elif speaker:
        kind = "who_said"
    elif frame.timeline:
        kind = "timeline"
    elif _SUMMARY.search(question):
        kind = "summary"
    elif frame.recency:
        kind = "latest"
    else:
        kind = "lookup"
    topic = topic_of(question, frame)
    if speaker:
        topic = " ".join(_SAY_WORDS.sub(" ", topic).split())
    growth = kind == "timeline" and bool(_GROWTH.search(question))
    broad = not content_words(topic)  # "What happened in March 2021?": only a time
    return Intent(
        kind=kind,
        topic=question if broad else topic,
        broad=broad,
        speaker=speaker,
        counts=bool(_COUNT.search(question)),
        yes_no=bool(_YES_NO.search(question)),
        quantity=bool(_QUANTITY.search(question) or growth),
        attribute=asked_attribute(question),
        growth=growth,
    )
