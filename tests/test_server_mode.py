"""Dateline against a real ``chroma run`` server, and a clear error once it is gone."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.helpers import (
    SEED_SOURCES,
    SEEDS,
    cli_env,
    dateline_cmd,
    free_port,
    heartbeat,
    run_dateline,
    start_chroma,
    stop,
)

pytestmark = pytest.mark.slow


def test_ingest_search_ask_on_a_server(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_chroma(tmp_path / "chroma-server", port)
    try:
        # The server URL from the environment, then from the flag; two data directories
        # (each with its own BM25 cache) share the one index on the server.
        env = cli_env(DATELINE_CHROMA_URL=url)
        home_a, home_b = tmp_path / "a", tmp_path / "b"
        ingest = run_dateline("ingest", "--json", SEEDS, home=home_a, env=env, timeout=180)
        assert ingest.returncode == 0, ingest.stderr
        assert json.loads(ingest.stdout)["added"] == 3
        assert not (home_a / "chroma").exists()  # nothing written to a local index

        commands = {
            "search": ["search", "--json", "Who is Hua Chunying?"],
            "ask": ["ask", "--json", "Who is Song Tao?"],
        }
        running = {
            name: subprocess.Popen(
                dateline_cmd("--chroma-url", url, *args, home=home_b),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
            for name, args in commands.items()
        }
        out = {name: p.communicate(timeout=180) for name, p in running.items()}
        for name, p in running.items():
            assert p.returncode == 0, (name, out[name][1])

        hits = json.loads(out["search"][0])
        assert "hua chunying" in hits[0]["text"].lower()
        assert {h["source"] for h in hits} <= SEED_SOURCES
        answer = json.loads(out["ask"][0])
        assert answer["abstained"] is False
        assert "minister" in answer["answer"].lower()
        assert "Sputnik" in answer["citations"][0]["source"]
        assert (home_b / "cache").is_dir()
        # A server is always read through Chroma: no replica, no stamp.
        assert not [p.name for p in (home_b / "cache").iterdir() if "bm25" not in p.name]

        again = run_dateline("--chroma-url", url, "ingest", "--json", SEEDS, home=home_b)
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert (report["added"], report["unchanged"], report["passages"]) == (0, 3, 0)
        sources = run_dateline("--chroma-url", url, "sources", "--json", home=home_b)
        assert {a["source"] for a in json.loads(sources.stdout)} == SEED_SOURCES
    finally:
        stop(server)

    assert not heartbeat(url)
    started = time.monotonic()
    result = run_dateline("--chroma-url", url, "search", "x", home=home_b, timeout=30)
    assert time.monotonic() - started < 10
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert url in lines[0] and "chroma run" in lines[0]


def test_no_server_at_all(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_dateline(
        "ask",
        "--json",
        "Who is Song Tao?",
        home=tmp_path,
        timeout=30,
        env=cli_env(DATELINE_CHROMA_URL=url),
    )
    assert time.monotonic() - started < 10
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and url in lines[0]
