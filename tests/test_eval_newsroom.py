"""``dateline eval`` on the newsroom format: loading, matching, citations, scoring
(bot/evaluate.py). No model, no index: predictions are plain dicts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.answer import Turn
from bot.errors import InvalidQuestionError
from bot.evaluate import cites_expected, load_questions, matches_groups, normalize, score_newsroom


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- load_questions -------------------------------------------------------------------------


def test_load_newsroom_rows(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": "floods-q27",
                "type": "followup",
                "question": "What did he say made this flood different?",
                "asked_on": "2025-03-01",
                "history": [{"question": "Which hydrologist?", "answer": "Dr Lalit Varghan."}],
                "answers": [["speed of the rise", "speed"], "Varghan"],
                "cite": ["river-floods/04-sbc-news-2024-07-18.md", "river-floods/02-x.rss#1"],
            },
            "",
            {
                "id": "floods-ooc1",
                "type": "ooc",
                "question": "What is Prakash Aldane's annual salary?",
                "asked_on": "2025-03-01",
                "answers": [],
            },
        ],
    )
    first, second = load_questions(path)
    assert first["id"] == "floods-q27"
    assert first["type"] == "followup"
    assert first["asked_on"] == date(2025, 3, 1)
    assert first["history"] == [Turn("Which hydrologist?", "Dr Lalit Varghan.")]
    assert first["groups"] == [["speed of the rise", "speed"], ["Varghan"]]
    assert first["answers"] == ["speed of the rise", "speed", "Varghan"]
    assert first["cite"] == ["river-floods/04-sbc-news-2024-07-18.md", "river-floods/02-x.rss#1"]
    assert second["type"] == "ooc"
    assert second["groups"] == [] and second["answers"] == []
    assert second["history"] == [] and second["cite"] == []


def test_load_squad_news_rows_unchanged(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": "68cf",
                "question": "In what country is Normandy located?",
                "answers": ["France"],
                "article": "Normans",
            },
            {"question": "Who ruled?", "answers": []},
        ],
    )
    first, second = load_questions(path)
    assert first == {
        "id": "68cf",
        "question": "In what country is Normandy located?",
        "answers": ["France"],
    }
    assert second["id"] == "2"  # the line number when the row has no id
    assert "type" not in second and "groups" not in second


def test_asked_on_alone_makes_a_newsroom_row_of_type_fact(tmp_path):
    path = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "a", "question": "Who?", "asked_on": "2024-05-01", "answers": ["X"]}],
    )
    (row,) = load_questions(path)
    assert row["type"] == "fact"
    assert row["asked_on"] == date(2024, 5, 1)
    assert row["groups"] == [["X"]]


@pytest.mark.parametrize(
    "bad",
    [
        '{"id": "a", "type": "fact", "question": "Who?", "asked_on": "2025-13-01", "answers": []}',
        '{"id": "a", "type": "fact", "answers": [["x"]]}',
        '{"id": "a", "type": "followup", "question": "Q", "history": [{"question": "only"}]}',
        "not json",
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, bad):
    good = {"id": "g", "type": "fact", "question": "Who?", "asked_on": "2025-01-01"}
    path = write_jsonl(tmp_path / "q.jsonl", [good, bad])
    with pytest.raises(InvalidQuestionError, match=r"q\.jsonl:2:"):
        load_questions(path)


# --- normalize and matches_groups ----------------------------------------------------------


def test_normalize():
    assert normalize("The Ambrana Dam's gates, opened!") == "ambrana dams gates opened"
    assert normalize("An   inquiry  into a   release") == "inquiry into release"
    assert normalize("“1,200” soldiers — deployed") == "1200 soldiers deployed"


def test_every_group_must_match():
    groups = [["12", "twelve"], ["Meridian Wire"]]
    assert matches_groups("As of 15 July 2024 (Meridian Wire): 12 people died [1]", groups)
    assert not matches_groups("As of 15 July 2024: 12 people died [1]", groups)
    assert matches_groups("Twelve dead, the meridian wire reported.", groups)


def test_match_is_on_whole_words():
    assert not matches_groups("The toll rose to 120 on Friday.", [["12"]])
    assert not matches_groups("Sothiya said so.", [["Sothi"]])
    assert matches_groups("Director Imran Sothi said so.", [["Sothi"]])


def test_match_ignores_case_punctuation_and_articles():
    assert matches_groups("The army sent 1200 soldiers.", [["1,200"]])
    assert matches_groups("Tolliver’s successor", [["Tolliver's successor"]])
    assert matches_groups("She blamed a faulty sensor.", [["the faulty sensor"]])
    assert matches_groups("LED BY JUSTICE OMKAR", [["Justice Omkar"]])


def test_blank_alternatives_never_match():
    assert not matches_groups("anything at all", [["", "  "]])
    assert matches_groups("anything at all", [])


# --- cites_expected ------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    (root / "river-floods").mkdir(parents=True)
    return root


def citation(corpus: Path, rel: str) -> dict:
    name, _, record = rel.partition("#")
    key = str(corpus / name) + (f"#{record}" if record else "")
    return {"n": 1, "key": key, "path": str(corpus / name)}


def test_cites_a_file(corpus):
    cite = ["river-floods/01-meridian-wire-2024-07-15.txt"]
    assert cites_expected([citation(corpus, cite[0])], cite, corpus)
    assert not cites_expected(
        [citation(corpus, "river-floods/08-meridian-wire-2025-02-11.txt")], cite, corpus
    )


def test_cites_a_record_of_a_multi_article_file(corpus):
    cite = ["river-floods/05-meridian-wire-2024-07-23.jsonl#1"]
    assert cites_expected(
        [citation(corpus, "river-floods/05-meridian-wire-2024-07-23.jsonl#1")], cite, corpus
    )
    assert not cites_expected(
        [citation(corpus, "river-floods/05-meridian-wire-2024-07-23.jsonl#2")], cite, corpus
    )


def test_a_whole_file_cite_accepts_any_of_its_records(corpus):
    cite = ["river-floods/02-daily-ledger-2024-07-15.rss"]
    assert cites_expected(
        [citation(corpus, "river-floods/02-daily-ledger-2024-07-15.rss#3")], cite, corpus
    )


def test_one_good_citation_among_several_is_enough(corpus):
    cite = ["river-floods/04-sbc-news-2024-07-18.md"]
    citations = [
        citation(corpus, "river-floods/01-meridian-wire-2024-07-15.txt"),
        citation(corpus, "river-floods/04-sbc-news-2024-07-18.md"),
    ]
    assert cites_expected(citations, cite, corpus)
    assert not cites_expected(citations[:1], cite, corpus)


def test_no_citations_fail_an_expected_cite_and_no_cite_accepts_anything(corpus):
    assert not cites_expected([], ["river-floods/01-a.txt"], corpus)
    assert cites_expected([], [], corpus)


def test_a_file_of_the_same_name_in_another_story_is_not_the_cited_one(corpus):
    (corpus / "data-breach").mkdir()
    cite = ["river-floods/01-a.txt"]
    assert not cites_expected([citation(corpus, "data-breach/01-a.txt")], cite, corpus)


def test_path_is_used_when_there_is_no_key(corpus):
    c = {"n": 1, "key": None, "path": str(corpus / "river-floods" / "01-a.txt")}
    assert cites_expected([c], ["river-floods/01-a.txt"], corpus)


# --- score_newsroom ------------------------------------------------------------------------


def question(kind: str, groups: list[list[str]], cite: list[str]) -> dict:
    return {"type": kind, "groups": groups, "cite": cite}


def prediction(answer: str, abstained: bool, citations: list[dict], ms: float = 10.0) -> dict:
    return {
        "answer": answer,
        "abstained": abstained,
        "citations": citations,
        "timings_ms": {"total": ms},
    }


def test_score_newsroom(corpus):
    good = citation(corpus, "river-floods/01-a.txt")
    other = citation(corpus, "river-floods/09-z.txt")
    cite = ["river-floods/01-a.txt"]
    rows = [
        # fact: right
        (question("fact", [["Sothi"]], cite), prediction("Imran Sothi [1]", False, [good], 5)),
        # fact: right words, wrong article
        (question("fact", [["Sothi"]], cite), prediction("Imran Sothi [1]", False, [other], 7)),
        # latest: abstained although answerable
        (question("latest", [["44"]], cite), prediction("Not covered.", True, [], 9)),
        # timeline: one group of two missing
        (
            question("timeline", [["12"], ["44"]], cite),
            prediction("12 dead [1]", False, [good], 11),
        ),
        # ooc: abstained is right, answering is wrong however it reads
        (question("ooc", [], []), prediction("Not covered.", True, [], 13)),
        (question("ooc", [], []), prediction("He earns a lot [1]", False, [good], 15)),
    ]
    metrics = score_newsroom(rows, corpus)
    assert [p["correct"] for _, p in rows] == [True, False, False, False, True, False]
    assert metrics["questions"] == 6
    assert metrics["accuracy"] == pytest.approx(2 / 6)
    assert metrics["accuracy_fact"] == pytest.approx(0.5) and metrics["n_fact"] == 2
    assert metrics["accuracy_latest"] == 0.0 and metrics["n_latest"] == 1
    assert metrics["accuracy_timeline"] == 0.0
    assert metrics["accuracy_ooc"] == pytest.approx(0.5) and metrics["n_ooc"] == 2
    assert metrics["latency_ms_p50"] == pytest.approx(10.0)
    assert "accuracy_why" not in metrics


def test_an_answer_that_matches_but_abstained_is_wrong(corpus):
    good = citation(corpus, "river-floods/01-a.txt")
    rows = [
        (
            question("fact", [["Sothi"]], ["river-floods/01-a.txt"]),
            prediction("Imran Sothi may be the director.", True, [good]),
        )
    ]
    assert score_newsroom(rows, corpus)["accuracy"] == 0.0


def test_score_newsroom_of_nothing(corpus):
    metrics = score_newsroom([], corpus)
    assert metrics["questions"] == 0 and metrics["accuracy"] == 0.0
