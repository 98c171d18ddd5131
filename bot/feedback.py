"""The feedback log: one JSON object per 👍/👎 vote, appended to a local JSONL file.

Each line is self-contained so ``dateline eval`` or any later tool can read it alone::

    {"ts": "2025-01-01T12:00:00+00:00", "kind": "feedback", "vote": "up",
     "answer_id": "3f2a...", "user_id": 123, "asker_id": 456, "question": "...",
     "answer": "...", "abstained": false, "mode": "extractive",
     "citations": [{"n": 1, "article_id": "...", "passage_id": "...", "title": "...",
                    "source": "...", "published": "...", "url": "..."}],
     "guild_id": 1, "channel_id": 2, "message_id": 3, "complete": true}

The answers a vote refers to are kept in memory (the most recent few thousand), so a
vote on an answer given before a restart is still logged, with ``complete: false`` and
the message text the button was attached to in place of the answer.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.answer import Answer
from config.settings import Settings

Vote = Literal["up", "down"]
VOTES: tuple[Vote, ...] = ("up", "down")


def new_answer_id() -> str:
    """A fresh answer id: 24 lowercase hex characters, short enough for a custom_id."""
    return uuid.uuid4().hex[:24]


def feedback_path(settings: Settings) -> Path:
    """Where the feedback log of every chat front-end lives: ``feedback_log``, relative
    to ``home``."""
    return Path(settings.home).expanduser() / Path(settings.feedback_log).expanduser()


def read_feedback(path: Path) -> list[dict[str, Any]]:
    """Every vote in a feedback log, oldest first; unreadable lines are skipped."""
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("kind") == "feedback":
                entries.append(entry)
    return entries


class FeedbackLog:
    """Remembers recent answers and appends votes on them to a JSONL file (thread-safe)."""

    def __init__(self, path: Path, *, remember: int = 4096) -> None:
        self.path = Path(path)
        self._capacity = max(1, remember)
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._votes: dict[tuple[str, int], Vote] = {}
        self._lock = threading.Lock()

    def remember(
        self,
        answer_id: str,
        answer: Answer,
        *,
        asker_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> None:
        """Keep what a later vote on ``answer_id`` should record."""
        record = {
            "asker_id": asker_id,
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "mode": answer.mode,
            "citations": [
                {
                    "n": c.n,
                    "article_id": c.article_id,
                    "passage_id": c.passage_id,
                    "title": c.title,
                    "source": c.source,
                    "published": c.published,
                    "url": c.url,
                }
                for c in answer.citations
            ],
            "guild_id": guild_id,
            "channel_id": channel_id,
        }
        with self._lock:
            self._answers[answer_id] = record
            self._answers.move_to_end(answer_id)
            while len(self._answers) > self._capacity:
                old_id, _ = self._answers.popitem(last=False)
                for key in [k for k in self._votes if k[0] == old_id]:
                    del self._votes[key]

    def record(
        self,
        answer_id: str,
        vote: Vote,
        user_id: int,
        *,
        message_id: int | None = None,
        message_text: str | None = None,
    ) -> dict[str, Any] | None:
        """Append a vote and return the logged entry, or None if it repeats the user's last vote.

        Changing a vote appends a new line; readers should keep the last vote per
        ``(answer_id, user_id)``.
        """
        if vote not in VOTES:
            raise ValueError(f"unknown vote {vote!r}")
        with self._lock:
            if self._votes.get((answer_id, user_id)) == vote:
                return None
            known = self._answers.get(answer_id)
            entry: dict[str, Any] = {
                "ts": datetime.now(UTC).isoformat(timespec="seconds"),
                "kind": "feedback",
                "vote": vote,
                "answer_id": answer_id,
                "user_id": user_id,
            }
            if known is not None:
                entry |= known
                entry["complete"] = True
            else:
                entry |= {"question": None, "answer": message_text, "citations": []}
                entry["complete"] = False
            entry["message_id"] = message_id
            self._append_locked(entry)
            self._votes.pop((answer_id, user_id), None)
            self._votes[(answer_id, user_id)] = vote
            while len(self._votes) > 4 * self._capacity:
                del self._votes[next(iter(self._votes))]
            return entry

    def append(self, entry: dict[str, Any]) -> None:
        """Append one JSON object as a line of the log."""
        with self._lock:
            self._append_locked(entry)

    def _append_locked(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
