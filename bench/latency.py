"""Warm latency of ``search`` and of a complete extractive answer on the squad-news corpus.

The corpus is indexed into a temporary home; 200 eval questions are answered once to
warm up, then timed 3 times. Figures: p50 and p95 (median of the 3 runs, min, max).
Run: ``python bench/latency.py``.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from common import emit, eval_dir, questions, summary


def main(runs: int = 3, count: int = 200) -> None:
    from bot.service import DatelineService
    from config import load_settings

    qs = [q["question"] for q in questions()[:count]]
    with tempfile.TemporaryDirectory(prefix="dateline-latency-") as home:
        service = DatelineService(load_settings(home=home))
        service.ingest_paths([eval_dir() / "corpus"])
        for q in qs:
            service.ask(q)
        results = {"search": [], "ask": []}
        for _ in range(runs):
            for name, fn in (("search", service.search), ("ask", service.ask)):
                times = []
                for q in qs:
                    started = time.perf_counter()
                    fn(q)
                    times.append((time.perf_counter() - started) * 1000)
                results[name].append((np.percentile(times, 50), np.percentile(times, 95)))
        passages = service.store.passage_count()
    rows = []
    targets = {("ask", "p50"): "<= 30", ("ask", "p95"): "<= 60"}
    for name, label in (("search", "search"), ("ask", "complete extractive answer")):
        for i, pct in enumerate(("p50", "p95")):
            median, low, high = summary([float(r[i]) for r in results[name]])
            rows.append(
                {
                    "figure": f"{label} {pct}, {passages} passages",
                    "median": median,
                    "min": low,
                    "max": high,
                    "unit": "ms",
                    "target": targets.get((name, pct), ""),
                }
            )
    emit(rows)


if __name__ == "__main__":
    main()
