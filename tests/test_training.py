"""The answer scorer's training collects the candidates the bot itself would rank
(training/answer_scorer/train.py), whatever the user's settings say."""

from __future__ import annotations

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
