"""``make bench``: run every benchmark in its own process and print one table.

Each figure is the median of at least 3 runs with min and max; ``peak RSS MB`` is the
high-water mark of the process that measured it. The scale benchmark (1k/10k/100k
passages) takes long to build its index the first time; set DATELINE_BENCH_SCALE=0 to
skip it, or DATELINE_SCALE_HOME to reuse an index.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from common import print_rows, run_child

HERE = Path(__file__).resolve().parent


def main() -> None:
    scripts = ["ingest_speed.py", "latency.py", "cold_start.py", "freshness.py"]
    if os.environ.get("DATELINE_BENCH_SCALE", "1") != "0":
        scripts.append("scale.py")
    rows = []
    for script in scripts:
        print(f"running {script} ...", file=sys.stderr, flush=True)
        args = [sys.executable, str(HERE / script), "--json"]
        if script == "scale.py" and os.environ.get("DATELINE_SCALE_HOME"):
            args += ["--home", os.environ["DATELINE_SCALE_HOME"]]
        _, rss, out = run_child(args)
        for row in json.loads(out.strip().splitlines()[-1]):
            row.setdefault("rss_mb", round(rss))
            rows.append(row)
    print_rows("Dateline benchmarks (median of >= 3 runs)", rows)


if __name__ == "__main__":
    main()
