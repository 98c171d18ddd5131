"""Conversation memory: the turns each conversation has had, kept from the answers given.

A conversation is whatever a front-end says it is (the REPL session, a Discord thread or
DM); its key only has to be hashable. Abstained answers are not kept: a follow-up leans
on the last thing the bot did say. Only the last ``turns`` turns of a conversation are
kept (the service uses no more), and only the ``conversations`` most recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable

from bot.answer import Answer, Turn


class ConversationMemory:
    """Turns per conversation, bounded in both directions; safe to call from several threads."""

    def __init__(self, turns: int, *, conversations: int = 4096) -> None:
        self.turns = max(0, turns)
        self._capacity = max(1, conversations)
        self._talks: OrderedDict[Hashable, deque[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._talks)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._talks

    def history(self, key: Hashable) -> list[Turn] | None:
        """The turns of conversation ``key``, oldest first; None if it is not known."""
        with self._lock:
            talk = self._talks.get(key)
            return None if talk is None else list(talk)

    def begin(self, key: Hashable, earlier: Iterable[Turn] | None = None) -> list[Turn]:
        """The turns of ``key``, which is known from now on; an unknown one starts with
        ``earlier`` (what the front-end recovered of it, say after a restart)."""
        with self._lock:
            talk = self._talks.get(key)
            if talk is None:
                talk = self._talks[key] = deque(earlier or (), maxlen=self.turns)
                while len(self._talks) > self._capacity:
                    self._talks.popitem(last=False)
            self._talks.move_to_end(key)
            return list(talk)

    def add(self, key: Hashable, answer: Answer) -> None:
        """Keep ``answer`` as the newest turn of ``key`` (an abstention is not kept)."""
        self.begin(key)
        if answer.abstained:
            return
        with self._lock:
            talk = self._talks.get(key)
            if talk is not None:
                talk.append(answer.as_turn())

    def forget(self, key: Hashable) -> None:
        """Drop conversation ``key``: its next question starts afresh."""
        with self._lock:
            self._talks.pop(key, None)
