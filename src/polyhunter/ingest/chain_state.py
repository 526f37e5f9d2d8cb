"""Bookkeeping of the CHAIN source: recent block hashes, signals per block, orphans of a re-org, counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from polyhunter.domain.signal import Signal


@dataclass(slots=True)
class ChainSourceStats:
    head_block: int | None = None
    cursor_block: int | None = None  # last block read
    committed_block: int | None = None  # last block persisted as the cursor
    last_poll_at: datetime | None = None
    last_error: str = ""
    consecutive_errors: int = 0
    polls: int = 0
    logs_seen: int = 0
    signals_emitted: int = 0
    taker_legs: int = 0
    retracted: int = 0
    reorgs: int = 0
    decode_errors: int = 0
    partial_logs: int = 0  # logs without blockHash/blockNumber (pending): their batch is read again
    cursor_errors: int = 0

    @property
    def lag_blocks(self) -> int | None:
        if self.head_block is None or self.cursor_block is None:
            return None
        return max(0, self.head_block - self.cursor_block)


class ReorgState:
    """Hashes of recently read blocks and the signals read from them (buffered or handed out).

    After a re-org, signals of dropped blocks that were handed out become orphans until the re-scan either
    finds them again (same transaction re-included: nothing to do) or passes their old block (retract).
    Everything older than ``window`` blocks behind the cursor is forgotten.
    """

    def __init__(self, window: int) -> None:
        self.window = max(1, window)
        self._hashes: dict[int, str] = {}
        self._key_block: dict[str, int] = {}
        self._block_keys: dict[int, dict[str, Signal]] = {}
        self._orphans: dict[str, tuple[Signal, int]] = {}

    # block hashes
    def record(self, block: int, block_hash: str) -> None:
        self._hashes[block] = block_hash

    def hash_of(self, block: int) -> str | None:
        return self._hashes.get(block)

    def recorded_below(self, block: int) -> list[tuple[int, str]]:
        """Recorded (block, hash) pairs under ``block``, newest first."""
        return sorted(((n, h) for n, h in self._hashes.items() if n < block), reverse=True)

    def oldest(self, default: int) -> int:
        return min(self._hashes, default=default)

    # signals read
    def remember(self, signal: Signal, block: int) -> None:
        self._key_block[signal.key] = block
        self._block_keys.setdefault(block, {})[signal.key] = signal

    def knows(self, key: str) -> bool:
        return key in self._key_block

    def forget(self, key: str) -> Signal | None:
        """Drop a key (read or orphaned); returns its signal if there was one."""
        orphan = self._orphans.pop(key, None)
        if orphan is not None:
            return orphan[0]
        block = self._key_block.pop(key, None)
        if block is None:
            return None
        signals = self._block_keys.get(block, {})
        signal = signals.pop(key, None)
        if not signals:
            self._block_keys.pop(block, None)
        return signal

    # re-orgs
    def orphan_above(self, ancestor: int) -> int:
        """Blocks above ``ancestor`` are gone: their hashes are dropped, their signals become orphans."""
        for number in [n for n in self._hashes if n > ancestor]:
            del self._hashes[number]
        moved = 0
        for number in [n for n in self._block_keys if n > ancestor]:
            for key, signal in self._block_keys.pop(number).items():
                self._key_block.pop(key, None)
                self._orphans[key] = (signal, number)
                moved += 1
        return moved

    def reappeared(self, key: str, block: int) -> bool:
        """The re-scan found an orphan again (its transaction was re-included): keep it, it stays emitted."""
        orphan = self._orphans.pop(key, None)
        if orphan is None:
            return False
        self.remember(orphan[0], block)
        return True

    def orphans_passed(self, block: int) -> list[Signal]:
        """Orphans whose old block the re-scan has passed without finding them: to retract."""
        gone = [key for key, (_, old_block) in self._orphans.items() if old_block <= block]
        return [self._orphans.pop(key)[0] for key in gone]

    @property
    def orphan_count(self) -> int:
        return len(self._orphans)

    def trim(self, cursor: int) -> None:
        floor = cursor - self.window
        for number in [n for n in self._hashes if n < floor]:
            del self._hashes[number]
        for number in [n for n in self._block_keys if n < floor]:
            for key in self._block_keys.pop(number):
                self._key_block.pop(key, None)
