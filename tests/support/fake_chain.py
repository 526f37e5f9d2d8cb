"""An in-memory chain answering the three reads the CHAIN source makes (no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from polyhunter.adapters.chain.rpc import RpcTransportError
from tests.support.exchange_logs import EXCHANGE


class FakeChain:
    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.fork = 0
        self.get_logs_calls = 0
        self.fail_next: int = 0
        self.during_get_logs: Callable[[], None] | None = None
        self.extra_logs: list[dict[str, Any]] = []
        self.mine()  # genesis

    def mine(self, *logs: dict[str, Any]) -> int:
        number = len(self.blocks)
        parent = self.blocks[-1]["hash"] if self.blocks else "0x" + "00" * 32
        block_hash = "0x" + hashlib.sha256(f"{parent}{number}{self.fork}{len(logs)}".encode()).hexdigest()
        placed = []
        for index, log in enumerate(logs):
            placed.append(
                {
                    **log,
                    "blockNumber": hex(number),
                    "blockHash": block_hash,
                    "logIndex": hex(index),
                    "address": EXCHANGE,
                }
            )
        self.blocks.append(
            {
                "number": hex(number),
                "hash": block_hash,
                "timestamp": hex(1_780_000_000 + number),
                "logs": placed,
            }
        )
        return number

    def reorg(self, depth: int) -> None:
        """Drop the newest ``depth`` blocks; new blocks mined after this get different hashes."""
        del self.blocks[len(self.blocks) - depth :]
        self.fork += 1

    async def block_number(self) -> int:
        return len(self.blocks) - 1

    async def get_block_by_number(self, block: int | str, *, full: bool = False) -> dict[str, Any] | None:
        number = block if isinstance(block, int) else int(block, 16)
        if 0 <= number < len(self.blocks):
            return {k: v for k, v in self.blocks[number].items() if k != "logs"}
        return None

    async def get_logs(
        self,
        *,
        from_block: int | str,
        to_block: int | str,
        addresses: Sequence[str] = (),
        topics: Sequence[str | Sequence[str] | None] = (),
    ) -> list[dict[str, Any]]:
        self.get_logs_calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise RpcTransportError("node down")
        assert isinstance(from_block, int)
        assert isinstance(to_block, int)
        topic0, _, makers = topics
        out = [
            log
            for block in self.blocks[from_block : to_block + 1]
            for log in block["logs"]
            if log["address"] in addresses and log["topics"][0] in topic0 and log["topics"][2] in makers  # type: ignore[operator]
        ]
        if self.during_get_logs is not None:
            hook, self.during_get_logs = self.during_get_logs, None
            hook()
        extra, self.extra_logs = self.extra_logs, []
        return out + extra
