"""How quotes become numbered sources (DatelineService._render)."""

from __future__ import annotations

from bot.answer import Answer
from bot.extractive import Quote
from bot.service import DatelineService
from config import load_settings
from retrieval.models import Hit, Passage


def _hit(pid: str, article: str, sentence: str) -> Hit:
    passage = Passage(
        pid,
        article,
        0,
        0,
        len(sentence),
        sentence,
        title=f"Report {article}",
        source="Tidewater Gazette",
        sentences=((0, len(sentence)),),
    )
    return Hit(passage, 1.0)


def test_two_passages_of_one_article_are_one_source(tmp_path):
    service = DatelineService(load_settings(home=tmp_path))
    hits = [
        _hit("a:0", "a", "The quarry will close in June."),
        _hit("a:3", "a", "About 80 workers will lose their jobs."),
        _hit("b:0", "b", "The council approved the closure on Monday."),
    ]
    quotes = [
        Quote(0, 0, hits[0].passage.text, 0.9),
        Quote(1, 0, hits[1].passage.text, 0.8),
        Quote(2, 0, hits[2].passage.text, 0.7),
    ]
    answer = Answer(
        question="What happens to the quarry?", text="", abstained=False, mode="extractive"
    )
    service._render(answer, quotes, hits, " ")
    assert [c.n for c in answer.citations] == [1, 2]
    assert [c.article_id for c in answer.citations] == ["a", "b"]
    assert answer.text.count("[1]") == 2 and answer.text.count("[2]") == 1
    assert "[3]" not in answer.text


def test_a_quote_opening_with_she_names_her(tmp_path):
    service = DatelineService(load_settings(home=tmp_path))
    text = "The harbour master, Ines Varga, spoke on Tuesday. She said the quay would reopen."
    passage = Passage(
        "c:0",
        "c",
        0,
        0,
        len(text),
        text,
        title="Quay",
        source="Gazette",
        sentences=((0, 49), (50, len(text))),
    )
    hits = [Hit(passage, 1.0)]
    answer = Answer(
        question="What did the harbour master say?", text="", abstained=False, mode="extractive"
    )
    service._render(answer, [Quote(0, 1, passage.sentence_texts()[1], 0.9)], hits, " ")
    assert answer.text.startswith("She (Ines Varga) said the quay would reopen.")
