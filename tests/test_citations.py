"""How quotes are written into an answer (DatelineService._render)."""

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


def test_two_passages_of_one_article_are_one_source(tmp_path):
    service = DatelineService(load_settings(home=tmp_path))
    hits = [
        _hit("a:0", "a", "The pier closed on Monday after a storm."),
        _hit("b:0", "b", "Engineers found cracks in two piles."),
        _hit("a:1", "a", "Repairs will cost 2 million crowns."),
    ]
    answer = Answer(question="Why did the pier close?", text="", abstained=False, mode="extractive")
    quotes = [Quote(i, 0, h.passage.text, 1.0) for i, h in enumerate(hits)]
    service._render(answer, quotes, hits, " ")
    assert [(c.n, c.article_id, c.passages) for c in answer.citations] == [
        (1, "a", ("a:0", "a:1")),
        (2, "b", ("b:0",)),
    ]
    assert answer.citations[0].quote == "The pier closed on Monday after a storm."
    assert answer.text.endswith("Repairs will cost 2 million crowns. [1]")
    assert {r.passage_id for r in answer.retrieved} == {"a:0", "b:0", "a:1"}
