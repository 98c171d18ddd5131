"""Warm query latency and peak memory at about 1k, 10k and 100k passages.

The index grows by really ingesting generated articles (bench/make_corpus.py) into one
home, phase by phase. At each size a fresh process loads the index, answers 200 eval
questions once to warm up, then times ``search`` and a complete extractive ``ask`` over
the same questions 3 times; it reports p50/p95 (median of the 3 runs, with min and max)
and its own peak RSS. The last phase also times adding ~1k passages to the big index and
the first search after it (the BM25 refresh).
Run: ``python bench/scale.py [--home DIR] [--phases 1000,10000,100000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, print_table, summary

PASSAGES_PER_ARTICLE = 3.0


def grow(home: Path, target: int, seed_offset: list[int]) -> float:
    """Ingest generated articles until the index holds ``target`` passages; returns seconds."""
    from bot.service import DatelineService
    from config import load_settings

    service = DatelineService(load_settings(home=home))
    spent = 0.0
    while (have := service.store.passage_count()) < target:
        articles = max(10, int((target - have) / PASSAGES_PER_ARTICLE) + 1)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"batch-{seed_offset[0]}.jsonl"
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "make_corpus.py"),
                    str(path),
                    "--articles",
                    str(articles),
                    "--offset",
                    str(seed_offset[0]),
                ],
                check=True,
            )
            seed_offset[0] += articles
            (home / "scale-offset.json").write_text(json.dumps(seed_offset[0]))
            started = time.perf_counter()
            report = service.ingest_paths([path])
            spent += time.perf_counter() - started
            print(f"  +{report.passages} passages ({report.summary()})", flush=True)
    return spent


PROBE = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[2])
import numpy as np
from config import load_settings
from bot.service import DatelineService
qs = [json.loads(l)["question"] for l in open(sys.argv[3])][:200]
svc = DatelineService(load_settings(home=sys.argv[1]))
for q in qs:
    svc.ask(q)
out = {"search": [], "ask": []}
for _ in range(3):
    for name, fn in (("search", lambda q: svc.search(q)), ("ask", lambda q: svc.ask(q))):
        times = []
        for q in qs:
            t = time.perf_counter(); fn(q); times.append((time.perf_counter() - t) * 1000)
        out[name].append((float(np.percentile(times, 50)), float(np.percentile(times, 95))))
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["passages"] = svc.store.passage_count()
print(json.dumps(out))
"""


def probe(home: Path) -> dict:
    """Latency and peak RSS measured in a fresh process."""
    from common import eval_dir

    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(home), str(ROOT), str(eval_dir() / "questions.jsonl")],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "dateline-scale")
    parser.add_argument("--phases", default="1000,10000,100000")
    args = parser.parse_args()
    phases = [int(x) for x in args.phases.split(",")]
    args.home.mkdir(parents=True, exist_ok=True)
    offset_file = args.home / "scale-offset.json"
    offset = [json.loads(offset_file.read_text()) if offset_file.exists() else 0]
    rows = []
    for target in phases:
        print(f"growing to {target} passages in {args.home}", flush=True)
        grow(args.home, target, offset)
        result = probe(args.home)
        for name in ("search", "ask"):
            p50 = summary([r[0] for r in result[name]])
            p95 = summary([r[1] for r in result[name]])
            rows.append([result["passages"], name, *p50, *p95, result["rss_mb"]])
    print_table(
        "Warm latency (ms) by index size; median of 3 runs over 200 questions [min, max]",
        ["passages", "op", "p50", "p50 min", "p50 max", "p95", "p95 min", "p95 max", "peak RSS MB"],
        rows,
    )
    # Incremental cost at the largest size: ~1k more passages, then the first search.
    from bot.service import DatelineService
    from config import load_settings

    before = DatelineService(load_settings(home=args.home)).store.passage_count()
    add = grow(args.home, before + 1000, offset)
    service = DatelineService(load_settings(home=args.home))
    started = time.perf_counter()
    service.search("warm up after adding passages")
    first = time.perf_counter() - started
    print(
        f"\nadding ~1k passages to {before}: ingest {add:.1f} s; first search after it "
        f"(BM25 refresh) {first:.2f} s"
    )


if __name__ == "__main__":
    main()
