"""Encode throughput by batch size (``index.batch_size``), on the squad-news passages.

The texts are the ones an ingest gives the model (chunked, with the title prefix). Each
round encodes them once at every batch size, in turn, so that drift in machine speed hits
every size alike; each figure is passages per second, median [min-max] of the rounds, and
the ratio to the default size's time in the same round. The configured backend is used
(DATELINE_INDEX__EMBEDDING_BACKEND=torch|onnx|onnx-int8).
Run: ``python bench/batch_size.py`` (about 25 s per size and round on 2 cores).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from common import emit, passage_texts, summary

SIZES = (2, 4, 8, 16, 32)


def main(rounds: int = 2) -> None:
    from bot.service import DatelineService
    from config import load_settings

    with tempfile.TemporaryDirectory() as home:
        service = DatelineService(load_settings(home=home))
        default = service.settings.index.batch_size
        model = service.embedder.model
        texts = passage_texts(service)
        model.encode(texts[:8], batch_size=default, show_progress_bar=False)
        seconds: dict[int, list[float]] = {size: [] for size in SIZES}
        for r in range(rounds):
            for size in SIZES:
                print(f"  round {r + 1}, batch {size} ...", file=sys.stderr, flush=True)
                started = time.perf_counter()
                model.encode(texts, batch_size=size, show_progress_bar=False)
                seconds[size].append(time.perf_counter() - started)
    base = seconds.get(default)
    rows = []
    for size in SIZES:
        median, low, high = summary(seconds[size])
        row = {
            "figure": f"batch {size}{' (default)' if size == default else ''}: passages/s",
            "unit": "1/s",
            "median": len(texts) / median,
            "min": len(texts) / high,
            "max": len(texts) / low,
        }
        if base:
            ratios = [s / b for s, b in zip(seconds[size], base, strict=True)]
            row["target"] = f"time {statistics.median(ratios):.2f}x the default's"
        rows.append(row)
    emit(rows)


if __name__ == "__main__":
    main()
