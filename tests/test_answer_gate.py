"""The learned answer gate (bot/answer_gate.py): what it measures of an answer, its packaged
weights, and how the service decides on it."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from bot.answer_gate import GATE_FEATURE_NAMES, MODEL_FILE, AnswerGate, gate_features
from bot.errors import ConfigError
from bot.extractive import Quote
from retrieval.evidence import Evidence
from retrieval.models import Hit, Passage
from tests.helpers import logistic_model_file, make_service, seed_home

NOW = date(2024, 6, 30)


def _hit(sentences: list[str], sims: list[float], published="2024-06-20") -> Hit:
    text, spans, at = "", [], 0
    for s in sentences:
        spans.append((at, at + len(s)))
        text += s + " "
        at += len(s) + 1
    passage = Passage("p", "a", 0, 0, len(text), text, published=published, sentences=tuple(spans))
    return Hit(passage, 1.0, sentence_sims=sims)


def _tokenize(texts):
    return [t.lower().replace(".", "").replace("?", "").split() for t in texts]


def _features(question, quotes, sentences, *, plain, attribute=None, evidence=None, kind="lookup"):
    hit = _hit(sentences, [0.6, 0.2, 0.4][: len(sentences)])
    terms = _tokenize([question])[0]
    idf = {t: 1.0 for t in terms}
    x = gate_features(
        question,
        kind,
        evidence,
        attribute,
        quotes,
        sentences,
        [hit],
        terms,
        plain,
        idf,
        _tokenize,
        0.3,
        NOW,
    )
    return dict(zip(GATE_FEATURE_NAMES, x, strict=True))


def _model(tmp_path, weights: dict[str, float], intercept: float = 0.0):
    return logistic_model_file(tmp_path / "gate.json", GATE_FEATURE_NAMES, weights, intercept)


def test_features_tell_a_quote_that_answers_from_one_about_the_subject():
    question = "how many seats does the Brookvale arena hold"
    plain = ["seats", "arena", "hold"]
    answers = "The Brookvale arena holds 12,000 seats."
    about = "The Brookvale arena opened in May with a concert."
    right = _features(question, [Quote(0, 0, answers, 1.0)], [answers, about], plain=plain)
    beside = _features(question, [Quote(0, 1, about, 1.0)], [answers, about], plain=plain)
    assert right["asks_kind"] == beside["asks_kind"] == 1.0
    assert right["kind_quoted"] == 1.0 and beside["kind_quoted"] == 0.0
    assert right["plain_quoted"] == pytest.approx(2 / 3)  # "holds" is not "hold" here
    assert beside["plain_quoted"] == pytest.approx(1 / 3)
    assert right["plain_read"] == beside["plain_read"] == pytest.approx(2 / 3)
    assert right["semantic"] == pytest.approx(0.6) and beside["semantic"] == pytest.approx(0.2)
    assert right["sentence_prob"] == 0.3 and right["quotes"] == 0.25
    assert right["age"] == pytest.approx(np.log1p(10) / 8)
    assert right["evidence"] == 0.0  # no evidence measured
    assert not any(right[f"kind_{k}"] for k in ("latest", "why", "who_said"))


def test_features_read_the_evidence_and_the_attribute_asked():
    question = "What is Tomas Reyl's annual salary?"
    quote = "Tomas Reyl was named director of the Brookvale arena in 2021."
    evidence = Evidence(semantic=0.8, coverage=0.4, unknown=5, unknown_attribute=True)
    f = _features(
        question,
        [Quote(0, 0, quote, 1.0)],
        [quote],
        plain=["annual", "salary"],
        attribute="annual salary",
        evidence=evidence,
        kind="why",
    )
    assert f["evidence"] == pytest.approx(0.6)
    assert f["unknown"] == 1.0 and f["unknown_attribute"] == 1.0
    assert f["attribute_quoted"] == 0.0 and f["plain_quoted"] == 0.0
    assert f["kind_why"] == 1.0 and f["asks_kind"] == 0.0 and f["kind_quoted"] == 1.0


def test_weights_are_checked_and_recorded(tmp_path):
    path = _model(tmp_path, {"plain_quoted": 4.0}, intercept=-2.0)
    recorded: list = []
    gate = AnswerGate(path, recorder=recorded)
    x = np.zeros(len(GATE_FEATURE_NAMES))
    x[GATE_FEATURE_NAMES.index("plain_quoted")] = 1.0
    assert gate.probability("q", x) == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert recorded[0][0] == "q" and recorded[0][1] is x
    model = json.loads(path.read_text())
    model["intercept"] = 3.0
    path.write_text(json.dumps(model))
    with pytest.raises(ConfigError, match="checksum"):
        AnswerGate(path).warm_up()
    assert not AnswerGate(tmp_path / "missing.json").available()


def test_packaged_gate_was_trained_and_prefers_answers_that_quote_what_is_asked():
    gate = AnswerGate()
    gate.warm_up()
    info = json.loads(MODEL_FILE.read_text())["training"]
    assert info["answers"] > 300 and info["cv_auc"] > 0.7
    question = "how many seats does the Brookvale arena hold"
    answers = "The Brookvale arena holds 12,000 seats and opened in May."
    about = "The Brookvale arena opened in May with a concert by the city orchestra."
    plain = ["seats", "arena", "hold"]
    right = _features(question, [Quote(0, 0, answers, 1.0)], [answers, about], plain=plain)
    beside = _features(question, [Quote(0, 1, about, 1.0)], [about], plain=plain)
    x_right = np.asarray([right[n] for n in GATE_FEATURE_NAMES])
    x_beside = np.asarray([beside[n] for n in GATE_FEATURE_NAMES])
    assert gate.probability(question, x_right) > gate.probability(question, x_beside)


def test_service_gate_decides_and_reports_its_probability(tmp_path_factory, tmp_path):
    home = seed_home(tmp_path_factory)
    strict = make_service(home, answer__gate=True, answer__gate_threshold=1.0)
    refused = strict.ask("What did Xi Jinping say to Kim Jong Un?")
    assert refused.abstained and 0.0 < refused.confidence < 1.0
    lenient = make_service(home, answer__gate=True, answer__gate_threshold=0.0)
    recorded: list = []
    lenient.answer_gate = AnswerGate(MODEL_FILE, recorder=recorded)
    answered = lenient.ask("What did Xi Jinping say to Kim Jong Un?")
    assert not answered.abstained and answered.citations
    assert answered.confidence == pytest.approx(refused.confidence)
    assert len(recorded) == 1 and recorded[0][1].shape == (len(GATE_FEATURE_NAMES),)
    # The evidence rule no longer decides alone: with it set to refuse everything, the gate
    # still answers.
    gated = make_service(
        home, answer__gate=True, answer__gate_threshold=0.0, answer__abstain_threshold=0.99
    )
    assert not gated.ask("What did Xi Jinping say to Kim Jong Un?").abstained
