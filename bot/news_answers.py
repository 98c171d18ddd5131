"""Extractive answers shaped by the question: latest, earliest, timeline, summary, why,
who said, and conflicting figures.

Every shape works on the scored sentences of the retrieved passages (see
:func:`bot.extractive.score_sentences`): the topic decides which reports are on topic
(a sentence scoring within a ratio of the best), and the shape decides which of those
are quoted and in what order, with the report's date and outlet in front.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.extractive import Quote, _same_fact, _trim
from bot.followup import answer_names, content_words, refers_to_person
from bot.intent import Intent
from bot.timeframe import TimeFrame, long_date
from retrieval.models import Hit

Row = tuple[float, int, int, str]  # (score, hit index, sentence index, text)

# A report is on topic when its best sentence scores this share of the best sentence.
ON_TOPIC = 0.8
TIMELINE_ON_TOPIC = 0.7
TIMELINE_OWN = 0.6
TIMELINE_COHERENCE = 0.5
LATEST_ON_TOPIC = 0.65
RECENCY_WEIGHT = 0.3
RECENCY_HALF_LIFE_DAYS = 30
# Reports spread over a few days (a death toll updated daily) are told apart by days:
# the half-life is at most this share of the span of the candidates' dates.
SPAN_SHARE = 0.25
LATEST_SECOND = 0.8
UPDATE_BONUS = 0.1
SUMMARY_ON_TOPIC = 0.6
# Reports read in full before a news answer is shaped.
READ_ON_TOPIC = 0.6
MAX_READ = 6
CAUSE_BONUS = 0.15
QUOTE_BONUS = 0.25
MAX_TIMELINE_LINES = 8
MAX_SUMMARY_REPORTS = 4
SUMMARY_WORDS = 260
LEAD_BONUS = 0.1
SUMMARY_RECENCY = 0.8
SUMMARY_REDUNDANCY = 0.3
SUMMARY_QUOTE_PENALTY = 0.3
WHY_LOOKAHEAD = 3
WHY_FLOOR = 0.7
WHY_WIDER_FLOOR = 0.6
SAME_REPORT_DAYS = 2

# "due to" before a verb says when something is planned ("due to open"), not why.
_SCHEDULED = (
    "be open start begin close finish end report resume run take arrive expire meet vote return "
    "launch sign appear hold testify give make come go visit publish rule decide announce deliver "
    "complete receive face stand retire leave step present submit travel speak sit hear enter "
    "reopen lift"
).split()
# Words that state a cause. "after", "following" and "since" often only say when, so
# they count for less.
_CAUSE = re.compile(
    r"\b(because|due to(?! (?:" + "|".join(_SCHEDULED) + r")\b)|owing to|as a result|"
    r"result(?:ed)? of|caused|cause[sd]?|blam(?:e|ed|es)|"
    r"the reason|reasons?|led to|so that|in order to|citing|cited|came from|"
    r"triggered|prompted|attributed|stemm(?:ed|ing) from|had to|was needed|needed to|"
    r"traced to|faulty|found that|concluded|(?:after|when) (?:tests|an? \w+) found)\b",
    re.I,
)
# A sentence that says the cause is not known yet states none ("too early to speculate
# about the cause"): early reports say so, later ones give the cause.
_NO_CAUSE = re.compile(
    r"\b(too early to (?:say|speculate|tell|know)|(?:not|yet to be|still being|has not been|"
    r"have not been) (?:known|determined|established|explained|identified)|unclear|"
    r"under investigation|unknown|no (?:immediate )?explanation|declined to speculate)\b",
    re.I,
)
_WEAK_CAUSE = re.compile(r"\b(after|following|since)\b(?! (?:the )?(?:\d|first|last|then))", re.I)
# What a report says when something changed: the newest state of a story.
_UPDATE = re.compile(
    r"\b(now|new|acting|interim|named|appointed|elected|succeed(?:ed|ing|s)?|replac(?:ed|ing)|"
    r"revised|raised|lowered|cut|increased|rose|risen|fell|stands? at|stood at|latest|final|"
    r"confirmed|approved|revoked|cleared|ended|completed|took over|has led|led by|reduc(?:ed|ing)|"
    r"overturn(?:ed|ing)|upheld|extended|delayed|pushed back|widened|expanded|doubled|"
    r"suspended|sentenced|resumed|rais(?:ed|ing)|increas(?:ed|ing))\b",
    re.I,
)
# A sentence that says something changed in size ("widened its recall to 164 lots").
_RESIZED = re.compile(
    r"\b(widen(?:ed|s|ing)?|expand(?:ed|s|ing)?|gr[eo]w(?:n|s|ing)?|r[io]s(?:e|en|es|ing)|"
    r"rais(?:ed|es|ing)|increas(?:ed|es|ing)|climb(?:ed|s|ing)|doubl(?:ed|es|ing)|"
    r"tripl(?:ed|es|ing)|cut(?:s|ting)?|reduc(?:ed|es|ing)|lower(?:ed|s|ing)|f[ae]ll(?:en|s|ing)?|"
    r"dropp(?:ed|ing)|shr[au]nk|extend(?:ed|s|ing)|escalat(?:ed|es|ing))\b",
    re.I,
)
# Verbs that report speech; "wrote" too when the words are attributed to a name.
_SAYS = (
    "said|says|told|tells|added|warned|argued|insisted|promised|pledged|announced|"
    "testified|described|called|urged"
)
_SPEECH_VERBS = _SAYS + "|wrote"
# Who a sentence says is speaking: "said chief executive Priya Namdev", "Namdev said".
_SPEAKER = re.compile(
    r"\bsaid\s+(?:[a-z][\w.'’-]*\s+){0,4}?(?:[A-Z][\w.'’-]+\s+)*(?P<a>[A-Z][\w'’-]+)\b|"
    r"\b(?P<b>[A-Z][\w'’-]+)\s+(?:said|says|added|told)\b"
)
_SPEECH = re.compile(rf"\b({_SAYS}|according to)\b", re.I)
_QUOTE_MARK = re.compile(r"[\"“”]")
_OPENS_QUOTE = re.compile(r"\s*[\"“]")
_CORRECTION = re.compile(r"\b(correct(?:ed|ion|s)|revised|clarif(?:y|ied|ication))\b", re.I)
_CORRECTION_NOTE = re.compile(
    r"^\W*(?:correction|clarification)\b|\ban earlier version of this (?:article|story|report)\b",
    re.I,
)
CORRECTION_WORDS = 30
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_FIGURE = re.compile(
    r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozens?)\b",
    re.I,
)
_HOW_MANY = re.compile(
    r"\bhow many\s+((?:(?!(?:were|was|had|have|has|did|do|does|are|is|will|would)\b)"
    r"[\w'-]+\s*){1,3})",
    re.I,
)
_NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_COUNT_FIGURE = re.compile(
    r"\b(?P<n>\d[\d,]*(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")\b"
    r"(?:\s+(?P<scale>thousand|million|billion)\b)?",
    re.I,
)
COUNTED_WINDOW = 3
CONFLICT_ON_TOPIC = 0.6
_TERMINAL = re.compile(r"[.!?…][\"”’')\]]*$")
LEAD_MIN_WORDS = 8
FIGURE_BONUS = 0.1
_WHEN_SPLIT = re.compile(r",?\s*(?:and\s+)?(?=\bwhen\b)", re.I)


def _date_of(hit: Hit) -> str:
    return (hit.passage.published or "")[:10]


def _days(hit: Hit) -> int | None:
    from datetime import date

    try:
        return date.fromisoformat(_date_of(hit)).toordinal()
    except ValueError:
        return None


def _lead(hit: Hit, as_of: bool = False) -> str:
    day = long_date(hit.passage.published)
    source = hit.passage.source
    where = f"{day} ({source})" if day and source else day or source or ""
    if not where:
        return ""
    return f"As of {where}: " if as_of and day else f"{where}: "


def best_per_report(rows: Sequence[Row], hits: Sequence[Hit]) -> list[Row]:
    """The best sentence of each article, best first."""
    seen: set[str] = set()
    out = []
    for row in rows:
        article = hits[row[1]].passage.article_id
        if article not in seen:
            seen.add(article)
            out.append(row)
    return out


def on_topic(rows: Sequence[Row], hits: Sequence[Hit], ratio: float) -> list[Row]:
    """The reports whose best sentence scores at least ``ratio`` of the best sentence."""
    best = best_per_report(rows, hits)
    if not best:
        return []
    top = best[0][0]
    return [r for r in best if r[0] >= ratio * top]


def reports_to_read(rows: Sequence[Row], hits: Sequence[Hit], newest: bool) -> list[Row]:
    """The reports read in full before a news answer is shaped: the ``MAX_READ`` most
    relevant on topic and, with ``newest``, the newest on-topic one (the latest state of
    a story is often in a report that recaps it, whose best passage did not match best)."""
    candidates = on_topic(rows, hits, READ_ON_TOPIC)
    chosen = candidates[:MAX_READ]
    dated = [r for r in candidates if _days(hits[r[1]]) is not None]
    if newest and dated:
        last = max(dated, key=lambda r: _days(hits[r[1]]))
        if last not in chosen:
            chosen.append(last)
    return chosen


def _quote(hits: Sequence[Hit], row: Row, terms: set[str], max_words: int, lead: str) -> Quote:
    score, i, j, sentence = row
    text = _trim(sentence, terms, max_words)
    return Quote(i, j, text, score, _same_fact(hits, i, j), lead=lead)


def latest(
    rows: Sequence[Row], hits: Sequence[Hit], terms: set[str], max_words: int
) -> list[Quote]:
    """The newest on-topic report, with its date and outlet; a correction wins.

    Reports are weighed by relevance (their best sentence against the best) plus recency
    (the newest report of those on topic gets ``RECENCY_WEIGHT``, the oldest nothing), so a
    newer report wins unless an older one is clearly more on topic.
    """
    candidates = on_topic(rows, hits, LATEST_ON_TOPIC)
    if not candidates:
        return []
    newest = _by_time(candidates, hits, newest=True)
    newest = _correction_of(newest, rows, hits, LATEST_ON_TOPIC * candidates[0][0]) or newest
    quotes = [_quote(hits, newest, terms, max_words, _lead(hits[newest[1]], as_of=True))]
    article = hits[newest[1]].passage.article_id
    for row in rows:  # the report's next best sentence, when nearly as good
        if row[3] == newest[3] or hits[row[1]].passage.article_id != article:
            continue
        if row[0] >= LATEST_SECOND * newest[0] and _distinct([q.text for q in quotes], row[3]):
            quotes.append(_quote(hits, row, terms, max_words, ""))
        break
    return quotes


def _correction_of(
    chosen: Row, rows: Sequence[Row], hits: Sequence[Hit], floor: float
) -> Row | None:
    """An on-topic sentence (scoring at least ``floor``) that corrects or revises a figure,
    from a report published the same day as ``chosen`` or up to ``SAME_REPORT_DAYS``
    after it: a correction beats the figure it corrects."""
    day = _days(hits[chosen[1]])
    if day is None or _CORRECTION.search(chosen[3]):
        return None
    for row in rows:
        other = _days(hits[row[1]])
        if row[0] < floor or other is None or not 0 <= other - day <= SAME_REPORT_DAYS:
            continue
        if _CORRECTION.search(row[3]) and _NUMBER.search(row[3]):
            return row
    return None


def earliest(
    rows: Sequence[Row], hits: Sequence[Hit], terms: set[str], max_words: int
) -> list[Quote]:
    """The first on-topic report, with its date and outlet (relevance weighed with
    earliness, as :func:`latest` does with recency)."""
    candidates = [r for r in on_topic(rows, hits, LATEST_ON_TOPIC) if _days(hits[r[1]])]
    if not candidates:
        return []
    first = _by_time(candidates, hits, newest=False)
    return [_quote(hits, first, terms, max_words, _lead(hits[first[1]]))]


def _by_time(candidates: list[Row], hits: Sequence[Hit], newest: bool) -> Row:
    """The candidate with the best relevance (against the best) plus ``RECENCY_WEIGHT``
    times its freshness: 1 for the newest report (with ``newest=False`` the oldest),
    halving every ``RECENCY_HALF_LIFE_DAYS`` before it, or sooner when the candidates
    span only a few days (``SPAN_SHARE`` of the span); undated reports get nothing."""
    top = candidates[0][0] or 1.0
    days = [_days(hits[r[1]]) for r in candidates]
    known = [d for d in days if d is not None]
    edge = (max(known) if newest else min(known)) if known else 0
    span = (max(known) - min(known)) if known else 0
    half_life = min(RECENCY_HALF_LIFE_DAYS, max(1.0, SPAN_SHARE * span))

    def value(pair):
        row, day = pair
        place = 0.5 ** (abs(edge - day) / half_life) if day is not None else 0.0
        return (row[0] / top + RECENCY_WEIGHT * place, bool(_CORRECTION.search(row[3])))

    return max(zip(candidates, days, strict=True), key=value)[0]


def _freshness(reports: Sequence[Row], hits: Sequence[Hit]) -> dict[str, float]:
    """Each report's freshness among ``reports``: 1 for the newest, halving every
    ``RECENCY_HALF_LIFE_DAYS`` before it, 0 for an undated report; times how far the
    report is on topic (1 for the best report, 0 at the ``SUMMARY_ON_TOPIC`` threshold),
    so a new report that only touches the topic is not taken for its current state."""
    top = max((r[0] for r in reports), default=0.0) or 1.0
    days = {hits[r[1]].passage.article_id: (_days(hits[r[1]]), r[0] / top) for r in reports}
    known = [d for d, _ in days.values() if d is not None]
    edge = max(known) if known else 0
    span = 1.0 - SUMMARY_ON_TOPIC
    out = {}
    for article, (day, ratio) in days.items():
        on_topic = max(0.0, (ratio - SUMMARY_ON_TOPIC) / span)
        age = (edge - day) if day is not None else None
        out[article] = 0.5 ** (age / RECENCY_HALF_LIFE_DAYS) * on_topic if age is not None else 0.0
    return out


def _distinct(shown: Sequence[str], text: str) -> bool:
    """Whether ``text`` says something other than each of the ``shown`` texts."""
    words = set(re.findall(r"\w+", text.lower()))
    for seen in shown:
        other = set(re.findall(r"\w+", seen.lower()))
        if words and other and len(words & other) / min(len(words), len(other)) >= 0.8:
            return False
    return True


def timeline(
    question: str,
    rows: Sequence[Row],
    hits: Sequence[Hit],
    terms: set[str],
    max_words: int,
    rescore: Callable[[str], list[Row]],
) -> list[Quote]:
    """One dated line per on-topic report (or per event asked about), oldest first."""
    parts = [p for p in _WHEN_SPLIT.split(question) if re.search(r"\bwhen\b", p, re.I)]
    if len(parts) > 1:
        chosen = []
        names = answer_names(question)
        for part in parts:  # "..., and when was his successor named": with the person's name
            if refers_to_person(part):
                part = " ".join([part.strip(" ,"), *(n for n in names if n not in part)])
            best = rescore(part)
            if best:
                chosen.append(best[0])
    else:
        chosen = _coherent(on_topic(rows, hits, TIMELINE_ON_TOPIC), rows, hits)
    chosen.sort(key=lambda r: (_date_of(hits[r[1]]) or "9999", r[1], r[2]))
    quotes: list[Quote] = []
    for row in chosen:
        if len(quotes) >= MAX_TIMELINE_LINES:
            break
        if _distinct([q.text for q in quotes], row[3]):
            quotes.append(_quote(hits, row, terms, max_words, _lead(hits[row[1]])))
    return quotes


def _coherent(chosen: list[Row], rows: Sequence[Row], hits: Sequence[Hit]) -> list[Row]:
    """Each report's line re-picked so the lines tell one story: among the report's
    sentences scoring at least ``TIMELINE_OWN`` of its best, the one with the best relevance
    (against the best report) plus ``TIMELINE_COHERENCE`` times its mean likeness to the other
    reports' lines (a cost line beside other cost lines, not a fare in a report on cost)."""
    if len(chosen) < 3 or TIMELINE_COHERENCE <= 0:
        return chosen
    top = chosen[0][0] or 1.0
    options: list[list[Row]] = []
    for best in chosen:
        article = hits[best[1]].passage.article_id
        options.append(
            [
                r
                for r in rows
                if hits[r[1]].passage.article_id == article and r[0] >= TIMELINE_OWN * best[0]
            ]
        )
    flat = [r for group in options for r in group]
    vectors = _unit_vectors(flat, hits)
    if vectors is None:
        return chosen
    index = {(r[1], r[2]): n for n, r in enumerate(flat)}
    picks = [index[(r[1], r[2])] for r in chosen]
    for _ in range(2):
        for g, group in enumerate(options):
            others = vectors[[p for h, p in enumerate(picks) if h != g]]
            agree = others @ vectors[[index[(r[1], r[2])] for r in group]].T
            values = [
                r[0] / top + TIMELINE_COHERENCE * float(agree[:, n].mean())
                for n, r in enumerate(group)
            ]
            best = group[values.index(max(values))]
            picks[g] = index[(best[1], best[2])]
    return [flat[n] for n in picks]


def summary(
    rows: Sequence[Row],
    hits: Sequence[Hit],
    reports: Sequence[Row],
    leads: dict[str, tuple[int, int, str]],
    terms: set[str],
) -> list[Quote]:
    """The key facts, within a word budget, newest report first; each report's sentences
    in the order it tells them.

    Sentences of the on-topic ``reports`` are picked greedily (maximal marginal relevance):
    relevance to the question (against the best report), plus the freshness of its report
    (the newest report holds the story's current state), a report's lead (news leads are
    written to summarize) and a figure; minus its likeness to the sentences already picked,
    so an older version of a fact already given is left out, and minus a penalty when it
    opens with a direct quotation (a summary reports facts; quotes are colour).

    ``reports`` are :func:`summary_reports`; ``leads`` maps an article id to (hit index,
    sentence index, lead sentence) for those whose first passage is among ``hits``.
    """
    wanted = {hits[r[1]].passage.article_id: r for r in reports}
    fresh = _freshness(reports, hits)
    lead_at = {(i, j) for i, j, _ in leads.values()}
    top = max((r[0] for r in reports), default=1.0) or 1.0
    candidates = [
        r
        for r in rows
        if hits[r[1]].passage.article_id in wanted and len(r[3].split()) >= LEAD_MIN_WORDS
    ]
    scored = {(r[1], r[2]) for r in candidates}
    for i, j, text in leads.values():  # a lead not among the scored rows
        article = hits[i].passage.article_id
        if (i, j) not in scored and article in wanted:
            candidates.append((wanted[article][0], i, j, text))
    vectors = _unit_vectors(candidates, hits)
    base = [
        score / top
        + SUMMARY_RECENCY * fresh[hits[i].passage.article_id]
        + (LEAD_BONUS if (i, j) in lead_at else 0.0)
        + (FIGURE_BONUS if _FIGURE.search(text) else 0.0)
        - (SUMMARY_QUOTE_PENALTY if _OPENS_QUOTE.match(text) else 0.0)
        for score, i, j, text in candidates
    ]
    picked: list[int] = []
    used = 0
    left = set(range(len(candidates)))
    while left:

        def value(n: int) -> float:
            if not picked or vectors is None:
                return base[n]
            overlap = max(float(vectors[n] @ vectors[m]) for m in picked)
            return base[n] - SUMMARY_REDUNDANCY * overlap

        n = max(left, key=value)
        left.discard(n)
        text = candidates[n][3]
        words = len(text.split())
        if picked and used + words > SUMMARY_WORDS:
            continue
        if not _distinct([candidates[m][3] for m in picked], text):
            continue
        picked.append(n)
        used += words
    chosen = sorted(
        (candidates[n] for n in picked),
        key=lambda r: (
            _date_of(hits[r[1]]),
            hits[r[1]].passage.article_id,
            -hits[r[1]].passage.ordinal,
            -r[2],
        ),
        reverse=True,
    )
    quotes: list[Quote] = []
    for row in chosen:
        same = quotes and hits[quotes[-1].hit].passage.article_id == hits[row[1]].passage.article_id
        lead = "" if same else _lead(hits[row[1]])
        quotes.append(_quote(hits, row, terms, SUMMARY_WORDS, lead))
    return quotes


def _unit_vectors(candidates: Sequence[Row], hits: Sequence[Hit]):
    """The unit sentence vector of each candidate, or None when a hit has none."""
    import numpy as np

    out = []
    for _, i, j, _ in candidates:
        vectors = hits[i].sentence_vectors
        if vectors is None or j >= len(vectors):
            return None
        out.append(np.asarray(vectors[j], dtype=np.float32))
    if not out:
        return None
    matrix = np.vstack(out)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def summary_reports(rows: Sequence[Row], hits: Sequence[Hit]) -> list[Row]:
    """The reports a summary draws on, newest first: the most relevant ones and the newest
    on-topic one."""
    candidates = on_topic(rows, hits, SUMMARY_ON_TOPIC)
    chosen = candidates[:MAX_SUMMARY_REPORTS]
    if candidates:
        newest = max(candidates, key=lambda r: _date_of(hits[r[1]]))
        if newest not in chosen:
            chosen.append(newest)
    return sorted(chosen, key=lambda r: (_date_of(hits[r[1]]), r[0]), reverse=True)


def why(rows: Sequence[Row], hits: Sequence[Hit], terms: set[str], max_words: int) -> list[Quote]:
    """The best sentence, and the sentence that gives the cause: the first of the next few
    sentences of the same report with a cause word (news states an event, then says why),
    else the best-scoring sentence with one elsewhere (scoring at least ``WHY_FLOOR`` of the
    best), else the next sentence."""
    if not rows:
        return []
    top = rows[0]
    quotes = [_quote(hits, top, terms, max_words, "")]
    if states_cause(top[3]) and len(rows) > 1 and rows[1][0] >= ON_TOPIC * top[0]:
        second = rows[1]
        if second[3] != top[3]:
            quotes.append(_quote(hits, second, terms, max_words, ""))
        return quotes
    sentences = hits[top[1]].passage.sentence_texts()
    following = list(range(top[2] + 1, min(top[2] + 1 + WHY_LOOKAHEAD, len(sentences))))
    for k in following:
        if states_cause(sentences[k]):
            quotes.append(_quote(hits, (top[0], top[1], k, sentences[k]), terms, max_words, ""))
            return quotes
    causes = [r for r in rows[1:] if r[0] >= WHY_FLOOR * top[0] and states_cause(r[3])]
    if causes and causes[0][3] != top[3]:  # the cause, stated elsewhere in the reports read
        quotes.append(_quote(hits, causes[0], terms, max_words, ""))
        return quotes
    if following:
        k = following[0]
        quotes.append(_quote(hits, (top[0], top[1], k, sentences[k]), terms, max_words, ""))
    return quotes


def hints_cause(sentence: str) -> bool:
    """Whether ``sentence`` has any cause word, even one that may only say when ("after")."""
    return states_cause(sentence) or bool(_WEAK_CAUSE.search(sentence))


def cause_quote(
    rows: Sequence[Row], hits: Sequence[Hit], terms: set[str], max_words: int
) -> Quote | None:
    """The best sentence that states a cause, scoring at least ``WHY_WIDER_FLOOR`` of the
    best row; None when there is none."""
    if not rows:
        return None
    for row in rows:
        if row[0] < WHY_WIDER_FLOOR * rows[0][0]:
            break
        if states_cause(row[3]):
            return _quote(hits, row, terms, max_words, "")
    return None


def states_cause(sentence: str) -> bool:
    """Whether ``sentence`` has a cause word and does not say the cause is unknown."""
    return bool(_CAUSE.search(sentence)) and not _NO_CAUSE.search(sentence)


def _cause_bonus(sentence: str, stems: set[str]) -> float:
    """``CAUSE_BONUS`` for a sentence that states a cause after naming the event asked about
    ("recalled 118 lots after tests found an impurity"), half of it for a cause word alone
    or a word that may only say when."""
    if _NO_CAUSE.search(sentence):
        return 0.0
    strong = _CAUSE.search(sentence)
    cue = strong or _WEAK_CAUSE.search(sentence)
    if not cue:
        return 0.0
    before = {w.lower()[:5] for w in re.findall(r"[\w'-]+", sentence[: cue.start()])}
    if strong and before & stems:
        return CAUSE_BONUS
    return CAUSE_BONUS / 2


def lead_sentence(sentences: Sequence[str]) -> str | None:
    """An article's lead: its first full sentence (not a label or a subtitle)."""
    for sentence in sentences[:4]:
        if len(sentence.split()) >= LEAD_MIN_WORDS and _TERMINAL.search(sentence.strip()):
            return sentence
    return None


def boosted(rows: Sequence[Row], hits: Sequence[Hit], intent: Intent) -> list[Row]:
    """Rows re-ranked for ``why`` (sentences that state a cause), ``who_said`` (quotes
    attributed to the speaker) and questions about a figure (sentences that give one)."""
    out = []
    surname = (intent.speaker or "").split()[-1:] or [""]
    stems = {w.lower()[:5] for w in content_words(intent.topic)} if intent.kind == "why" else set()
    for score, i, j, sentence in rows:
        bonus = 0.0
        if intent.quantity and intent.kind in ("timeline", "latest", "lookup"):
            bonus = FIGURE_BONUS if _FIGURE.search(sentence) else 0.0
        if intent.kind == "latest" and _UPDATE.search(sentence):
            bonus += UPDATE_BONUS
        if intent.growth and _RESIZED.search(sentence):
            bonus += UPDATE_BONUS
        if intent.kind == "why":
            bonus = _cause_bonus(sentence, stems)
        elif intent.kind == "who_said" and surname[0]:
            name = surname[0].lower()
            if _QUOTE_MARK.search(sentence):
                sentences = hits[i].passage.sentence_texts()
                near = " ".join(sentences[max(0, j - 1) : j + 2])
                if name in near.lower():
                    other = _speaker_in(sentence)  # the quote is someone else's
                    mine = other is None or other.lower() == name or attributed_to(near, name)
                    bonus = QUOTE_BONUS if mine else QUOTE_BONUS / 4
            elif name in sentence.lower() and _SPEECH.search(sentence):  # reported speech
                bonus = QUOTE_BONUS / 2
        out.append((score + bonus, i, j, sentence))
    out.sort(key=lambda r: r[0], reverse=True)
    return out


def _speaker_in(sentence: str) -> str | None:
    """The surname a sentence attributes its words to, if it names one."""
    match = _SPEAKER.search(sentence)
    return (match["a"] or match["b"]) if match else None


def attributed_to(text: str, surname: str) -> bool:
    """Whether ``text`` attributes words to ``surname``: "Tolliver said", "Tolliver, the
    chief executive, said", "said chief executive Graham Tolliver" (not "said Namdev, who
    took over when Tolliver resigned")."""
    name = re.escape(surname)
    before = rf"\b{name}\b(?:,[^,]{{0,60}},)?\s+(?:{_SPEECH_VERBS})\b"
    after = rf"\b(?:{_SPEECH_VERBS}|according to)\s+(?:[\w.'’-]+\s+){{0,5}}?{name}\b"
    return bool(re.search(before, text, re.I) or re.search(after, text, re.I))


def counted_words(question: str) -> set[str]:
    """The stems of what a "how many ..." question counts ("dockworkers" in "How many
    dockworkers walked out?"); empty for other questions."""
    match = _HOW_MANY.search(question)
    if not match:
        return set()
    return {w.lower()[:5] for w in re.findall(r"[A-Za-z][\w'-]*", match.group(1))}


def figures_of(sentence: str, counted: set[str]) -> set[float]:
    """The values of the figures in ``sentence`` that count one of ``counted`` (the noun
    within a few words after the figure: "3,600 dockworkers", "five construction workers");
    every figure that is not a date when ``counted`` is empty."""
    out = set()
    for m in _COUNT_FIGURE.finditer(sentence):
        value = _value(m.group("n"), m.group("scale"))
        if value is None:
            continue
        after = re.findall(r"[A-Za-z][\w'-]*", sentence[m.end() : m.end() + 40])[:COUNTED_WINDOW]
        if not counted or {w.lower()[:5] for w in after} & counted:
            out.add(value)
    return out


def _value(number: str, scale: str | None) -> float | None:
    word = number.lower()
    if word in _NUMBER_WORDS:
        value = float(_NUMBER_WORDS[word])
    else:
        try:
            value = float(number.replace(",", ""))
        except ValueError:
            return None
        if not scale and 1900 <= value <= 2100 and "," not in number and "." not in number:
            return None  # a year
    return value * _SCALES.get((scale or "").lower(), 1)


def conflicting(
    first: Quote,
    rows: Sequence[Row],
    hits: Sequence[Hit],
    terms: set[str],
    max_words: int,
    counted: set[str] = frozenset(),
) -> list[Quote]:
    """A report from another outlet, within days of ``first``, that gives a different
    figure for what is counted: its best on-topic sentence (at least ``CONFLICT_ON_TOPIC`` of
    the best) whose figures for ``counted`` share none with those of ``first``."""
    mine = figures_of(first.text, counted)
    source = (hits[first.hit].passage.source or "").lower()
    day = _days(hits[first.hit])
    if not mine or day is None or not rows:
        return []
    floor = CONFLICT_ON_TOPIC * rows[0][0]
    for row in rows:
        hit = hits[row[1]]
        other_source = (hit.passage.source or "").lower()
        other_day = _days(hit)
        if row[0] < floor:
            break
        if not other_source or other_source == source or other_day is None:
            continue
        numbers = figures_of(row[3], counted)
        if abs(other_day - day) <= SAME_REPORT_DAYS and numbers and not numbers & mine:
            return [_quote(hits, row, terms, max_words, _lead(hit))]
    return []


def whole_quotes(quotes: Sequence[Quote], hits: Sequence[Hit], max_words: int) -> list[Quote]:
    """``quotes`` with a quotation that goes on past the sentence quoted kept whole: the
    sentences that follow while the quotation is open (an opening mark not yet closed), or
    a quote right after an attributed one that names no other speaker (news gives the
    speaker once), up to ``max_words``."""
    out = []
    for q in quotes:
        sentences = _sentences_from(hits, q.hit, q.sentence)
        text, j = q.text, 0
        while j + 1 < len(sentences) and len(text.split()) < max_words:
            following = sentences[j + 1]
            open_mark = len(_QUOTE_MARK.findall(text)) % 2 == 1
            opens_next = _OPENS_QUOTE.match(following) and not _SPEECH.search(following)
            if not (open_mark or (opens_next and _SPEECH.search(text))):
                break
            if len((text + " " + following).split()) > max_words:
                break
            text, j = f"{text} {following}", j + 1
            if not len(_QUOTE_MARK.findall(text)) % 2:
                break
        out.append(replace(q, text=text))
    return out


def whole_corrections(quotes: Sequence[Quote], hits: Sequence[Hit]) -> list[Quote]:
    """``quotes`` with a correction note kept whole: "An earlier version of this article
    misstated the date as 2 March" says what was wrong, and the sentence after it what is
    right ("Claims open on 2 April")."""
    out = []
    for q in quotes:
        if _CORRECTION_NOTE.search(q.text):
            following = _sentences_from(hits, q.hit, q.sentence)[1:2]
            if following and len(following[0].split()) <= CORRECTION_WORDS:
                q = replace(q, text=f"{q.text} {following[0]}")
        out.append(q)
    return out


def _sentences_from(hits: Sequence[Hit], i: int, j: int) -> list[str]:
    """Sentence ``j`` of hit ``i`` and those after it in the article, into the next passage
    when it is among ``hits`` (passages overlap by a sentence or more)."""
    passage = hits[i].passage
    out = passage.sentence_texts()[j:]
    nxt = next(
        (
            h.passage
            for h in hits
            if h.passage.article_id == passage.article_id
            and h.passage.ordinal == passage.ordinal + 1
        ),
        None,
    )
    if nxt is not None:
        more = nxt.sentence_texts()
        last = out[-1] if out else ""
        start = more.index(last) + 1 if last in more else 0
        out += more[start:]
    return out


def with_lead(quotes: list[Quote], hits: Sequence[Hit]) -> list[Quote]:
    """``quotes`` with the date and outlet of their report in front."""
    return [replace(q, lead=q.lead or _lead(hits[q.hit])) for q in quotes]


def no_report_text(frame: TimeFrame) -> str:
    """The opening of an answer to "did X happen in <time>" when no report is that old."""
    return f"No indexed report {frame.describe()} covers this. Reports that do:"
