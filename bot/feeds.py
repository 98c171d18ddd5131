"""The feeds Dateline follows: ``feeds.json`` in the data directory plus ``[feeds] urls``.

The file is shared by every process on the same home (CLI, ``watch``, Discord), so each
change re-reads it under a lock and replaces it atomically. Feeds listed in the config
cannot be removed from the command line (edit the config instead).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.errors import ConfigError, DatelineError
from retrieval.feeds import canonical_url
from retrieval.fetch import check_scheme

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 10.0


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``"15m"``, ``"1h30m"``, ``"90s"``, ``"2d"`` (a bare number is seconds)."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", raw):
            seconds = float(raw)
        elif raw and _DURATION.sub("", raw).strip() == "":
            seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(raw))
        else:
            raise ConfigError(f"invalid interval {text!r}: use e.g. 90s, 15m, 1h or 1h30m")
    if seconds < MIN_INTERVAL:
        raise ConfigError(f"interval {text!r} is too short (at least {MIN_INTERVAL:g} s)")
    return seconds


def format_duration(seconds: float) -> str:
    """``900`` -> ``"15m"``."""
    seconds = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Feed:
    """One followed feed; ``origin`` is "home" (feeds.json) or "config"."""

    url: str
    every: float
    origin: str = "home"

    def to_json(self) -> dict:
        """A JSON-ready form."""
        return {**asdict(self), "every": format_duration(self.every)}


def check_feed_url(url: str) -> str:
    """``url`` stripped, if it is an http(s) URL; raises ConfigError otherwise."""
    from retrieval.fetch import RefusedURLError

    url = url.strip()
    try:
        check_scheme(url)
    except RefusedURLError as exc:
        raise ConfigError(str(exc)) from None
    return url


class FeedStore:
    """The followed feeds of one data directory."""

    def __init__(self, home: Path, config_urls: list[str] = (), default_every: float = 900.0):
        self.home = Path(home)
        self.path = self.home / "feeds.json"
        self.config_urls = list(config_urls)
        self.default_every = default_every

    def _lock(self):
        from filelock import FileLock

        self.home.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.home / "feeds.lock"), timeout=10)

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise DatelineError(f"cannot read {self.path}: {exc}") from None
        return [f for f in data.get("feeds", []) if isinstance(f, dict) and f.get("url")]

    def _write(self, feeds: list[dict]) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"feeds": feeds}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def list(self) -> list[Feed]:
        """Every followed feed: the data directory's, then the config's not already there."""
        out: dict[str, Feed] = {}
        for f in self._read():
            every = float(f.get("every") or self.default_every)
            out.setdefault(canonical_url(f["url"]), Feed(f["url"], every, "home"))
        for url in self.config_urls:
            out.setdefault(canonical_url(url), Feed(url, self.default_every, "config"))
        return list(out.values())

    def add(self, url: str, every: float | None = None) -> Feed:
        """Follow ``url`` (or change its interval); returns the stored feed."""
        url = check_feed_url(url)
        every = float(every or self.default_every)
        with self._lock():
            feeds = self._read()
            key = canonical_url(url)
            feeds = [f for f in feeds if canonical_url(f["url"]) != key]
            feeds.append({"url": url, "every": every})
            self._write(feeds)
        return Feed(url, every, "home")

    def remove(self, url: str) -> bool:
        """Stop following ``url``; False if it was not followed. Config feeds raise."""
        key = canonical_url(url.strip())
        with self._lock():
            feeds = self._read()
            kept = [f for f in feeds if canonical_url(f["url"]) != key]
            if len(kept) != len(feeds):
                self._write(kept)
                return True
        if any(canonical_url(u) == key for u in self.config_urls):
            raise ConfigError(f"{url} is listed in the config file ([feeds] urls); remove it there")
        return False
