"""bench/generalization.py: the threshold is fitted without the fold it is scored on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "generalization", Path(__file__).resolve().parents[1] / "bench" / "generalization.py"
)
generalization = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generalization)


def _row(fold, confidence, *, right=True, ooc=False, abstained=False, kind="fact"):
    return {
        "fold": f"newsroom:{fold}",
        "set": "newsroom",
        "type": kind,
        "right_if_answered": right and not ooc,
        "abstain_right": ooc,
        "abstained": abstained,
        "confidence": confidence,
    }


def test_fit_separates_right_answers_from_out_of_corpus_questions():
    rows = [_row("a", 0.9), _row("a", 0.8), _row("a", 0.2, ooc=True), _row("a", 0.1, ooc=True)]
    threshold = generalization.fit(rows)
    assert 0.2 < threshold <= 0.8
    assert generalization._objective(rows, threshold) == 1.0


def test_out_of_fold_scores_each_fold_with_a_threshold_fitted_elsewhere():
    # Fold "b" alone would want a threshold above 0.6; the others put it below 0.5.
    rows = [
        _row("a", 0.7),
        _row("a", 0.3, ooc=True),
        _row("c", 0.6),
        _row("c", 0.4, ooc=True),
        _row("b", 0.55, ooc=True),
        _row("b", 0.9),
    ]
    everything, per_fold = generalization.evaluate(rows)
    assert per_fold["newsroom:b"] <= 0.55
    table = generalization.report(rows, everything, per_fold)["newsroom"]
    assert table["overall"]["out_of_fold"] < 1.0
    assert table["overall"]["in_sample"] >= table["overall"]["out_of_fold"]


def test_an_abstention_made_before_the_threshold_stays():
    row = _row("a", 0.99, abstained=True)
    assert not generalization._right(row, 0.0)
    assert generalization._right(_row("a", 0.99, ooc=True, abstained=True), 0.0)
