"""Faults: the ingest process killed (SIGKILL) at random points, and ingests racing on one home.

After any number of kills, re-running the ingest must leave exactly the index a clean ingest
builds: the same article ids, passage ids, passage texts and counts. Between kills, readers
must keep working on the partial index (they see only complete articles).

The corpus is ~55 articles: a JSONL file generated like ``bench/make_corpus.py`` (from the
squad-news evaluation corpus; seed sentences when it is absent) plus ten ``.txt`` files, so
both per-file and per-record keys are exercised.
"""

from __future__ import annotations

import importlib
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import (
    ROOT,
    SEEDS,
    assert_consistent,
    index_state,
    make_service,
    sqlite_rows,
    start_ingest,
    wait_for,
    write_generated_articles,
)

pytestmark = pytest.mark.slow

KILLS = 5
SEED = 20_251_122
BUSY = "another ingest is running"


def _write_corpus(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder.mkdir(parents=True)
    records = None
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    try:
        make_corpus = importlib.import_module("make_corpus")
        if (make_corpus.eval_dir() / "corpus").is_dir():
            records = list(make_corpus.generate(45, seed=SEED, sentences_per_article=(6, 10)))
    except ImportError:
        records = None
    if records is None:  # no evaluation corpus here: records from the seed sentences
        tmp = folder / ".gen"
        paths = write_generated_articles(tmp, 45, sentences_each=6, seed=SEED)
        records = []
        for i, path in enumerate(paths):
            title, _, body = path.read_text().partition("\n\n")
            records.append({"title": title, "text": body, "url": f"https://gen.example/{i}"})
            path.unlink()
        tmp.rmdir()
    with open(folder / "feed.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    write_generated_articles(folder / "txt", 10, sentences_each=6, seed=SEED + 1)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request) -> dict:
    """The corpus and what a clean, uninterrupted ingest makes of it."""
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    root = tmp_path_factory.mktemp("faults")
    folder = _write_corpus(root / "corpus", monkeypatch)
    home = root / "clean"
    report = make_service(home).ingest_paths([folder])
    assert report.added >= 50 and not report.skipped, report.summary()
    state = index_state(make_service(home).store)
    assert_consistent(state)
    return {"folder": folder, "state": state, "rows": sqlite_rows(home), "root": root}


def _same_index(state: dict, clean: dict) -> None:
    assert_consistent(state)
    assert state["articles"] == clean["articles"]
    assert state["passage_ids"] == clean["passage_ids"]
    assert state["passages"] == clean["passages"]
    assert (state["article_count"], state["passage_count"]) == (
        clean["article_count"],
        clean["passage_count"],
    )


def _until(predicate, timeout: float) -> None:
    wait_for(predicate, timeout, interval=0.02)


def test_sigkill_at_five_random_points_then_rerun(corpus: dict, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    folder, clean = corpus["folder"], corpus["state"]
    home = tmp_path / "home"
    # Where each kill lands: after a random number of Chroma writes, or at a random moment
    # (often while the model loads or encodes, before any write).
    kinds = ["rows", "rows", "rows", "rows", "time"]
    rng.shuffle(kinds)
    kills: list[dict] = []
    started_all = time.monotonic()
    for n, kind in enumerate(kinds):
        before = sqlite_rows(home)
        left = max(corpus["rows"] - before, 2)
        target = before + rng.randint(1, max(1, int(left * 0.7)))
        delay = rng.uniform(0.5, 4.0)
        log = tmp_path / f"kill-{n}.log"
        with open(log, "wb") as stderr:
            # The torch backend keeps each run long enough for the kill points to land
            # inside it: the ONNX default ingests this corpus in about 2 s. The writes being
            # killed are the same for every backend.
            proc = start_ingest(
                folder,
                home,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                DATELINE_INDEX__EMBEDDING_BACKEND="torch",
            )
            started = time.monotonic()
            if kind == "rows":
                _until(lambda p=proc, t=target: sqlite_rows(home) >= t or p.poll() is not None, 180)
            else:
                _until(lambda p=proc: p.poll() is not None, delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        state = index_state(make_service(home).store)
        pending = sum(1 for s in state["status"].values() if s != "complete")
        kills.append(
            {
                "kind": kind,
                "at": f"{time.monotonic() - started:.1f}s"
                if kind == "time"
                else f"{target - before} rows",
                "killed": proc.returncode == -signal.SIGKILL,
                "rows": sqlite_rows(home) - before,
                "articles": len(state["articles"]),
                "pending": pending,
            }
        )
        assert proc.returncode in (0, -signal.SIGKILL), log.read_text(errors="replace")
        # Readers keep working on the partial index, and see only complete articles.
        reader = make_service(home)
        listed = {a.id for a in reader.articles()}
        assert listed <= clean["articles"]
        assert len(listed) == len(state["articles"]) - pending
        if listed:
            assert reader.search("minister", k=3) is not None

    assert sum(k["killed"] for k in kills) == KILLS, kills
    assert any(k["rows"] > 0 for k in kills), kills  # at least one kill interrupted writing
    report = make_service(home).ingest_paths([folder])
    assert not report.duplicates and not report.skipped, report.summary()
    _same_index(index_state(make_service(home).store), clean)
    again = make_service(home).ingest_paths([folder])
    assert not again.changed and again.passages == 0
    hits = make_service(home).search("minister", k=10)
    assert hits and {h.passage.article_id for h in hits} <= clean["articles"]
    print(f"\n{KILLS} kills + re-run in {time.monotonic() - started_all:.0f}s: {kills}")


def test_two_ingests_at_once_on_one_home(corpus: dict, tmp_path: Path) -> None:
    folder, clean = corpus["folder"], corpus["state"]
    home = tmp_path / "home"
    outcomes = []
    for _ in range(2):  # the same folder twice at once; then again on the full index
        procs = [start_ingest(folder, home) for _ in range(2)]
        results = [(p, *p.communicate(timeout=300)) for p in procs]
        for proc, out, err in results:
            assert "Traceback" not in err
            if proc.returncode:
                assert proc.returncode == 3 and err.count("\n") == 1 and BUSY in err, err
            else:
                assert "added" in out and err == "", err
        outcomes.append(sorted(p.returncode for p, _, _ in results))
        assert 0 in outcomes[-1], results
        _same_index(index_state(make_service(home).store), clean)

    # Two different folders at once: whichever loses the lock says so and can simply re-run.
    other = tmp_path / "other"
    write_generated_articles(other, 6, sentences_each=6, seed=SEED + 2)
    both = [start_ingest(path, home) for path in (other, SEEDS)]
    results = [(p, *p.communicate(timeout=300)) for p in both]
    for (proc, _, err), path in zip(results, (other, SEEDS), strict=True):
        if proc.returncode:
            assert proc.returncode == 3 and BUSY in err and "Traceback" not in err, err
            rerun = make_service(home).ingest_paths([path])
            assert rerun.added, rerun.summary()
    state = index_state(make_service(home).store)
    assert_consistent(state)
    assert clean["articles"] < state["articles"]
    assert len(state["articles"]) == len(clean["articles"]) + 6 + 3
    print(f"\nconcurrent ingests, exit codes per round: {outcomes}")
