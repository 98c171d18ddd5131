"""Shared helpers for the benchmark scripts (plain Python; each prints a table)."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT.parent / "shared" / "eval" / "squad-news"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def eval_dir() -> Path:
    """The squad-news evaluation set (override with DATELINE_EVAL_DIR)."""
    return Path(os.environ.get("DATELINE_EVAL_DIR", EVAL_DIR))


def passage_texts(service) -> list[str]:
    """What an ingest of the squad-news corpus gives the model, passage by passage
    (chunked with ``service``'s settings, title prefix included)."""
    from retrieval.chunking import chunk_text
    from retrieval.ingest import embedding_text
    from retrieval.loaders import iter_articles
    from retrieval.models import Article

    count = service.ingestor.tokens.count_many
    texts = []
    for item in iter_articles([eval_dir() / "corpus"]):
        if isinstance(item, Article):
            spans = chunk_text(
                item.text,
                count,
                max_tokens=service.settings.index.max_tokens,
                overlap=service.settings.index.overlap_sentences,
            )
            texts += [embedding_text(item.text[s.start : s.end], item.title) for s in spans]
    return texts


def questions(answerable_only: bool = False) -> list[dict]:
    """The evaluation questions."""
    rows = [json.loads(line) for line in open(eval_dir() / "questions.jsonl", encoding="utf-8")]
    return [r for r in rows if r["answers"]] if answerable_only else rows


def contains(text: str, answers: list[str]) -> bool:
    """Whether any gold answer appears in ``text`` (case-insensitive)."""
    lowered = text.lower()
    return any(a.lower() in lowered for a in answers)


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def time_questions(service, qs: list[str], runs: int = 3) -> dict[str, list[tuple[float, float]]]:
    """Warm latency of ``service.search`` and ``service.ask`` over ``qs``, in ms.

    Every question is asked once to warm up; then both calls are timed over all of them,
    ``runs`` times. Returns ``{"search": [(p50, p95), ...], "ask": [...]}``, one pair per run.
    """
    import time

    import numpy as np

    for q in qs:
        service.ask(q)
    results: dict[str, list[tuple[float, float]]] = {"search": [], "ask": []}
    for _ in range(runs):
        for name, fn in (("search", service.search), ("ask", service.ask)):
            times = []
            for q in qs:
                started = time.perf_counter()
                fn(q)
                times.append((time.perf_counter() - started) * 1000)
            results[name].append((float(np.percentile(times, 50)), float(np.percentile(times, 95))))
    return results


def latency_rows(results: dict, passages: int, targets: dict, **extra) -> list[dict]:
    """Table rows (p50 and p95 of search and of a complete answer) from ``time_questions``.

    ``targets`` maps ``(name, pct)`` such as ``("ask", "p50")`` to a target; ``extra``
    fields (``rss_mb``) go on every row.
    """
    rows = []
    for name, label in (("search", "search"), ("ask", "complete extractive answer")):
        for i, pct in enumerate(("p50", "p95")):
            median, low, high = summary([r[i] for r in results[name]])
            rows.append(
                {
                    "figure": f"{label} {pct}, {passages} passages",
                    "median": median,
                    "min": low,
                    "max": high,
                    "unit": "ms",
                    "target": targets.get((name, pct), ""),
                    **extra,
                }
            )
    return rows


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """A plain-text table."""
    cells = [header] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def run_child(cmd: list[str], env: dict | None = None, stdin: str | None = None):
    """Run a command; returns (seconds, peak RSS in MB, stdout) of that child alone.

    Uses GNU time's ``%M`` so the figure is this child's own high-water mark.
    """
    import subprocess
    import tempfile
    import time

    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            env={**os.environ, **(env or {})},
            text=True,
        )
        seconds = time.perf_counter() - started
        if proc.returncode:
            raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr[-500:]}")
        rss_kb = int(report.read().strip().splitlines()[-1])
    return seconds, rss_kb / 1024, proc.stdout


def print_rows(title: str, rows: list[dict]) -> None:
    """Benchmark rows (figure, median, min, max, unit, target, rss_mb) as one table."""
    print_table(
        title,
        ["figure", "median", "min", "max", "unit", "target", "peak RSS MB"],
        [
            [
                r["figure"],
                r["median"],
                r["min"],
                r["max"],
                r["unit"],
                r.get("target", ""),
                r.get("rss_mb", ""),
            ]
            for r in rows
        ],
    )


def emit(rows: list[dict]) -> None:
    """Print rows as JSON for bench/run_all.py, or as a table when run alone."""
    if "--json" in sys.argv:
        print(json.dumps(rows))
        return
    print_rows("Dateline benchmark", rows)
