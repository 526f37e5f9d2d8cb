"""Deterministic identifiers: trade ids and transaction hashes from a seed and a counter."""

from __future__ import annotations

import hashlib


class IdSource:
    """Same seed, same sequence of calls -> same ids (replays and tests are reproducible)."""

    __slots__ = ("_seed", "_trades", "_txs")

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._trades = 0
        self._txs = 0

    def _hex(self, kind: str, n: int) -> str:
        return hashlib.sha256(f"{self._seed}|{kind}|{n}".encode()).hexdigest()

    def trade_id(self) -> str:
        """A UUID-shaped id like the live trade ids (``f50e8ab2-652d-4dc8-9c82-8e46197fe98d``)."""
        self._trades += 1
        h = self._hex("trade", self._trades)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def tx_hash(self) -> str:
        """``0x`` + 64 hex, like a Polygon transaction hash."""
        self._txs += 1
        return "0x" + self._hex("tx", self._txs)
