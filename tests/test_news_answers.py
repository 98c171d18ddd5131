"""News answers shaped by the question (issue 10), through ``DatelineService.ask`` with the
real model and Chroma: the seed-article questions of the issue, and each answer shape on a
small invented story (the Corran Bridge closure: six dated reports from two outlets).

Every answer is read at a fixed "now". A test marked ``xfail(strict=True)`` pins what the
answer should be and names, in its reason, what comes back today.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

import pytest

import bot.news_answers as shapes
from bot.answer import Answer
from bot.extractive import Quote, age_not_given
from retrieval.models import Hit, Passage
from tests.helpers import make_service, seed_home

SEED_NOW = date(2026, 12, 2)
STORY_NOW = date(2025, 6, 1)
SPUTNIK = "UrduPoint News / Sputnik"
COURIER = "Harbour Courier"
POST = "Velmora Post"
CLOSED_PERMALINK = "https://www.harbourcourier.example/2024/03/corran-bridge-closed"

STORY = {
    "01-harbour-courier-2024-03-04.txt": """\
Corran Bridge closed after inspectors find cracked cables

VELMORA, March 4, 2024 (Harbour Courier) - The Corran Bridge, which carries about 40,000 \
vehicles a day across the Tessa River, was closed to all traffic on Monday after inspectors \
found cracks in two of its main suspension cables, city officials said.

The bridge was closed because corrosion had eaten through the protective casing of the cables \
and let rainwater reach the steel wires, said the city's chief engineer, Hana Ostrik.

"We cannot take any risk with a structure that thousands of families cross every day," Ostrik \
told a news conference. "The bridge will stay shut until every cable has been tested."

Buses that used the bridge will be diverted over the Marsh Road crossing, adding about 25 \
minutes to journeys between the old town and the northern suburbs.

(Reporting by Tomas Reyl; editing by Ana Vost)

Permalink: https://www.harbourcourier.example/2024/03/corran-bridge-closed
""",
    "02-velmora-post-2024-03-19.md": """\
---
title: "Corran Bridge repair to cost 42 million crowns, council says"
date: 2024-03-19
source: Velmora Post
url: https://velmorapost.example/2024/03/corran-repair-cost
author: Irena Malk
---

Repairing the Corran Bridge will cost 42 million crowns and take at least eight months, the \
Velmora city council said on Tuesday in its first estimate since the bridge was closed.

Transport minister Daniel Ferreby said the national government would pay half of the bill. \
"Velmora will not be left to carry this alone," Ferreby told the council. "We will fund half \
of the repair from the national roads budget."

Council member Lidia Arnaud, who leads the opposition, questioned the timetable. "Eight months \
is wishful thinking for a bridge this old," Arnaud said.

Four of the bridge's twelve suspension cables will be replaced, the council said.
""",
    "03-harbour-courier-2024-03-19.txt": """\
Corran Bridge repairs put at 58 million crowns

VELMORA, March 19, 2024 (Harbour Courier) - Repairing the Corran Bridge will cost 58 million \
crowns, according to a council document seen by the Harbour Courier on Tuesday, well above \
what officials had suggested after the closure.

The document says the work will take at least eight months and that four of the twelve \
suspension cables must be replaced.

URL: https://www.harbourcourier.example/2024/03/corran-repairs-58-million
""",
    "04-velmora-post-2024-09-02.md": """\
---
title: "Corran Bridge repair estimate rises to 71 million crowns"
date: 2024-09-02
source: Velmora Post
---

The estimated cost of repairing the Corran Bridge has risen to 71 million crowns after \
engineers found that two more cables needed replacing, the city council said on Monday.

The council said the bridge would not reopen before the spring of 2025.
""",
    "05-velmora-post-2024-09-03.md": """\
---
title: "Correction: Corran Bridge repair estimate"
date: 2024-09-03
source: Velmora Post
---

Correction: the estimated cost of repairing the Corran Bridge is 67 million crowns, not 71 \
million crowns as reported on Monday, the city council said on Tuesday.

The earlier figure wrongly included tax that the national government will refund.
""",
    "06-harbour-courier-2025-04-14.txt": """\
Corran Bridge reopens to traffic after 13-month closure

VELMORA, April 14, 2025 (Harbour Courier) - The Corran Bridge reopened to cars and buses on \
Monday, 13 months after it was closed when inspectors found cracked suspension cables.

Heavy lorries will stay banned from the bridge until final load tests in June, Ostrik said.

Permalink: https://www.harbourcourier.example/2025/04/corran-bridge-reopens
""",
}

# "14 April 2025 (Harbour Courier): " - the date and outlet an answer puts before a quote.
_LEAD = re.compile(r"(?P<day>\d{1,2} [A-Z][a-z]+ \d{4}) \((?P<source>[^()]+)\): ")
_MARK = re.compile(r"\[(\d+)\]")
_TRAILER = re.compile(r"Permalink:|URL:|https?://|Reporting by", re.I)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """A service over the three seed articles (the index shared by the test process)."""
    return make_service(seed_home(tmp_path_factory))


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """A service over the Corran Bridge story, indexed once for this module."""
    root = tmp_path_factory.mktemp("corran")
    folder = root / "articles"
    folder.mkdir()
    for name, text in STORY.items():
        (folder / name).write_text(text, encoding="utf-8")
    service = make_service(root / "home")
    report = service.ingest_paths([folder])
    assert report.added == len(STORY), report.summary()
    return service


def ask(service, question: str, now: date) -> Answer:
    """``service.ask`` at ``now``, with what holds for every answer checked: nothing cited
    is newer than ``now``, every marker has its citation, and no metadata trailer is
    quoted."""
    answer = service.ask(question, now=now)
    numbers = {c.n for c in answer.citations}
    assert {int(n) for n in _MARK.findall(answer.text)} == numbers, answer.text
    for c in answer.citations:
        assert c.published is None or c.published[:10] <= now.isoformat(), c
    for text in [answer.text, *(c.quote for c in answer.citations)]:
        assert not _TRAILER.search(text), text
    return answer


def day(text: str) -> date:
    return datetime.strptime(text, "%d %B %Y").date()


def cited(answer: Answer, segment: str) -> list:
    """The citations of the ``[n]`` markers in ``segment`` of ``answer``."""
    by_n = {c.n: c for c in answer.citations}
    return [by_n[int(n)] for n in _MARK.findall(segment)]


def segments(answer: Answer) -> list[tuple[date, str, str]]:
    """(date, outlet, text up to the next lead) for each dated lead of ``answer``."""
    found = list(_LEAD.finditer(answer.text))
    ends = [m.start() for m in found[1:]] + [len(answer.text)]
    return [
        (day(m["day"]), m["source"], answer.text[m.end() : end])
        for m, end in zip(found, ends, strict=True)
    ]


def assert_segments_cite_their_reports(answer: Answer) -> None:
    """Each dated lead is followed by quotes cited first to a report of that date and outlet
    (a second marker may name another outlet that reported the same fact that day)."""
    by_n = {c.n: c for c in answer.citations}
    for when, source, text in segments(answer):
        citations = cited(answer, text)
        assert citations, text
        assert all(c.published[:10] == when.isoformat() for c in citations), (when, citations)
        for run in re.findall(r"(?:\[\d+\])+", text):
            first = by_n[int(_MARK.findall(run)[0])]
            assert first.source == source, (source, run, citations)


# -- the seed-article questions of the issue -------------------------------------------------


def test_seed_when_did_xi_and_kim_last_exchange_messages(seeds):
    answer = ask(seeds, "When did Xi and Kim last exchange messages?", SEED_NOW)
    assert not answer.abstained
    assert "March 2021" in answer.text
    first = answer.citations[0]
    assert first.source == SPUTNIK and first.published.startswith("2021-03-22")
    assert "oral messages" in answer.text


@pytest.mark.xfail(
    strict=True,
    reason="abstains: the topic left after removing the intent words is 'the about Xi and Kim?', "
    "whose evidence is semantic 0.53, coverage 0.02 (strength 0.28 < 0.47); the question is not "
    "'broad' because 'about Xi and Kim' has content words and no window",
)
def test_seed_latest_news_about_xi_and_kim(seeds):
    answer = ask(seeds, "What's the latest news about Xi and Kim?", SEED_NOW)
    assert not answer.abstained
    assert answer.text.startswith(f"As of 22 March 2021 ({SPUTNIK}): ")
    assert answer.citations[0].published.startswith("2021-03-22")


def test_seed_what_happened_in_march_2021(seeds):
    answer = ask(seeds, "What happened in March 2021?", SEED_NOW)
    assert not answer.abstained and answer.mode == "extractive"
    assert answer.text.startswith(f"22 March 2021 ({SPUTNIK}): ")
    assert "exchanged oral messages" in answer.text
    assert answer.citations and all(c.published.startswith("2021-03") for c in answer.citations)


@pytest.mark.xfail(
    strict=True,
    reason="abstains: evidence semantic 0.33, coverage 0.12 (strength 0.22 < 0.47); the TOI "
    "sentences 'signalled a possible improvement in their strained relationships' and "
    "'carries a symbolic meaning' are never quoted",
)
def test_seed_why_is_the_exchange_significant(seeds):
    answer = ask(seeds, "Why is the exchange significant?", SEED_NOW)
    assert not answer.abstained
    assert "signalled a possible improvement" in answer.text or "symbolic meaning" in answer.text
    assert "The Times of India" in {c.source for c in answer.citations}


def test_seed_no_report_in_2019_names_the_reports_that_exist(seeds):
    answer = ask(seeds, "Did Xi and Kim exchange messages in 2019?", SEED_NOW)
    assert not answer.abstained
    assert answer.text.startswith("No indexed report in 2019 covers this. Reports that do: ")
    assert f"22 March 2021 ({SPUTNIK}): " in answer.text
    sources = {c.source for c in answer.citations}
    assert {SPUTNIK, "Reuters"} <= sources
    assert not any((c.published or "").startswith("2019") for c in answer.citations)
    assert "missile" not in answer.text  # the unrelated sentence the issue reported


@pytest.mark.xfail(
    strict=True,
    reason="the Reuters and TOI seeds carry no publication date (their text gives none with a "
    "year: 'on thursday', 'nov. 1'), so the Nov. 2017 report is named as 'Reuters: Chinese "
    "president xi jinping replied to…' with no date, and the TOI report is not named",
)
def test_seed_no_report_in_2019_dates_the_2017_reports(seeds):
    answer = ask(seeds, "Did Xi and Kim exchange messages in 2019?", SEED_NOW)
    assert re.search(r"November 2017 \(Reuters\)", answer.text), answer.text


def test_seed_reuters_wire_copy_is_quoted_readably(seeds):
    answer = ask(
        seeds, "Who did Kim congratulate at the end of the Communist Party congress?", SEED_NOW
    )
    first = answer.citations[0]
    assert first.source == "Reuters"
    for text in (answer.text, first.quote):
        assert text.startswith("Kim sent a congratulatory message to Xi")
        assert "China's Communist" in text
        assert not re.search(r"\b[a-z]+ s\b", text), text  # "china s", "kim s"


@pytest.mark.xfail(
    strict=True,
    reason="capitals come only from the other outlets' passages among the hits; when every hit "
    "is Reuters the quote stays lower-case: 'Nam seong-wook, a professor of north korea studies "
    "at korea university in seoul, said xi's reply to kim could be interpreted as china's "
    "strategic ambition…'",
)
def test_seed_reuters_wire_copy_is_readable_without_other_outlets(seeds):
    answer = ask(seeds, "How could Xi's reply to Kim be interpreted?", SEED_NOW)
    assert answer.citations[0].source == "Reuters"
    assert "Xi's reply to Kim" in answer.text and "China's" in answer.text


@pytest.mark.xfail(
    strict=True,
    reason="a title derived from flattened wire copy starts with a capital ('Chinese president "
    "xi jinping replied…'), so is_flattened() does not see it and the no-report answer names "
    "the report in lower case",
)
def test_seed_wire_copy_title_is_readable(seeds):
    answer = ask(seeds, "Did Xi and Kim exchange messages in 2019?", SEED_NOW)
    assert "Chinese President Xi Jinping replied to North Korean leader Kim" in answer.text


# -- each answer shape on the Corran Bridge story --------------------------------------------


def test_latest_puts_the_newest_report_first(story):
    answer = ask(story, "What is the latest on the Corran Bridge?", STORY_NOW)
    assert not answer.abstained
    assert answer.text.startswith(f"As of 14 April 2025 ({COURIER}): ")
    assert "reopened to cars and buses" in answer.text
    first = answer.citations[0]
    assert first.source == COURIER and first.published.startswith("2025-04-14")


def test_latest_ignores_reports_after_now(story):
    answer = ask(story, "What is the latest on the Corran Bridge?", date(2024, 3, 10))
    assert answer.text.startswith(f"As of 4 March 2024 ({COURIER}): ")
    assert {c.published[:10] for c in answer.citations} == {"2024-03-04"}


def test_latest_correction_beats_the_figure_it_corrects(story):
    answer = ask(story, "What is the latest estimate of the Corran Bridge repair cost?", STORY_NOW)
    assert answer.text.startswith(f"As of 3 September 2024 ({POST}): ")
    first = answer.citations[0]
    assert first.published.startswith("2024-09-03") and "67 million" in first.quote


def test_timeline_gives_one_dated_line_per_report_oldest_first(story):
    answer = ask(
        story, "How has the estimated cost of repairing the Corran Bridge changed?", STORY_NOW
    )
    lines = answer.text.split("\n")
    assert len(lines) == 4, answer.text
    days = []
    for line in lines:
        assert line.startswith("- ")
        assert _MARK.search(line.rstrip()[-4:]), line  # each line ends with its citation
        ((when, _, _),) = segments(Answer("", line, False, "extractive"))
        days.append(when)
    assert days == sorted(days)
    assert_segments_cite_their_reports(answer)
    figures = [re.search(r"(\d+) million", line)[1] for line in lines]
    assert figures == ["42", "58", "71", "67"] or figures == ["58", "42", "71", "67"]
    assert {c.source for c in answer.citations} == {COURIER, POST}


@pytest.mark.xfail(
    strict=True,
    reason="one line only: '- 19 March 2024 (Harbour Courier): ... will cost 58 million "
    "crowns ... after the closure. [1]'; the other reports' best sentences score under "
    "TIMELINE_ON_TOPIC (0.7) of that one, so neither the 4 March closure nor the 14 April 2025 "
    "reopening is listed",
)
def test_timeline_of_the_whole_story(story):
    answer = ask(story, "What is the timeline of the Corran Bridge closure?", STORY_NOW)
    lines = answer.text.split("\n")
    assert len(lines) >= 3, answer.text
    assert lines[0].startswith(f"- 4 March 2024 ({COURIER}): ")
    assert any(line.startswith(f"- 14 April 2025 ({COURIER}): ") for line in lines)
    assert_segments_cite_their_reports(answer)


def test_summary_quotes_the_leads_newest_first(story):
    answer = ask(story, "What happened with the Corran Bridge?", STORY_NOW)
    assert not answer.abstained
    found = segments(answer)
    assert len(found) >= 3, answer.text
    days = [when for when, _, _ in found]
    assert days == sorted(days, reverse=True)
    assert days[0] == date(2025, 4, 14) and days[-1] == date(2024, 3, 4)
    assert_segments_cite_their_reports(answer)
    assert "reopened to cars and buses" in found[0][2]
    assert "was closed to all traffic" in found[-1][2]  # the lead of the first report
    assert len(answer.text.split()) > story.settings.answer.max_words


@pytest.mark.parametrize(
    ("question", "cause", "published"),
    [
        ("Why was the Corran Bridge closed?", "because corrosion had eaten through", "2024-03-04"),
        (
            "Why did the Corran Bridge repair estimate rise?",
            "after engineers found that two more cables needed replacing",
            "2024-09-02",
        ),
    ],
)
def test_why_quotes_the_sentence_that_states_the_cause(story, question, cause, published):
    answer = ask(story, question, STORY_NOW)
    assert not answer.abstained
    assert cause in answer.text
    quoting = [c for c in answer.citations if cause in c.quote]
    assert quoting and quoting[0].published.startswith(published)


def test_why_finds_a_cause_stated_after_the_lead(story):
    answer = ask(story, "What caused the cracks in the Corran Bridge cables?", STORY_NOW)
    assert "corrosion had eaten through the protective casing" in answer.text


def test_who_said_quotes_the_named_person(story):
    answer = ask(story, "What did Daniel Ferreby say about the Corran Bridge repair?", STORY_NOW)
    assert not answer.abstained
    assert "Velmora will not be left to carry this alone" in answer.text
    assert "wishful thinking" not in answer.text  # Lidia Arnaud's words
    assert "cannot take any risk" not in answer.text  # Hana Ostrik's words
    assert answer.citations[0].source == POST


def test_who_said_leaves_out_a_neighbouring_speakers_quote(story):
    answer = ask(story, "What did Lidia Arnaud say about the repair timetable?", STORY_NOW)
    assert "wishful thinking" in answer.text
    assert "fund half" not in answer.text and "carry this alone" not in answer.text


def test_who_said_short_question_is_answered(story):
    answer = ask(story, "What did Daniel Ferreby say about the repair?", STORY_NOW)
    assert not answer.abstained
    assert "carry this alone" in answer.text or "fund half" in answer.text


def test_conflicting_figures_show_both_outlets(story):
    answer = ask(story, "How much will the Corran Bridge repair cost?", date(2024, 3, 25))
    assert answer.text.startswith("Reports differ: ")
    found = segments(answer)
    assert {source for _, source, _ in found} == {COURIER, POST}
    assert {when for when, _, _ in found} == {date(2024, 3, 19)}
    figures = {re.search(r"(\d+) million", text)[1] for _, _, text in found}
    assert figures == {"42", "58"}
    assert_segments_cite_their_reports(answer)


@pytest.mark.xfail(
    strict=True,
    reason="'as of March 19, 2024' makes it a latest question; the figure bonus goes to "
    "'Four of the bridge's twelve suspension cables will be replaced' (number words), which "
    "is quoted first, and conflicting() finds no digits in it, so no 'Reports differ'",
)
def test_conflicting_figures_as_of_a_past_day(story):
    question = "How much would the Corran Bridge repair cost as of March 19, 2024?"
    answer = ask(story, question, STORY_NOW)
    assert answer.text.startswith("Reports differ: ")
    assert "42 million" in answer.text and "58 million" in answer.text


def test_no_report_in_the_window_names_the_reports_that_exist(story):
    answer = ask(story, "Did the Corran Bridge close in 2023?", STORY_NOW)
    assert not answer.abstained
    assert answer.text.startswith("No indexed report in 2023 covers this. Reports that do: ")
    assert f"4 March 2024 ({COURIER}): Corran Bridge closed after inspectors" in answer.text
    assert_segments_cite_their_reports(answer)
    days = [when for when, _, _ in segments(answer)]
    assert days == sorted(days) and all(d.year >= 2024 for d in days)


def test_abstains_on_what_no_report_states_about_the_storys_people(story):
    answer = ask(story, "What is Hana Ostrik's salary?", STORY_NOW)
    assert answer.abstained and answer.mode == "abstained"
    assert answer.citations == []


def test_abstains_on_a_persons_age_no_report_gives(story):
    answer = ask(story, "How old is Daniel Ferreby?", STORY_NOW)
    assert answer.abstained


def test_trailers_are_fields_not_quotes(story):
    answer = ask(story, "Why was the Corran Bridge closed?", STORY_NOW)
    closure = [c for c in answer.citations if c.published.startswith("2024-03-04")]
    assert closure and closure[0].url == CLOSED_PERMALINK
    stored = [text for _, text, _ in story.store.iter_passages()]
    assert len(stored) >= len(STORY)
    assert not any(_TRAILER.search(text) for text in stored)


@pytest.mark.parametrize(
    ("question", "sentence", "values"),
    [
        ("How many dockworkers walked out?", "Some 3,600 dockworkers stayed away.", {3600}),
        (
            "How many dockworkers walked out?",
            "Dockworkers walked out for nine days in 2009.",
            set(),
        ),
        ("How many workers were injured?", "Five construction workers were injured.", {5}),
        ("How many customers were affected?", "Data of 2.9 million customers leaked.", {2.9e6}),
        ("What did it cost?", "It cost 42 million crowns in 2024.", {42e6}),
    ],
)
def test_figures_count_what_the_question_counts(question, sentence, values):
    assert shapes.figures_of(sentence, shapes.counted_words(question)) == values


def test_counted_words_stop_at_the_verb():
    assert shapes.counted_words("How many Vantelle customer records were affected?") == {
        "vante",
        "custo",
        "recor",
    }
    assert shapes.counted_words("Why did the talks fail?") == set()


@pytest.mark.parametrize(
    ("question", "sentences", "missing"),
    [
        ("How old is Korvath?", ["Korvath, 60, was taken into custody."], False),
        ("How old was Irene Dalgaard?", ["Korvath, 60, was taken into custody."], True),
        ("How old is the bridge?", ["The 54-year-old bridge closed."], False),
        ("What is Ana Pell's age?", ["Ana Pell, aged 41, said so."], False),
        ("Where is Korvath?", ["Korvath is in prison."], False),
    ],
)
def test_age_not_given_needs_an_age_of_the_person_asked(question, sentences, missing):
    assert age_not_given(question, sentences) is missing


def _passage(ordinal: int, sentences: list[str]) -> Hit:
    text, spans = "", []
    for s in sentences:
        start = len(text) + (1 if text else 0)
        text = f"{text} {s}" if text else s
        spans.append((start, len(text)))
    return Hit(Passage(f"a:{ordinal}", "a", ordinal, 0, len(text), text, sentences=tuple(spans)), 1)


def test_a_quotation_that_goes_on_is_quoted_whole_across_passages():
    said = '"It is high," said Dr Lalit Varghan, a hydrologist.'
    more = '"What makes this flood different is the speed of the rise."'
    hits = [
        _passage(1, ["The river rose.", said]),
        _passage(2, [said, more, "Residents, Tilvani officials said, were angry."]),
    ]
    [quote] = shapes.whole_quotes([Quote(0, 1, said, 1.0)], hits, 60)
    assert quote.text == f"{said} {more}"


def test_a_quote_naming_another_speaker_is_not_joined():
    said = '"It is high," said Dr Lalit Varghan.'
    other = '"It is not," said the minister.'
    hits = [_passage(0, [said, other])]
    [quote] = shapes.whole_quotes([Quote(0, 0, said, 1.0)], hits, 60)
    assert quote.text == said


def test_a_growth_timeline_prefers_the_sentence_that_says_the_size_changed():
    from bot.intent import read_intent
    from bot.timeframe import read_time

    question = "How did the recall grow in July 2023?"
    intent = read_intent(question, read_time(question, date(2024, 1, 1)))
    assert intent.kind == "timeline" and intent.growth and intent.quantity
    hits = [_passage(0, ["Injury reports stand at 61.", "The recall was widened to 164 lots."])]
    rows = [
        (1.0, 0, 0, "Injury reports stand at 61."),
        (0.95, 0, 1, "The recall was widened to 164 lots."),
    ]
    assert shapes.boosted(rows, hits, intent)[0][3] == "The recall was widened to 164 lots."


def test_a_correction_note_is_quoted_with_the_corrected_fact():
    note = "Correction: An earlier version of this article misstated the date as 2 March."
    hits = [_passage(0, ["The fund opens soon.", note, "Claims open on 2 April."])]
    [quote] = shapes.whole_corrections([Quote(0, 1, note, 1.0)], hits)
    assert quote.text == f"{note} Claims open on 2 April."
    [plain] = shapes.whole_corrections([Quote(0, 0, "The fund opens soon.", 1.0)], hits)
    assert plain.text == "The fund opens soon."


@pytest.mark.parametrize(
    ("sentence", "states"),
    [
        ("The report found that water from a culvert had saturated the ground.", True),
        ("The closure was due to heavy rain.", True),
        ('Brenner said it was "too early to speculate" about the cause.', False),
        ("The cause of the fire is still unknown.", False),
        ("The line is due to open in December.", False),
        ("Novosel is due to testify next week.", False),
    ],
)
def test_a_cause_unknown_or_a_due_date_states_no_cause(sentence, states):
    assert shapes.states_cause(sentence) is states


def test_the_cause_is_taken_from_rows_further_down_when_it_scores_enough():
    event = "The tunnel collapsed late on Thursday."
    unknown = 'Brenner said it was "too early to speculate" about the cause.'
    cause = "The report found that water from a culvert had saturated the ground."
    hits = [_passage(0, [event, unknown]), _passage(1, [cause])]
    assert not shapes.hints_cause(event) and not shapes.states_cause(unknown)
    rows = [(1.0, 0, 0, event), (0.9, 0, 1, unknown), (0.65, 1, 0, cause)]
    assert shapes.cause_quote(rows, hits, set(), 60).text == cause
    assert shapes.cause_quote([(1.0, 0, 0, event), (0.5, 1, 0, cause)], hits, set(), 60) is None


def test_reports_a_few_days_apart_are_told_apart_by_their_days():
    def report(aid: str, published: str) -> Hit:
        text = "The death toll rose."
        return Hit(Passage(f"{aid}:0", aid, 0, 0, len(text), text, published=published), 1)

    hits = [report("old", "2024-07-15"), report("new", "2024-07-18")]
    rows = [(1.0, 0, 0, "12 people died."), (0.75, 1, 0, "34 people died.")]
    assert shapes._by_time(rows, hits, newest=True)[3] == "34 people died."  # 3 days newer
    hits[1].passage = replace(hits[1].passage, published="2024-01-18")
    assert shapes._by_time(rows, hits, newest=False)[3] == "34 people died."  # the oldest


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ('"We can make it right," said chief executive Priya Namdev, who took over.', "Namdev"),
        ('"I am stepping down," Tolliver said in a statement.', "Tolliver"),
        ('The head of Ostrander-Pell has told MPs she is "deeply sorry".', None),
        ('"Every day this goes on, the damage grows," she said.', None),
    ],
)
def test_the_speaker_a_quote_is_attributed_to(sentence, speaker):
    assert shapes._speaker_in(sentence) == speaker


def test_who_said_prefers_the_persons_own_quote_to_one_that_only_names_them():
    from bot.intent import read_intent
    from bot.timeframe import read_time

    question = "What did Graham Tolliver say when he resigned?"
    intent = read_intent(question, read_time(question, date(2025, 5, 1)))
    other = (
        '"We can make it right," said Priya Namdev, who took over when Graham Tolliver resigned.'
    )
    own = '"The breach happened on my watch," Tolliver said in a statement.'
    hits = [_passage(0, [other]), _passage(1, [own])]
    rows = [(1.0, 0, 0, other), (0.9, 1, 0, own)]
    assert shapes.boosted(rows, hits, intent)[0][3] == own
    assert shapes.attributed_to(own, "tolliver") and not shapes.attributed_to(other, "tolliver")
