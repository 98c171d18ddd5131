"""The learned answer scorer (bot/answer_scorer.py): what it measures of a candidate
sentence, how it re-ranks, its packaged weights, and how the service abstains on it."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from bot.answer_scorer import (
    FEATURE_NAMES,
    MODEL_FILE,
    AnswerScorer,
    measure,
    rerank_rows,
)
from bot.errors import ConfigError
from bot.packaged_model import weights_digest
from retrieval.models import Hit, Passage
from tests.helpers import logistic_model_file, make_service, seed_home

NOW = date(2024, 6, 30)


def _hit(sentences: list[str], *, published="2024-06-20", ordinal=0, sims=None) -> Hit:
    text, spans, at = "", [], 0
    for s in sentences:
        spans.append((at, at + len(s)))
        text += s + " "
        at += len(s) + 1
    passage = Passage(
        "p",
        "a",
        ordinal,
        0,
        len(text),
        text,
        title="Ferry report",
        published=published,
        path="/news/ferry.md",
        sentences=tuple(spans),
    )
    return Hit(passage, 1.0, sentence_sims=sims or [0.5] * len(sentences))


def _tokenize(texts):
    return [t.lower().replace(".", "").split() for t in texts]


def _model(tmp_path, weights: dict[str, float], intercept: float = 0.0):
    return logistic_model_file(tmp_path / "scorer.json", FEATURE_NAMES, weights, intercept)


def _column(candidates, name):
    return candidates.features[:, FEATURE_NAMES.index(name)]


def test_measure_reads_each_sentence_in_its_place():
    hit = _hit(['The ferry "Island Star" sails at dawn.', "It carries 90 cars."], sims=[0.8, 0.3])
    rows = [
        (2.0, 0, 1, "It carries 90 cars."),
        (1.0, 0, 0, 'The ferry "Island Star" sails at dawn.'),
    ]
    idf = {"cars": 2.0, "ferry": 1.0}
    c = measure(
        "How many cars does the ferry carry?", rows, [hit], ["cars", "ferry"], idf, _tokenize, NOW
    )
    assert c.features.shape == (2, len(FEATURE_NAMES))
    assert c.origins == ("/news/ferry.md", "/news/ferry.md")
    assert list(_column(c, "hand")) == [1.0, 0.5]
    assert list(_column(c, "semantic")) == pytest.approx([0.3, 0.8])
    assert list(_column(c, "semantic_before")) == pytest.approx([0.8, 0.0])
    assert list(_column(c, "lexical")) == pytest.approx([2 / 3, 1 / 3])
    assert list(_column(c, "expected")) == [1.0, 0.0]  # a number for "how many"
    assert list(_column(c, "lead")) == [0.0, 1.0]
    assert list(_column(c, "quote")) == [0.0, 1.0]
    assert list(_column(c, "number")) == [1.0, 0.0]
    assert _column(c, "age")[0] == pytest.approx(np.log1p(10) / 8)
    assert list(_column(c, "reader")) == [0.5, 0.5]  # no reader: the same for every sentence


def test_measure_takes_the_readers_probability_of_each_sentence():
    hit = _hit(["The ferry sails at dawn.", "It carries 90 cars."])
    rows = [(2.0, 0, 1, "It carries 90 cars."), (1.0, 0, 0, "The ferry sails at dawn.")]
    asked = []

    def read(question, sentences):
        asked.append((question, list(sentences)))
        return np.asarray([0.9, 0.2][: len(sentences)])

    c = measure("How many cars?", rows, [hit], ["cars"], {"cars": 1.0}, _tokenize, NOW, read)
    assert asked == [("How many cars?", ["It carries 90 cars.", "The ferry sails at dawn."])]
    assert list(_column(c, "reader")) == pytest.approx([0.9, 0.2])
    asked.clear()
    c = measure("How many?", rows, [hit], ["cars"], {"cars": 1.0}, _tokenize, NOW, read, 1)
    assert asked == [("How many?", ["It carries 90 cars."])]  # only the best by hand score
    assert list(_column(c, "reader")) == pytest.approx([0.9, 0.0])


def test_rerank_rows_orders_by_probability(tmp_path):
    scorer = AnswerScorer(_model(tmp_path, {"number": 4.0}, intercept=-2.0))
    hit = _hit(["The ferry sails at dawn.", "It carries 90 cars."])
    rows = [(2.0, 0, 0, "The ferry sails at dawn."), (1.0, 0, 1, "It carries 90 cars.")]
    c = measure("How many cars?", rows, [hit], ["cars"], {"cars": 1.0}, _tokenize, NOW)
    ranked, best = rerank_rows(scorer, c)
    assert [r[2] for r in ranked] == [1, 0]
    assert best == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert rerank_rows(scorer, measure("q", [], [hit], [], {}, _tokenize, NOW)) == ([], 0.0)


def test_weights_are_checked_before_use(tmp_path):
    path = _model(tmp_path, {"hand": 1.0})
    model = json.loads(path.read_text())
    model["coef"][0] = 9.0
    path.write_text(json.dumps(model))
    with pytest.raises(ConfigError, match="checksum"):
        AnswerScorer(path).warm_up()
    model["features"] = ["hand"]
    model["sha256"] = weights_digest(model)
    path.write_text(json.dumps(model))
    with pytest.raises(ConfigError, match="other features"):
        AnswerScorer(path).warm_up()
    assert not AnswerScorer(tmp_path / "missing.json").available()


def test_packaged_weights_prefer_what_the_question_asks_for():
    scorer = AnswerScorer()
    scorer.warm_up()
    info = json.loads(MODEL_FILE.read_text())["training"]
    assert info["candidates"] > 10_000 and info["cv_auc"] > 0.7
    answer = "The Tarnfield hospital has 240 beds."
    hit = _hit(["The Tarnfield hospital opened on Monday.", answer])
    rows = [(1.0, 0, 0, hit.passage.sentence_texts()[0]), (1.0, 0, 1, answer)]
    terms = ["beds", "tarnfield", "hospital"]
    idf = {"beds": 2.0, "tarnfield": 2.0, "hospital": 1.0}
    question = "How many beds does the Tarnfield hospital have?"
    c = measure(question, rows, [hit], terms, idf, _tokenize, NOW)
    ranked, _ = rerank_rows(scorer, c)
    assert ranked[0][3] == answer


def test_service_abstains_when_no_sentence_is_likely_enough(tmp_path_factory):
    home = seed_home(tmp_path_factory)
    strict = make_service(home, answer__scorer=True, answer__scorer_threshold=1.0)
    answer = strict.ask("Who is Song Tao?")
    assert answer.abstained
    assert answer.confidence is not None and answer.confidence < 1.0
    lenient = make_service(home, answer__scorer=True, answer__scorer_threshold=0.0)
    answered = lenient.ask("Who is Song Tao?")
    assert not answered.abstained and answered.citations
    assert answered.to_json()["confidence"] == round(answered.confidence, 4)


def test_without_the_scorer_confidence_is_the_evidence_rules_strength(tmp_path_factory):
    home = seed_home(tmp_path_factory)
    off = make_service(home, answer__scorer=False)
    answer = off.ask("Who is Song Tao?")
    assert not answer.abstained and answer.confidence >= off.settings.answer.abstain_threshold
    strict = make_service(home, answer__scorer=False, answer__abstain_threshold=0.99)
    refused = strict.ask("Who is Song Tao?")
    assert refused.abstained and refused.confidence == pytest.approx(answer.confidence)
