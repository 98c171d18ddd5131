"""What a search may be restricted to: some outlets, a published-date range."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from retrieval.errors import InvalidQueryError


def published_ts(published: str | None) -> int | None:
    """Days since 1970-01-01 for an ISO date, for range filters; None when unknown."""
    if not published:
        return None
    try:
        return (date.fromisoformat(published[:10]) - date(1970, 1, 1)).days
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """Restrict search to some outlets and/or a published-date range (ISO dates).

    ``published_by`` is the day a question is asked: articles published after it are left
    out, while undated ones stay (unlike ``until``, which requires a date).
    """

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    published_by: str | None = None

    def day_range(self) -> tuple[int | None, int | None]:
        """``since`` and ``until`` as day numbers (see ``published_ts``); raises
        InvalidQueryError for a bound that is not an ISO date."""
        return (
            self._ts(self.since) if self.since else None,
            self._ts(self.until) if self.until else None,
        )

    @staticmethod
    def _ts(bound: str) -> int:
        ts = published_ts(bound)
        if ts is None:
            raise InvalidQueryError(f"not an ISO date: {bound!r} (use YYYY-MM-DD)")
        return ts

    def accepts(self, source: str | None, published: str | None) -> bool:
        """Whether a passage with this outlet and date passes the filters."""
        if self.sources and source not in self.sources:
            return False
        ts = published_ts(published)
        if self.since and (ts is None or ts < self._ts(self.since)):
            return False
        if self.until and (ts is None or ts > self._ts(self.until)):
            return False
        if self.published_by and ts is not None and ts > self._ts(self.published_by):
            return False
        return True

    def up_to(self, day: date) -> Filters:
        """These filters, also excluding articles published after ``day``."""
        return replace(self, published_by=day.isoformat())

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.sources or self.since or self.until or self.published_by)
