"""The command line for URLs and feeds: ``ingest URL``, ``feeds``, ``watch``, in subprocesses
against a real HTTP server on 127.0.0.1; also that no torch is imported at run time and that
``kill -9`` during a poll loses nothing."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.feedserver import FeedServer, Route, article_page, rss
from tests.helpers import (
    ROOT,
    assert_consistent,
    cli_env,
    dateline_cmd,
    index_state,
    make_service,
    run_dateline,
    seed_sentences,
    sqlite_rows,
    wait_for,
)

LOCAL = {"DATELINE_FETCH__ALLOW_PRIVATE_ADDRESSES": "true", "DATELINE_FETCH__TIMEOUT": "2"}


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


def paragraphs(rng: random.Random, n: int = 6) -> list[str]:
    picked = rng.sample(seed_sentences(), n)
    return [" ".join(picked[i : i + 3]) for i in range(0, n, 3)]


def serve_feeds(server: FeedServer, feeds: int = 3, entries: int = 6, seed: int = 4) -> list[str]:
    """``feeds`` RSS feeds; every third entry is a teaser whose page the server holds."""
    rng = random.Random(seed)
    urls = []
    for f in range(feeds):
        items = []
        for e in range(entries):
            link = server.url(f"/story/{f}-{e}?utm_source=feed{f}")
            if e % 3 == 2:
                server.routes[f"/story/{f}-{e}"] = Route(
                    article_page(f"Page story {f}-{e}", paragraphs(rng)), content_type="text/html"
                )
                items.append(
                    {"title": f"Page story {f}-{e}", "link": link, "description": "Teaser."}
                )
            else:
                body = "".join(f"<p>{p}</p>" for p in paragraphs(rng))
                items.append({"title": f"Story {f}-{e}", "link": link, "content": body})
        server.routes[f"/feed{f}"] = Route(rss(items, title=f"Wire {f}"), etag=f'"f{f}"')
        urls.append(server.url(f"/feed{f}"))
    return urls


def test_refusals_are_one_line_and_send_nothing(server, tmp_path):
    server.routes["/feed"] = Route(b"<rss/>")
    port = server.port
    urls = [
        f"http://127.0.0.1:{port}/feed",
        f"http://[::1]:{port}/feed",
        f"http://localhost:{port}/feed",
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
    ]
    done = run_dateline("ingest", *urls, home=tmp_path / "home")
    assert done.returncode == 1, done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("  skipped:")]
    assert len(skipped) == len(urls)
    for url, line in zip(urls, skipped, strict=True):
        assert line.startswith(f"  skipped: {url}: refused: ") and "allow_private_addresses" in line
    assert done.stderr.strip() == "error: 5 of 5 URLs could not be read"
    # Pages (and feeds) given to `ingest` honour robots.txt too.
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n")
    server.routes["/private/page"] = Route(b"<html><p>x</p></html>", content_type="text/html")
    blocked = run_dateline(
        "ingest", server.url("/private/page"), home=tmp_path / "home", env=cli_env(**LOCAL)
    )
    assert blocked.returncode == 1
    assert f"  skipped: {server.url('/private/page')}: robots.txt disallows it" in blocked.stdout
    assert server.hits("/private/page") == 0
    server.requests.clear()
    del server.routes["/robots.txt"]
    for url in urls[:3] + ["file:///etc/passwd"]:
        added = run_dateline("feeds", "add", url, home=tmp_path / "home")
        assert added.returncode == 2 and added.stderr.count("\n") == 1, added.stderr
        assert added.stderr.startswith("error: ") and "refused" in added.stderr
    assert server.requests == []


def test_ingest_urls_feeds_and_watch_once(server, tmp_path):
    home = tmp_path / "home"
    feeds = serve_feeds(server, feeds=2, entries=3)
    env = cli_env(**LOCAL)
    page = server.url("/story/0-2?utm_campaign=x")
    done = run_dateline("ingest", feeds[0], page, home=home, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3 added"), done.stdout  # the page is the feed's teaser

    for url, every in ((feeds[0], "15m"), (feeds[1], "1h"), (server.url("/gone"), None)):
        args = ("feeds", "add", url) + (("--every", every) if every else ())
        added = run_dateline(*args, home=home, env=env)
        assert added.returncode == 0 and added.stdout.startswith("following "), added.stderr
    listed = json.loads(run_dateline("feeds", "list", "--json", home=home, env=env).stdout)
    assert [(f["url"], f["every"]) for f in listed] == [
        (feeds[0], "15m"),
        (feeds[1], "1h"),
        (server.url("/gone"), "15m"),
    ]
    once = run_dateline("watch", "--once", home=home, env=env)
    assert once.returncode == 1
    lines = once.stdout.splitlines()
    assert lines[0].startswith("3 feeds polled, 1 failed; 3 articles added"), once.stdout
    assert lines[-1] == f"  failed: {server.url('/gone')}: HTTP 404 Not Found"
    assert run_dateline("feeds", "remove", server.url("/gone"), home=home, env=env).returncode == 0
    again = run_dateline("watch", "--once", home=home, env=env)
    assert again.returncode == 0, again.stdout
    assert again.stdout.startswith("2 feeds polled, 0 failed; 0 articles added")
    status = run_dateline("feeds", "list", home=home, env=env).stdout
    assert "every 1h  polled" in status
    missing = run_dateline("feeds", "remove", server.url("/gone"), home=home, env=env)
    assert missing.returncode == 1 and missing.stderr.startswith("error: not following")


def test_watch_and_discord_never_import_torch(server, tmp_path):
    feeds = serve_feeds(server, feeds=1, entries=3)
    script = textwrap.dedent(
        f"""
        import json, sys
        from bot.cli import app
        home = {str(tmp_path / "home")!r}
        app(["--home", home, "feeds", "add", {feeds[0]!r}], standalone_mode=False)
        try:
            app(["--home", home, "watch", "--once"], standalone_mode=False)
        except SystemExit:
            pass
        from bot.discord_bot import DatelineBot
        from bot.poller import Poller
        from bot.service import DatelineService
        from config import load_settings
        settings = load_settings(home=home)
        service = DatelineService(settings)
        bot = DatelineBot(settings, service, poller=Poller(service, settings))
        bot.feed_control.poller.poll()
        answer = service.ask("What did the officials say?")
        print(json.dumps({{
            "articles": len(service.articles()),
            "torch": "torch" in sys.modules,
            "st": "sentence_transformers" in sys.modules,
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        env=cli_env(**LOCAL),
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"articles": 3, "torch": False, "st": False}


@pytest.mark.slow
def test_kill_9_during_polls_then_watch_once_equals_a_clean_poll(server, tmp_path):
    feeds = serve_feeds(server, feeds=3, entries=9, seed=8)
    env = cli_env(**LOCAL)

    def follow(home):
        for url in feeds:
            assert run_dateline("feeds", "add", url, home=home, env=env).returncode == 0

    clean = tmp_path / "clean"
    follow(clean)
    started = time.monotonic()
    first = run_dateline("watch", "--once", home=clean, env=env, timeout=300)
    took = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr

    crashed = tmp_path / "crashed"
    follow(crashed)
    rng = random.Random(9)
    state = crashed / "feeds-state.json"
    cut_short = 0
    for _ in range(5):
        rows = sqlite_rows(crashed)
        proc = subprocess.Popen(
            dateline_cmd("watch", home=crashed),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Once the poll has started writing, kill it a random moment later.
        wait_for(lambda r=rows: sqlite_rows(crashed) > r or state.exists(), timeout=took)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        cut_short += not state.exists()
    assert cut_short >= 1  # at least one kill landed before a poll could finish
    final = run_dateline("watch", "--once", home=crashed, env=env, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr

    want = index_state(make_service(clean).store)
    got = index_state(make_service(crashed).store)
    assert_consistent(got)
    assert got == want
    assert want["article_count"] == 27
