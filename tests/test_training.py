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


def test_reader_pairs_keep_the_answer_and_the_hardest_other_sentences(tmp_path):
    import random

    from training.answer_reader.pairs import collect as collect_pairs

    corpus = tmp_path / "corpus" / "quarry"
    corpus.mkdir(parents=True)
    (corpus / "01-holbeck-courier-2023-04-03.md").write_text(ARTICLE, encoding="utf-8")
    question = {
        "group": "quarry",
        "question": "How many workers will lose their jobs at the Holbeck quarry?",
        "now": date(2023, 5, 1),
        "answers": ["80"],
        "cited": {"01-holbeck-courier-2023-04-03.md"},
    }
    pairs = collect_pairs([question], tmp_path / "corpus", tmp_path / "home", 1, random.Random(1))
    assert [p["label"] for p in pairs] == [1, 0, 0]  # the answer, the hardest other, one drawn
    assert "80 workers" in pairs[0]["sentence"]
    assert len({p["sentence"] for p in pairs}) == 3
    assert {p["group"] for p in pairs} == {"quarry"}


def test_reader_split_holds_out_whole_groups_and_scores_them():
    import numpy as np

    from training.answer_reader.train import held_out_figures, split

    pairs = [
        {"group": f"g{g}", "question": f"q{g}", "sentence": f"s{n}", "label": int(n == 0)}
        for g in range(20)
        for n in range(4)
    ]
    train, held = split(pairs, seed=3)
    assert {p["group"] for p in train}.isdisjoint({p["group"] for p in held})
    assert len({p["group"] for p in held}) == 2 and len(train) + len(held) == len(pairs)
    perfect = held_out_figures(held, np.asarray([float(p["label"]) for p in held]))
    assert perfect["auc"] == 1.0 and perfect["top1"] == 1.0
    assert perfect["top1_by_chance"] == 0.25 and perfect["questions_with_answer"] == 2


def test_reader_reads_each_written_questions_answers_whole(tmp_path, monkeypatch):
    from training.answer_reader import pairs as reader_pairs

    story = tmp_path / "stories"
    (story / "questions").mkdir(parents=True)
    row = {
        "id": "quarry-q1",
        "type": "fact",
        "question": "How many workers will lose their jobs at the Holbeck quarry?",
        "asked_on": "2023-05-01",
        "answers": [["80", "eighty"], ["Stanmore Aggregates"]],
        "cite": ["quarry/01-holbeck-courier-2023-04-03.md"],
    }
    (story / "questions" / "quarry.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setattr(reader_pairs, "DATA", tmp_path)
    (corpus, questions), _ = reader_pairs.written_questions()
    assert corpus == story / "corpus"
    assert questions[0]["answers"] == ["80", "eighty", "Stanmore Aggregates"]
    assert questions[0]["cited"] == {"01-holbeck-courier-2023-04-03.md"}
    assert questions[0]["now"] == date(2023, 5, 1)
