"""Cold start: ``dateline --help`` and ``dateline ask`` in fresh processes on an existing index.

Each figure is the median of 5 runs (min, max), with the child's own peak RSS. The cold
``ask`` reads the index's replica (``retrieval.replica``, built by the ingest), so it does
not import chromadb; "replica stale" marks the index as changed before each run (as
another process writing to it would), so that ask reads Chroma and rebuilds the replica.
Run: ``python bench/cold_start.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, run_child

from retrieval.replica import stamp_path, touch_stamp


def main(runs: int = 5) -> None:
    dateline = str(Path(sys.executable).parent / "dateline")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dateline-cold-") as home:
        run_child([dateline, "--home", home, "ingest", str(ROOT / "data" / "articles")])
        run_child([dateline, "--home", home, "ask", "warm the BM25 cache"])
        ask = [dateline, "--home", home, "ask", "Who is Song Tao?"]
        stamp = stamp_path(Path(home), "dateline")
        cases = [
            ("dateline --help (s)", [dateline, "--help"], 0.5, False),
            ("cold dateline ask (s)", ask, 1.0, False),
            ("cold dateline ask, replica stale (s)", ask, 4.0, True),
        ]
        for name, cmd, target, stale in cases:
            times, rss = [], []
            for _ in range(runs):
                if stale:
                    touch_stamp(stamp)
                seconds, peak, _ = run_child(cmd)
                times.append(seconds)
                rss.append(peak)
            rows.append(
                {
                    "figure": name,
                    "median": statistics.median(times),
                    "min": min(times),
                    "max": max(times),
                    "unit": "s",
                    "target": f"<= {target}",
                    "rss_mb": round(max(rss)),
                }
            )
    emit(rows)


if __name__ == "__main__":
    main()
