"""Dateline beside the plain LangChain peer (bench/peer_langchain.py), in one run.

Every figure is measured for both in interleaved rounds (the order alternates each round,
so drift in the machine's speed hits both alike) and reported as each side's median with
min and max, and the ratio Dateline / peer: the median of the per-round ratios, with their
min and max. Corpus: squad-news; the same packaged all-MiniLM-L6-v2 on both sides.

- ingest: the whole corpus into a fresh index, in a warm process (model loaded, Chroma
  started). Dateline with its configured backend (ONNX fp32 by default), including its BM25
  update; the peer with HuggingFaceEmbeddings on torch.
- warm search: ``DatelineService.search`` (k=5, hybrid) against ``similarity_search(k=4)``,
  p50 and p95 over the questions; every question is asked once to warm up first.
- complete extractive answer: ``DatelineService.ask`` against the peer's retrieval alone.
- cold ask and ``--help``: whole processes on the indexes built above (GNU time).

Each side's warm figures come from its own long-lived process, which the parent tells what
to run next over a pipe. Run: ``python bench/versus_peer.py [--rounds 5] [--json]``;
``--only ingest`` measures the ingest row alone (``--ingest-rounds`` rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, eval_dir, questions, run_child, summary

HERE = Path(__file__).resolve().parent


# -- the two warm workers -------------------------------------------------------------------


class DatelineSide:
    """Dateline's service, driven by the parent."""

    def __init__(self) -> None:
        from config import load_settings

        self._settings = load_settings
        self._embedder = None
        self.service = None

    def ingest(self, home: str) -> float:
        from bot.service import DatelineService

        service = DatelineService(self._settings(home=Path(home)))
        if self._embedder is None:
            self._embedder = service.embedder
            self._embedder.encode(["warm up the model"])
        service.embedder = self._embedder
        started = time.perf_counter()
        service.ingest_paths([eval_dir() / "corpus"])
        return time.perf_counter() - started

    def open(self, home: str) -> int:
        from bot.service import DatelineService

        self.service = DatelineService(self._settings(home=Path(home)))
        return self.service.store.passage_count()

    def search(self, question: str) -> None:
        self.service.search(question)

    def ask(self, question: str) -> None:
        self.service.ask(question)


class PeerSide:
    """The LangChain peer, driven by the parent."""

    def __init__(self) -> None:
        import peer_langchain

        self.peer = peer_langchain
        self.embedding = peer_langchain.embeddings()
        self.embedding.embed_query("warm up the model")
        self.store = None

    def ingest(self, persist: str) -> float:
        started = time.perf_counter()
        self.peer.ingest(eval_dir() / "corpus", Path(persist), self.embedding)
        return time.perf_counter() - started

    def open(self, persist: str) -> int:
        self.store = self.peer.open_store(Path(persist), self.embedding)
        return self.store._collection.count()

    def search(self, question: str) -> None:
        self.peer.search(self.store, question)


def worker(side: str) -> None:
    """Answer the parent's commands, one JSON line in, one JSON line out."""
    impl = DatelineSide() if side == "dateline" else PeerSide()
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op in ("ingest", "open"):
            result = getattr(impl, op)(cmd["path"])
        elif op == "time":
            fn = getattr(impl, cmd["call"])
            result = []
            for q in cmd["questions"]:
                started = time.perf_counter()
                fn(q)
                result.append((time.perf_counter() - started) * 1000)
        elif op == "rss":
            hwm = [x for x in open("/proc/self/status") if x.startswith("VmHWM:")][0]
            result = int(hwm.split()[1]) / 1024
        else:
            result = None
        out.write(json.dumps(result) + "\n")
        out.flush()


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, side: str):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        )

    def __call__(self, op: str, **fields):
        self.proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a benchmark worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


# -- the comparison -------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values``."""
    import numpy as np

    return float(np.percentile(values, q))


def interleaved(rounds: int, first, second) -> tuple[list, list]:
    """``rounds`` pairs of measurements, the order alternating: A B, B A, A B, ..."""
    a, b = [], []
    for r in range(rounds):
        if r % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    return a, b


def row(figure: str, unit: str, ours: list[float], peer: list[float], target: str = "") -> dict:
    """A table row: both sides' median [min-max] and the per-round ratio."""
    ratios = [x / y for x, y in zip(ours, peer, strict=True)]
    (m, lo, hi), (pm, plo, phi), (rm, rlo, rhi) = summary(ours), summary(peer), summary(ratios)
    return {
        "figure": figure,
        "unit": unit,
        "dateline": [m, lo, hi],
        "peer": [pm, plo, phi],
        "ratio": [rm, rlo, rhi],
        "target": target,
        "rounds": len(ratios),
    }


def processes(rounds: int, ours_cmd: list[str], peer_cmd: list[str]):
    """Interleaved whole-process runs after one warm-up each (page cache, bytecode).

    Returns both sides' seconds and their largest peak RSS in MB.
    """
    run_child(ours_cmd)
    run_child(peer_cmd)
    runs = interleaved(rounds, lambda: run_child(ours_cmd), lambda: run_child(peer_cmd))
    ours, peer = ([r[0] for r in side] for side in runs)
    return ours, peer, round(max(r[1] for r in runs[0])), round(max(r[1] for r in runs[1]))


def measure(
    rounds: int, count: int, ingest_rounds: int, only: str | None = None
) -> tuple[list[dict], dict]:
    """Every side-by-side figure (``only="ingest"``: the ingest row alone); returns (rows,
    facts about the run)."""
    qs = [q["question"] for q in questions()[:count]]
    work = Path(tempfile.mkdtemp(prefix="dateline-vs-peer-"))
    ours, peer = Worker("dateline"), Worker("peer")
    rows, facts = [], {"load average at start (1 min)": os.getloadavg()[0]}
    facts["dateline embedding backend"] = os.environ.get(
        "DATELINE_INDEX__EMBEDDING_BACKEND", "configured (default onnx)"
    )
    try:
        print("  ingest rounds ...", file=sys.stderr, flush=True)
        homes, persists = [], []

        def ours_ingest():
            homes.append(str(work / f"home-{len(homes)}"))
            return ours("ingest", path=homes[-1])

        def peer_ingest():
            persists.append(str(work / f"peer-{len(persists)}"))
            return peer("ingest", path=persists[-1])

        ing = interleaved(ingest_rounds, ours_ingest, peer_ingest)
        rows.append(row("ingest squad-news, warm process", "s", *ing, "ratio <= 0.7"))
        for old in homes[:-1] + persists[:-1]:
            shutil.rmtree(old, ignore_errors=True)
        home, persist = homes[-1], persists[-1]
        facts["dateline passages"] = ours("open", path=home)
        facts["peer chunks"] = peer("open", path=persist)
        if only == "ingest":
            facts["load average at end (1 min)"] = os.getloadavg()[0]
            shutil.rmtree(work, ignore_errors=True)
            return rows, facts

        print("  warm rounds ...", file=sys.stderr, flush=True)
        ours("time", call="ask", questions=qs)  # warm-up: every question once
        peer("time", call="search", questions=qs)
        search, answer, peer_runs = [], [], []

        def ours_round():
            search.append(ours("time", call="search", questions=qs))
            answer.append(ours("time", call="ask", questions=qs))
            return 0.0

        def peer_round():
            peer_runs.append(peer("time", call="search", questions=qs))
            return 0.0

        interleaved(rounds, ours_round, peer_round)
        for q, target in ((50, "ratio <= 1.0"), (95, "ratio <= 1.0")):
            rows.append(
                row(
                    f"warm search p{q}, {len(qs)} questions",
                    "ms",
                    [pct(t, q) for t in search],
                    [pct(t, q) for t in peer_runs],
                    target,
                )
            )
        rows.append(
            row(
                "complete answer p50 (peer: retrieval only)",
                "ms",
                [pct(t, 50) for t in answer],
                [pct(t, 50) for t in peer_runs],
                "ratio <= 1.2",
            )
        )
        facts["warm RSS MB"] = {"dateline": ours("rss"), "peer": peer("rss")}
    finally:
        ours.close()
        peer.close()

    try:
        print("  cold processes ...", file=sys.stderr, flush=True)
        dateline = str(Path(sys.executable).parent / "dateline")
        peer_cli = [sys.executable, str(HERE / "peer_langchain.py")]
        question = qs[0]
        cases = [
            (
                "cold ask on an existing index (whole process)",
                [dateline, "--home", home, "ask", question],
                [*peer_cli, "ask", "--persist", persist, question],
                "Dateline <= 1.0 s",
            ),
            (
                "--help (whole process)",
                [dateline, "--help"],
                [*peer_cli, "--help"],
                "Dateline <= 0.3 s",
            ),
        ]
        for figure, ours_cmd, peer_cmd, target in cases:
            ours_s, peer_s, ours_rss, peer_rss = processes(rounds, ours_cmd, peer_cmd)
            rows.append(row(figure, "s", ours_s, peer_s, target))
            facts[f"{figure}: peak RSS MB"] = {"dateline": ours_rss, "peer": peer_rss}
        floor = [run_child([sys.executable, "-c", "pass"])[0] for _ in range(rounds)]
        facts["python -c pass (s)"] = statistics.median(floor)
        facts["load average at end (1 min)"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows, facts


def print_side_by_side(rows: list[dict], facts: dict) -> None:
    """The table: each side's median [min-max] and the ratio."""

    def cell(values: list[float], unit: str) -> str:
        fmt = "{:.1f}" if unit == "ms" else "{:.2f}"
        m, lo, hi = (fmt.format(v) for v in values)
        return f"{m} {unit} [{lo}-{hi}]"

    header = ["figure", "Dateline", "LangChain peer", "ratio D/peer [min-max]", "target"]
    cells = [header]
    for r in rows:
        m, lo, hi = r["ratio"]
        cells.append(
            [
                r["figure"],
                cell(r["dateline"], r["unit"]),
                cell(r["peer"], r["unit"]),
                f"{m:.2f} [{lo:.2f}-{hi:.2f}]",
                r["target"],
            ]
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    rounds = max(r["rounds"] for r in rows)
    print(f"\nDateline beside plain LangChain RAG (squad-news; up to {rounds} interleaved rounds)")
    for i, c in enumerate(cells):
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for key, value in facts.items():
        print(f"  {key}: {value if not isinstance(value, float) else round(value, 3)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per figure")
    parser.add_argument("--ingest-rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--only", choices=("ingest",), help="measure only this figure (ingest: --ingest-rounds)"
    )
    parser.add_argument("--json", action="store_true", help="print rows as JSON (run_all.py)")
    parser.add_argument("--worker", choices=("dateline", "peer"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rows, facts = measure(args.rounds, args.questions, args.ingest_rounds, args.only)
    if args.json:
        print(json.dumps({"rows": rows, "facts": facts}))
    else:
        print_side_by_side(rows, facts)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
