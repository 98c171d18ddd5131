"""``make bench``: run every benchmark in its own process and print one table.

First comes Dateline beside the plain LangChain peer (bench/versus_peer.py): every
performance figure as a ratio from interleaved rounds in the same run. Then the rest.
Each figure is the median of at least 3 runs with min and max; ``peak RSS MB`` is the
high-water mark of the process that measured it. The scale benchmark (1k/10k/100k
passages) takes long to build its index the first time; set DATELINE_BENCH_SCALE=0 to
skip it, or DATELINE_SCALE_HOME to reuse an index. DATELINE_BENCH_PEER_ONLY=1 runs only
the comparison with the peer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from common import print_rows, run_child
from versus_peer import print_side_by_side

HERE = Path(__file__).resolve().parent


def main() -> None:
    print("running versus_peer.py ...", file=sys.stderr, flush=True)
    _, _, out = run_child([sys.executable, str(HERE / "versus_peer.py"), "--json"])
    peer = json.loads(out.strip().splitlines()[-1])
    print_side_by_side(peer["rows"], peer["facts"])
    if os.environ.get("DATELINE_BENCH_PEER_ONLY", "0") == "1":
        return
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
