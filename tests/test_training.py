"""The answer scorer's and the gate's training collect what the bot itself would rank
(training/answer_scorer/train.py, training/answer_gate/train.py), whatever the user's
settings say."""

from __future__ import annotations

import json
from datetime import date

from bot.answer_scorer import FEATURE_NAMES
from training.answer_scorer.train import collect

ARTICLE = """---
title: "Quarry in Holbeck to close in June"
date: 2023-04-03
source: Holbeck Courier
url: https://courier.example/2023/04/quarry
---

The Holbeck quarry will close in June after 60 years, its owner said on Monday.

About 80 workers will lose their jobs, according to the owner, Stanmore Aggregates.

The council said it would turn the site into a lake.
"""


def test_collect_labels_the_candidates_of_each_question(tmp_path):
    corpus = tmp_path / "corpus" / "quarry"
    corpus.mkdir(parents=True)
    (corpus / "01-holbeck-courier-2023-04-03.md").write_text(ARTICLE, encoding="utf-8")
    questions = [
        {
            "group": "quarry",
            "question": "How many workers will lose their jobs at the Holbeck quarry?",
            "now": date(2023, 5, 1),
            "answers": ["80"],
            "cited": {"01-holbeck-courier-2023-04-03.md"},
        },
        {
            "group": "quarry",
            "question": "What did the Holbeck quarry's owner pay for the land?",
            "now": date(2023, 5, 1),
            "answers": [],
            "cited": set(),
        },
    ]
    features, labels, groups = collect(questions, tmp_path / "corpus", tmp_path / "home")
    assert features and len(features) == len(labels) == len(groups)
    assert all(len(f) == len(FEATURE_NAMES) for f in features)
    assert sum(labels) == 1  # only the sentence with "80", and only for the first question
    assert set(groups) == {"quarry"}


def test_gate_collect_labels_each_answer(tmp_path):
    from bot.answer_gate import GATE_FEATURE_NAMES
    from training.answer_gate.train import collect as collect_gate
    from training.answer_gate.train import decision_accuracy

    stories = tmp_path / "stories"
    (stories / "corpus" / "quarry").mkdir(parents=True)
    (stories / "corpus" / "quarry" / "01-holbeck-courier-2023-04-03.md").write_text(
        ARTICLE, encoding="utf-8"
    )
    (stories / "questions").mkdir()
    (stories / "gate-questions").mkdir()
    asked = {"asked_on": "2023-05-01"}
    (stories / "questions" / "quarry.jsonl").write_text(
        json.dumps(
            asked
            | {
                "id": "quarry-q01",
                "type": "fact",
                "question": "How many workers will lose their jobs at the Holbeck quarry?",
                "answers": [["80"]],
                "cite": ["quarry/01-holbeck-courier-2023-04-03.md"],
            }
        )
        + "\n"
    )
    (stories / "gate-questions" / "quarry.jsonl").write_text(
        json.dumps(
            asked
            | {
                "id": "quarry-g01",
                "type": "ooc",
                "question": "What did Stanmore Aggregates pay for the Holbeck quarry?",
                "answers": [],
                "cite": [],
            }
        )
        + "\n"
    )
    records = collect_gate(tmp_path / "home", stories)
    assert [(r["story"], r["type"], r["right"]) for r in records] == [
        ("quarry", "fact", True),
        ("quarry", "ooc", False),
    ]
    assert all(len(r["x"]) == len(GATE_FEATURE_NAMES) for r in records)
    # Shown: the right answer counts; abstained: the out-of-corpus question counts.
    assert decision_accuracy(records, {0: 0.9, 1: 0.1}, 0.5) == 1.0
    assert decision_accuracy(records, {0: 0.1, 1: 0.9}, 0.5) == 0.0
    assert decision_accuracy(records, {0: 0.9, 1: 0.9}, 0.5) == 0.5
