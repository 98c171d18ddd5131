"""Ingest throughput against encoding the same passage texts with the model alone.

Both sides run in one process with the model already loaded; each figure is the
median of 3 runs (min and max shown). Ingest runs into a fresh temporary home each
time. Run: ``python bench/ingest_speed.py``.
"""

from __future__ import annotations

import tempfile
import time

from common import eval_dir, print_table, summary


def main(runs: int = 3) -> None:
    from bot.service import DatelineService
    from config import load_settings
    from retrieval.chunking import chunk_text
    from retrieval.ingest import embedding_text
    from retrieval.loaders import iter_articles
    from retrieval.models import Article

    corpus = eval_dir() / "corpus"
    ingest_times, encode_times, passages, tokens = [], [], 0, 0
    with tempfile.TemporaryDirectory() as warm_home:
        warm = DatelineService(load_settings(home=warm_home))
        warm.embedder.encode(["warm up the model"])
        embedder = warm.embedder
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as home:
                service = DatelineService(load_settings(home=home))
                service.embedder = embedder
                started = time.perf_counter()
                report = service.ingest_paths([corpus])
                ingest_times.append(time.perf_counter() - started)
                passages = report.passages
        texts = []
        count = warm.ingestor.tokens.count_many
        for item in iter_articles([corpus]):
            if isinstance(item, Article):
                spans = chunk_text(item.text, count)
                texts += [embedding_text(item.text[s.start : s.end], item.title) for s in spans]
        tokens = sum(count(texts))
        for _ in range(runs):
            started = time.perf_counter()
            embedder.model.encode(texts, batch_size=embedder.batch_size, show_progress_bar=False)
            encode_times.append(time.perf_counter() - started)
    ing, enc = summary(ingest_times), summary(encode_times)
    rows = [
        ["ingest end to end (s)", *ing, passages / ing[0], tokens / ing[0]],
        ["encode only (s)", *enc, len(texts) / enc[0], tokens / enc[0]],
    ]
    print_table(
        f"Ingest of squad-news ({passages} passages, {tokens} tokens), {runs} runs",
        ["what", "median", "min", "max", "passages/s", "tokens/s"],
        rows,
    )
    print(f"\ningest / encode-only time: {ing[0] / enc[0]:.3f} (target <= 1.15)")
    print(f"ingest throughput / encode-only throughput: {enc[0] / ing[0]:.3f}")


if __name__ == "__main__":
    main()
