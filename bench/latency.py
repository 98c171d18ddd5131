"""Warm latency of ``search`` and of a complete extractive answer on the squad-news corpus.

The corpus is indexed into a temporary home; 200 eval questions are answered once to
warm up, then timed 3 times. Figures: p50 and p95 (median of the 3 runs, min, max).
Run: ``python bench/latency.py``.
"""

from __future__ import annotations

import tempfile

from common import emit, eval_dir, latency_rows, questions, time_questions


def main(runs: int = 3, count: int = 200) -> None:
    from bot.service import DatelineService
    from config import load_settings

    qs = [q["question"] for q in questions()[:count]]
    with tempfile.TemporaryDirectory(prefix="dateline-latency-") as home:
        service = DatelineService(load_settings(home=home))
        service.ingest_paths([eval_dir() / "corpus"])
        results = time_questions(service, qs, runs)
        passages = service.store.passage_count()
    targets = {("ask", "p50"): "<= 30", ("ask", "p95"): "<= 60"}
    emit(latency_rows(results, passages, targets))


if __name__ == "__main__":
    main()
