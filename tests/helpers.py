"""Shared helpers for the retrieval, ingest, search, CLI and server-mode tests.

The embedding model is loaded once per test process (``shared_embedder``) and an index of
the seed articles is built once per test process (``seed_home``); services built with
``make_service`` reuse both. Subprocesses get a clean environment from ``cli_env``.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "articles"
BIN = Path(sys.executable).parent
DATELINE = BIN / "dateline"
CHROMA = BIN / "chroma"

SEED_SOURCES = {"Reuters", "The Times of India", "UrduPoint News / Sputnik"}
BATCH_SIZE = 16  # texts per model call in the tests' own embedders

_cache: dict[str, object] = {}


def shared_embedder():
    from retrieval.embeddings import Embedder

    if "embedder" not in _cache:
        _cache["embedder"] = Embedder("torch", BATCH_SIZE)
    return _cache["embedder"]


def make_service(home: Path, **overrides):
    """A DatelineService on ``home`` that reuses the process-wide embedding model."""
    from bot.service import DatelineService
    from config import load_settings

    service = DatelineService(load_settings(home=Path(home), **overrides))
    service.embedder = shared_embedder()  # cached_property: the instance attribute wins
    service.query_embedder = service.embedder
    return service


def seed_home(tmp_path_factory) -> Path:
    """A data directory holding the three seed articles, built once per test process.

    Tests must only read it (search, ask, sources), never ingest into it or remove from it.
    """
    if "seed_home" not in _cache:
        home = tmp_path_factory.mktemp("seed-home")
        report = make_service(home).ingest_paths([SEEDS])
        assert report.added == 3, report.summary()
        _cache["seed_home"] = home
    return _cache["seed_home"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a ``dateline`` subprocess: offline, no user settings leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATELINE_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        TOKENIZERS_PARALLELISM="false",
        DATELINE_CONFIG=str(ROOT / "tests" / "no-such-config.toml"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def dateline_cmd(*args: str | os.PathLike, home: Path | None = None) -> list[str]:
    cmd = [str(DATELINE)]
    if home is not None:
        cmd += ["--home", str(home)]
    return cmd + [str(a) for a in args]


def start_ingest(
    path: Path, home: Path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **env: str
):
    """A ``dateline ingest PATH`` running in the background (text pipes by default)."""
    return subprocess.Popen(
        dateline_cmd("ingest", path, home=home),
        env=cli_env(**env),
        cwd=ROOT,
        stdout=stdout,
        stderr=stderr,
        text=stdout is subprocess.PIPE,
    )


def run_dateline(
    *args: str | os.PathLike,
    home: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    text: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``dateline`` to completion; output as text, or as bytes with ``text=False``."""
    return subprocess.run(
        dateline_cmd(*args, home=home),
        capture_output=True,
        text=text,
        timeout=timeout,
        env=env or cli_env(),
        cwd=ROOT,
    )


def index_state(store) -> dict:
    """Everything that identifies the contents of an index, for exact comparisons."""
    passages = {pid: (text, meta.get("article_id")) for pid, text, meta in store.iter_passages()}
    _, articles = store._collections()
    res = articles.get(include=["metadatas"])
    metas = zip(res["ids"], res["metadatas"], strict=True)
    status = {aid: meta.get("status") for aid, meta in metas}
    return {
        "articles": set(status),
        "status": status,
        "passage_ids": set(passages),
        "passages": passages,
        "passage_count": store.passage_count(),
        "article_count": store.article_count(),
    }


def assert_consistent(state: dict) -> None:
    """Every record complete, every passage owned by a record, counts as listed."""
    assert set(state["status"].values()) <= {"complete"}, state["status"]
    owners = {aid for _, aid in state["passages"].values()}
    assert owners <= state["articles"]
    assert state["passage_count"] == len(state["passage_ids"])
    assert state["article_count"] == len(state["articles"])


# -- generated articles ----------------------------------------------------------------------


def seed_sentences() -> list[str]:
    from retrieval.loaders import iter_articles
    from retrieval.sentences import split_sentences

    out = []
    for article in iter_articles([SEEDS]):
        out.extend(s.text for s in split_sentences(article.text) if len(s.text.split()) >= 6)
    return out


def write_generated_articles(folder: Path, n: int, sentences_each: int = 12, seed: int = 7):
    """``n`` distinct articles of sentences recombined from the seeds, one file each."""
    rng = random.Random(seed)
    pool = seed_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        picked = rng.sample(pool, sentences_each)
        body = "\n\n".join(" ".join(picked[j : j + 3]) for j in range(0, len(picked), 3))
        title = f"Generated report number {i}: " + " ".join(re.findall(r"\w+", picked[0])[:6])
        path = folder / f"gen_{i:03d}.txt"
        path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


# -- peeking at a local index from another process -------------------------------------------


def sqlite_rows(home: Path) -> int:
    """Rows Chroma has logged for writes in ``home`` (read-only; 0 before the file exists)."""
    db = Path(home) / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return con.execute("SELECT count(*) FROM embeddings_queue").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# -- a real `chroma run` server ----------------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def heartbeat(url: str) -> bool:
    """Whether a Chroma server answers at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def start_chroma(path, port: int) -> subprocess.Popen:
    """``chroma run`` on ``path`` and 127.0.0.1:``port``, once it answers its heartbeat."""
    if not CHROMA.exists():
        pytest.skip(f"no chroma executable at {CHROMA}")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not heartbeat(url):
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited: {proc.stderr.read().decode(errors='replace')}")
        if time.monotonic() > deadline:
            stop(proc)
            pytest.fail("chroma run did not answer its heartbeat within 60 s")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server process (kill it if it does not stop within 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def logistic_model_file(
    path: Path, names: tuple[str, ...], weights: dict[str, float], intercept: float = 0.0
) -> Path:
    """Write a packaged logistic model over ``names`` (unscaled; ``weights`` by name, the
    rest 0) to ``path``, with its checksum, as ``bot.packaged_model`` loads it."""
    from bot.packaged_model import weights_digest

    model = {
        "features": list(names),
        "coef": [weights.get(n, 0.0) for n in names],
        "intercept": intercept,
        "mean": [0.0] * len(names),
        "scale": [1.0] * len(names),
    }
    path.write_text(json.dumps(model | {"sha256": weights_digest(model)}))
    return path
