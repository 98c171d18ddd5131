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

from common import ROOT, emit, latency_rows, summary

PASSAGES_PER_ARTICLE = 3.0
# Articles per generated file: bounds one ingest call, and progress survives an interruption.
MAX_ARTICLES_PER_BATCH = 3000


def grow(home: Path, target: int, seed_offset: list[int]) -> float:
    """Ingest generated articles until the index holds ``target`` passages; returns seconds."""
    from bot.service import DatelineService
    from config import load_settings

    service = DatelineService(load_settings(home=home))
    spent = 0.0
    while (have := service.store.passage_count()) < target:
        articles = max(10, int((target - have) / PASSAGES_PER_ARTICLE) + 1)
        articles = min(articles, MAX_ARTICLES_PER_BATCH)
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
            print(
                f"  +{report.passages} passages ({report.summary()})", file=sys.stderr, flush=True
            )
    return spent


PROBE = r"""
import json, sys
sys.path[:0] = [sys.argv[2], sys.argv[2] + "/bench"]
from common import time_questions
from config import load_settings
from bot.service import DatelineService
qs = [json.loads(l)["question"] for l in open(sys.argv[3])][:200]
svc = DatelineService(load_settings(home=sys.argv[1]))
out = time_questions(svc, qs, runs=3)
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so it would report the parent's peak.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
out["rss_mb"] = int(hwm.split()[1]) / 1024
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
    # The scale indexes are built and queried with the int8 ONNX backend: building 100k
    # passages with torch would take hours here. Set the variable to measure another backend.
    os.environ.setdefault("DATELINE_INDEX__EMBEDDING_BACKEND", "onnx-int8")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "dateline-scale")
    parser.add_argument("--phases", default="1000,10000,100000")
    parser.add_argument("--json", action="store_true", help="print rows as JSON (run_all.py)")
    parser.add_argument(
        "--no-add", action="store_true", help="skip timing ~1k added passages at the end"
    )
    args = parser.parse_args()
    phases = [int(x) for x in args.phases.split(",")]
    args.home.mkdir(parents=True, exist_ok=True)
    offset_file = args.home / "scale-offset.json"
    offset = [json.loads(offset_file.read_text()) if offset_file.exists() else 0]
    rows = []
    for target in phases:
        print(f"growing to {target} passages in {args.home}", file=sys.stderr, flush=True)
        grow(args.home, target, offset)
        result = probe(args.home)
        targets = {("ask", "p50"): "<= 80"} if target == 100000 else {}
        rows += latency_rows(result, result["passages"], targets, rss_mb=round(result["rss_mb"]))
    if args.no_add:
        emit(rows)
        return
    # Incremental cost at the largest size: ~1k more passages, then the first search in a
    # fresh process (which finds the BM25 cache already brought up to date by the ingest).
    from bot.service import DatelineService
    from config import load_settings

    adds, firsts = [], []
    for _ in range(3):
        before = DatelineService(load_settings(home=args.home)).store.passage_count()
        adds.append(grow(args.home, before + 1000, offset))
        service = DatelineService(load_settings(home=args.home))
        started = time.perf_counter()
        service.search("first search after adding passages")
        firsts.append(time.perf_counter() - started)
    for name, values in (
        (f"add ~1k passages to {before}: ingest incl. BM25 update", adds),
        ("first search in a new process after that", firsts),
    ):
        median, low, high = summary(values)
        rows.append({"figure": name, "median": median, "min": low, "max": high, "unit": "s"})
    emit(rows)


if __name__ == "__main__":
    main()
