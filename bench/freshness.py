"""Freshness of followed feeds, the CPU cost of an idle poll, and the Discord process's memory.

Twenty RSS feeds of 50 entries each are served from 127.0.0.1 (the test server of
``tests/feedserver.py``) and followed with a 60 s interval on a home that holds the seed
articles. Three figures:

1. **entry -> answerable**: ``dateline watch`` runs in one process and a warm asker in
   another (a ``DatelineService`` asking over and over, as ``dateline ask`` would). A new
   entry with a made-up fact is added to three feeds at random moments; the figure is the
   time from the entry appearing in its feed to the asker's answer quoting the fact.
   Target <= 70 s (60 s interval, +-10 % jitter, plus ingest and search).
2. **idle poll CPU**: ``Poller.poll`` of the 20 feeds when every one answers 304, in CPU
   seconds of the polling process (all threads). Target <= 1 s.
3. **discord peak RSS**: a child that does what ``dateline discord`` does up to the login
   (builds the service, the ``DatelineBot`` with its poller, runs ``setup_hook``'s poller
   start on an event loop) and then lets the poller index all 1,000 entries on the seed
   index, answering a question meanwhile; peak RSS of that child (GNU time). Discord itself
   cannot be reached from here, so the gateway's own share (a websocket and caches of a
   few guilds, tens of MB) is not in the figure. Target <= 600 MB.

Run: ``python bench/freshness.py`` (about 3-4 minutes).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, emit, run_child

sys.path.insert(0, str(ROOT))
from tests.feedserver import FeedServer, Route, rss  # noqa: E402

FEEDS, ENTRIES, INTERVAL = 20, 50, "60s"
LOCAL_ENV = {
    "DATELINE_FETCH__ALLOW_PRIVATE_ADDRESSES": "true",
    "DATELINE_CONFIG": str(ROOT / "bench" / "no-such-config.toml"),
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
}
CITIES = ["Quimper", "Tromso", "Arequipa", "Mbabane", "Kuching", "Tartu", "Oruro", "Nakuru"]
NAMES = ["Okonkwo", "Valdivieso", "Lindqvist", "Tshabalala", "Haraldsen", "Moreau", "Iwu"]


def entry_text(f: int, e: int, rng: random.Random) -> str:
    city = rng.choice(CITIES)
    return (
        f"<p>Bulletin {f}-{e}: the harbour board of {city} counted {rng.randint(10, 9999)} "
        f"containers in week {e} of feed {f}, while rail freight rose {rng.randint(1, 40)} "
        f"percent. Officials said code {f:02d}{e:03d} would be reviewed in spring.</p>"
    )


class Wire:
    """The 20 feeds, each re-rendered (with a new ETag) when an entry is added."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        rng = random.Random(1)
        self.items = [
            [
                {
                    "title": f"Bulletin {f}-{e}",
                    "link": server.url(f"/f{f}/story/{e}?utm_source=rss"),
                    "content": entry_text(f, e, rng),
                }
                for e in range(ENTRIES)
            ]
            for f in range(FEEDS)
        ]
        self.version = [0] * FEEDS
        for f in range(FEEDS):
            self.render(f)

    def url(self, f: int) -> str:
        return self.server.url(f"/feed{f}")

    def render(self, f: int) -> None:
        self.version[f] += 1
        self.server.routes[f"/feed{f}"] = Route(
            rss(self.items[f], title=f"Wire {f}"), etag=f'"f{f}v{self.version[f]}"'
        )

    def add(self, f: int, title: str, fact: str) -> None:
        link = self.server.url(f"/f{f}/story/new-{self.version[f]}")
        self.items[f].insert(0, {"title": title, "link": link, "content": f"<p>{fact}</p>"})
        self.render(f)


def dateline(home: Path, *args: str, timeout: float = 600) -> str:
    cmd = [str(Path(sys.executable).parent / "dateline"), "--home", str(home), *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **LOCAL_ENV}
    )
    if done.returncode:
        raise RuntimeError(f"{args} exited {done.returncode}: {done.stderr[-400:]}")
    return done.stdout


# -- child processes -------------------------------------------------------------------------


def discord_probe(home: str) -> None:
    """Child: ``dateline discord`` up to the login, then the poller's first poll."""
    import asyncio

    from bot.discord_bot import DatelineBot
    from bot.poller import Poller
    from bot.service import DatelineService
    from config import load_settings

    settings = load_settings(home=Path(home))
    service = DatelineService(settings)
    bot = DatelineBot(settings, service, poller=Poller(service, settings))

    async def main() -> None:
        assert bot.feed_control.start()
        while not Path(home, "feeds-state.json").exists():
            await bot.run_blocking(service.ask, "How many containers did the harbour count?")
            await asyncio.sleep(0.5)
        await asyncio.to_thread(bot.feed_control.stop, 60)

    asyncio.run(main())
    print(json.dumps({"articles": len(service.articles()), "torch": "torch" in sys.modules}))


def asker(home: str) -> None:
    """Child: ask each pending question (stdin: one JSON object a line) until answered."""
    import select

    from bot.service import DatelineService
    from config import load_settings

    service = DatelineService(load_settings(home=Path(home)))
    service.ask("warm up the model and the BM25 cache")
    pending: list[dict] = []
    print("ready", flush=True)
    while True:
        while select.select([sys.stdin], [], [], 0)[0]:
            line = sys.stdin.readline()
            if not line:
                return
            pending.append(json.loads(line))
        for q in list(pending):
            answer = service.ask(q["question"])
            if not answer.abstained and q["expect"].lower() in answer.text.lower():
                print(json.dumps({"id": q["id"], "at": time.time()}), flush=True)
                pending.remove(q)
        time.sleep(0.2)


# -- the measurements ------------------------------------------------------------------------


def idle_poll_cpu(home: str, runs: int = 5) -> None:
    """Child (so that the feed server's threads are not counted): CPU s of idle polls."""
    from bot.poller import Poller
    from bot.service import DatelineService
    from config import load_settings

    service = DatelineService(load_settings(home=Path(home)))
    poller = Poller(service, service.settings)
    poller.poll()  # warm: imports, connections, and whatever watch left unpolled
    out = []
    for _ in range(runs):
        started = time.process_time()
        report = poller.poll()
        out.append(time.process_time() - started)
        assert all(r.not_modified for r in report.results), [r.line() for r in report.results]
    print(json.dumps(out))


def freshness(home: Path, wire: Wire, trials: int = 3) -> list[float]:
    watch = subprocess.Popen(
        [str(Path(sys.executable).parent / "dateline"), "--home", str(home), "watch"],
        env={**os.environ, **LOCAL_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ask = subprocess.Popen(
        [sys.executable, __file__, "--asker", str(home)],
        env={**os.environ, **LOCAL_ENV},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert ask.stdout.readline().strip() == "ready"
        rng = random.Random(7)
        added: dict[int, float] = {}
        for t in range(trials):
            time.sleep(rng.uniform(2, 20))
            f = rng.randrange(FEEDS)
            city, name = CITIES[t], NAMES[t]
            fact = (
                f"The zebra conservation council of {city} elected {name} as its new chair "
                f"on Tuesday, after a vote of the {city} zebra keepers."
            )
            wire.add(f, f"Zebra council of {city} elects a chair", fact)
            added[t] = time.time()
            question = f"Who did the zebra conservation council of {city} elect as its chair?"
            ask.stdin.write(json.dumps({"id": t, "question": question, "expect": name}) + "\n")
            ask.stdin.flush()
        delays = []
        deadline = time.time() + 150
        while len(delays) < trials and time.time() < deadline:
            line = ask.stdout.readline()
            if not line:
                break
            got = json.loads(line)
            delays.append(got["at"] - added[got["id"]])
        if len(delays) < trials:
            raise RuntimeError(f"only {len(delays)} of {trials} entries became answerable")
        return delays
    finally:
        for proc in (watch, ask):
            proc.kill()
            proc.wait()


def main() -> None:
    rows = []
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="dateline-fresh-") as tmp:
        home = Path(tmp) / "home"
        wire = Wire(server)
        dateline(home, "ingest", str(ROOT / "data" / "articles"))
        for f in range(FEEDS):
            dateline(home, "feeds", "add", wire.url(f), "--every", INTERVAL)

        seconds, rss_mb, out = run_child(
            [sys.executable, __file__, "--discord-probe", str(home)], env=LOCAL_ENV
        )
        probe = json.loads(out.strip().splitlines()[-1])
        assert probe["articles"] == 3 + FEEDS * ENTRIES and not probe["torch"], probe
        rows.append(
            {
                "figure": f"discord process + poller, first poll of {FEEDS}x{ENTRIES} entries "
                "on the seed index: peak RSS (MB)",
                "median": round(rss_mb),
                "min": round(rss_mb),
                "max": round(rss_mb),
                "unit": "MB",
                "target": "<= 600",
                "rss_mb": round(rss_mb),
            }
        )
        rows.append(
            {
                "figure": f"  (that child: start-up + first poll of {FEEDS * ENTRIES} "
                "articles, wall s)",
                "median": round(seconds, 1),
                "min": round(seconds, 1),
                "max": round(seconds, 1),
                "unit": "s",
            }
        )

        delays = freshness(home, wire)
        rows.append(
            {
                "figure": f"entry in feed -> answerable by ask in another process "
                f"({INTERVAL} interval, {len(delays)} entries)",
                "median": round(statistics.median(delays), 1),
                "min": round(min(delays), 1),
                "max": round(max(delays), 1),
                "unit": "s",
                "target": "<= 70",
            }
        )
        _, _, out = run_child([sys.executable, __file__, "--idle-poll", str(home)], env=LOCAL_ENV)
        cpu = json.loads(out.strip().splitlines()[-1])
        rows.append(
            {
                "figure": f"poll of {FEEDS} unchanged feeds (304), CPU s",
                "median": round(statistics.median(cpu), 3),
                "min": round(min(cpu), 3),
                "max": round(max(cpu), 3),
                "unit": "s",
                "target": "<= 1",
            }
        )
    emit(rows)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--discord-probe":
        discord_probe(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "--idle-poll":
        idle_poll_cpu(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "--asker":
        asker(sys.argv[2])
    else:
        main()
