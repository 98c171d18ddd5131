"""Ingest throughput against encoding the same passage texts with the model alone.

Both sides run in one process with the model loaded and Chroma started; runs alternate
(ingest, encode, ingest, ...) and the ratio is the median of the per-pair ratios. Each
ingest goes into a fresh temporary home and includes bringing the BM25 cache up to date.
The backend is the configured one (DATELINE_INDEX__EMBEDDING_BACKEND=torch|onnx|onnx-int8).
Run: ``python bench/ingest_speed.py``.
"""

from __future__ import annotations

import tempfile
import time

from common import emit, eval_dir, passage_texts, summary


def main(runs: int = 3) -> None:
    from bot.service import DatelineService
    from config import load_settings

    corpus = eval_dir() / "corpus"
    ingest_times, encode_times, passages = [], [], 0
    with tempfile.TemporaryDirectory() as warm_home:
        warm = DatelineService(load_settings(home=warm_home))
        embedder = warm.embedder
        embedder.encode(["warm up the model"])
        warm.store.passage_count()  # Chroma imported and started before timing
        texts = passage_texts(warm)
        tokens = sum(warm.ingestor.tokens.count_many(texts))
        # Ingest and encode-only runs alternate, so drift in machine speed hits both alike.
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as home:
                service = DatelineService(load_settings(home=home))
                service.embedder = embedder
                started = time.perf_counter()
                report = service.ingest_paths([corpus])
                ingest_times.append(time.perf_counter() - started)
                passages = report.passages
            started = time.perf_counter()
            embedder.model.encode(texts, batch_size=embedder.batch_size, show_progress_bar=False)
            encode_times.append(time.perf_counter() - started)
    ing, enc = summary(ingest_times), summary(encode_times)
    ratios = [e / i for e, i in zip(encode_times, ingest_times, strict=True)]
    emit(
        [
            {
                "figure": f"ingest squad-news, {passages} passages (passages/s)",
                "unit": "1/s",
                **_rate(passages, ingest_times),
            },
            {
                "figure": f"ingest squad-news, {tokens} tokens (tokens/s)",
                "unit": "1/s",
                **_rate(tokens, ingest_times),
            },
            {
                "figure": "encode only, same texts (passages/s)",
                "unit": "1/s",
                **_rate(len(texts), encode_times),
            },
            {
                "figure": "ingest / encode-only throughput",
                "unit": "ratio",
                "median": enc[0] / ing[0],
                "min": min(ratios),
                "max": max(ratios),
                "target": ">= 0.87",
            },
        ]
    )


def _rate(amount: int, seconds: list[float]) -> dict:
    median, low, high = summary(seconds)
    return {"median": amount / median, "min": amount / high, "max": amount / low}


if __name__ == "__main__":
    main()
