"""The answer reader (bot/answer_reader.py): the packaged cross-encoder, its checksum, and
what it prefers. The example sentences are written for these tests."""

from __future__ import annotations

import hashlib
import json

import pytest

from bot.answer_reader import META_FILE, MODEL_FILE, AnswerReader
from bot.errors import ConfigError
from tests.helpers import make_service, seed_home


def test_a_missing_or_altered_model_is_refused(tmp_path):
    assert not AnswerReader(tmp_path / "missing.onnx").available()
    with pytest.raises(ConfigError, match="not installed"):
        AnswerReader(tmp_path / "missing.onnx").warm_up()
    model = tmp_path / "reader.onnx"
    model.write_bytes(b"not the model")
    meta = {"sha256": hashlib.sha256(b"the model").hexdigest()}
    (tmp_path / "reader.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="checksum"):
        AnswerReader(model).warm_up()


def test_packaged_reader_ranks_the_sentence_that_answers_first():
    meta = json.loads(META_FILE.read_text())
    assert meta["sha256"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
    held = meta["held_out"]
    assert held["auc"] > 0.75 and held["top1"] > 3 * held["top1_by_chance"]
    reader = AnswerReader()
    cases = [
        (
            "How many beds does the Tarnfield hospital have?",
            "The Tarnfield hospital has 240 beds, the health board said.",
            "The Tarnfield hospital opened its new wing on Monday.",
        ),
        (
            "Why was the Quenby bridge closed?",
            "The Quenby bridge was closed after inspectors found cracks in two of its supports.",
            "The Quenby bridge carries about 20,000 cars a day across the estuary.",
        ),
        (
            "Who won the Lanbury mayoral election?",
            "Vashti Mbeki-Hale won the Lanbury mayoral election with 54% of the vote.",
            "Turnout in the Lanbury mayoral election was the lowest in a decade.",
        ),
    ]
    for question, answers, other in cases:
        right, wrong = reader.probabilities(question, [answers, other])
        assert right > wrong, question
    assert reader.probabilities("Who won?", []).shape == (0,)


def test_service_reads_candidates_only_with_a_reader_installed(tmp_path_factory, tmp_path):
    home = seed_home(tmp_path_factory)
    service = make_service(home)
    assert service._read() is not None
    service.answer_reader = AnswerReader(tmp_path / "missing.onnx")
    assert service._read() is None


def test_reader_weight_reorders_only_the_best_few(tmp_path):
    import numpy as np

    service = make_service(tmp_path, answer__reader_weight=1.0, answer__reader_candidates=2)

    class Reader:
        def available(self):
            return True

        def probabilities(self, question, sentences):
            assert list(sentences) == ["opened", "has 240 beds"]  # the best two only
            return np.asarray([0.0, 1.0])

    service.answer_reader = Reader()
    rows = [(1.0, 0, 0, "opened"), (0.8, 0, 1, "has 240 beds"), (0.7, 0, 2, "is new")]
    out = service._reader_weighted("How many beds?", rows)
    assert [r[3] for r in out] == ["has 240 beds", "opened", "is new"]
    assert [r[0] for r in out] == pytest.approx([1.6, 1.0, 0.7])
