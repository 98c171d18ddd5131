"""Cold start: ``dateline --help`` and ``dateline ask`` in fresh processes on an existing index.

Each figure is the median of 5 runs (min, max), with the child's own peak RSS.
Run: ``python bench/cold_start.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, run_child


def main(runs: int = 5) -> None:
    dateline = str(Path(sys.executable).parent / "dateline")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dateline-cold-") as home:
        run_child([dateline, "--home", home, "ingest", str(ROOT / "data" / "articles")])
        run_child([dateline, "--home", home, "ask", "warm the BM25 cache"])
        cases = [
            ("dateline --help (s)", [dateline, "--help"], 0.5),
            ("cold dateline ask (s)", [dateline, "--home", home, "ask", "Who is Song Tao?"], 4.0),
        ]
        for name, cmd, target in cases:
            times, rss = [], []
            for _ in range(runs):
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
