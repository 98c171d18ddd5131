"""A per-key sliding-window rate limiter (questions per user per minute)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against the limiter.

    ``retry_after`` is the number of seconds until the next request would be allowed
    (0 when allowed); ``notify`` is true only for the first refusal since the key's last
    allowed request, so a caller can tell the user once instead of on every attempt.
    """

    allowed: bool
    retry_after: float = 0.0
    notify: bool = False


class SlidingWindowLimiter:
    """Allows at most ``limit`` requests per key in any ``window`` seconds.

    Every allowed request is timestamped; a request is allowed when fewer than ``limit``
    timestamps fall within the last ``window`` seconds. Refused requests are not counted,
    so someone who keeps trying is not locked out for longer. Safe to call from several
    threads.
    """

    _PRUNE_EVERY = 256

    def __init__(
        self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._notified: set[Hashable] = set()
        self._lock = threading.Lock()
        self._calls = 0

    def check(self, key: Hashable) -> RateDecision:
        """Count a request for ``key`` if it is allowed, and say whether it is."""
        with self._lock:
            now = self._clock()
            self._calls += 1
            if self._calls % self._PRUNE_EVERY == 0:
                self._prune(now)
            hits = self._hits.setdefault(key, deque())
            self._expire(hits, now)
            if len(hits) < self.limit:
                hits.append(now)
                self._notified.discard(key)
                return RateDecision(allowed=True)
            retry_after = max(0.0, hits[0] + self.window - now)
            first = key not in self._notified
            self._notified.add(key)
            return RateDecision(allowed=False, retry_after=retry_after, notify=first)

    def remaining(self, key: Hashable) -> int:
        """How many more requests ``key`` may make right now."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                return self.limit
            self._expire(hits, self._clock())
            return self.limit - len(hits)

    def reset(self, key: Hashable | None = None) -> None:
        """Forget one key's history, or everyone's when ``key`` is None."""
        with self._lock:
            if key is None:
                self._hits.clear()
                self._notified.clear()
            else:
                self._hits.pop(key, None)
                self._notified.discard(key)

    def _expire(self, hits: deque[float], now: float) -> None:
        cutoff = now - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()

    def _prune(self, now: float) -> None:
        for key in list(self._hits):
            hits = self._hits[key]
            self._expire(hits, now)
            if not hits:
                del self._hits[key]
                self._notified.discard(key)
