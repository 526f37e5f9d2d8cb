"""Persistent polling cursors: where each (leader, source) resumes after a restart.

A cursor is the last fill timestamp fully read plus the keys already emitted at exactly that
timestamp: several fills share one second (and one transaction), so "everything after ts" would
lose the rest of a second that was only partly read, and "everything from ts" would repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Cursor:
    leader: str
    source: str
    last_ts: int  # epoch seconds (Data API) or block number (chain)
    seen_keys: frozenset[str] = field(default_factory=frozenset)

    def advance(self, emitted: list[tuple[int, str]]) -> Cursor:
        """The cursor after emitting (timestamp, key) pairs."""
        if not emitted:
            return self
        top = max(ts for ts, _ in emitted)
        if top < self.last_ts:
            return self
        at_top = {key for ts, key in emitted if ts == top}
        keys = self.seen_keys | at_top if top == self.last_ts else frozenset(at_top)
        return Cursor(self.leader, self.source, top, frozenset(keys))


class CursorStore(Protocol):
    async def load(self, leader: str, source: str) -> Cursor | None: ...

    async def save(self, cursor: Cursor) -> None: ...


class MemoryCursorStore:
    def __init__(self) -> None:
        self._cursors: dict[tuple[str, str], Cursor] = {}

    async def load(self, leader: str, source: str) -> Cursor | None:
        return self._cursors.get((leader, source))

    async def save(self, cursor: Cursor) -> None:
        self._cursors[(cursor.leader, cursor.source)] = cursor
