"""A match's life after matching: settlement, then what each surface shows and when (``sim/timing.py``).

``fast``: MINED ``mined_delay_s`` after the match, the fill on RTDS and in the Data API at once, CONFIRMED
``confirmed_delay_s`` later. ``live``: MINED when the settlement transaction's block is mined (the chain
mirror's blocks, or the emulated 2 s grid without a chain); RTDS ``rtds_delay`` after the block; the Data API
``data_api_lag_s`` after it; CONFIRMED ``confirmed_delay_s`` after the block. A settlement transaction the
``drop_pending_*`` fault drops is never mined: the trade ends FAILED and its fill is published nowhere (the
simulator's books and balances keep the match: only its settlement, and what the feeds say of it, is gone).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from polyhunter.log import get_logger
from polyhunter.sim.faults import Faults
from polyhunter.sim.scenario_markets import MarketInfo
from polyhunter.sim.server_wire import TradeState
from polyhunter.sim.state_records import FillRow, fill_rows
from polyhunter.sim.timing import SimTiming

log = get_logger(__name__)


class Settles(Protocol):
    """What the chain mirror offers the venue (``ChainMirror``): wait for a transaction, or drop it."""

    async def settlement(self, tx_hash: str) -> Any: ...

    def drop(self, tx_hash: str) -> None: ...


class Venue(Protocol):
    faults: Faults

    def record_fills(self, rows: Sequence[FillRow]) -> list[FillRow]: ...

    def push_fills(self, rows: Sequence[FillRow]) -> None: ...

    def publish_trade_status(self, ts: TradeState, info: MarketInfo) -> None: ...

    def now_s(self) -> int: ...


class Settlement:
    """Runs each match's progress with the timing profile; ``chain`` when matches are mirrored with blocks."""

    def __init__(self, venue: Venue, timing: SimTiming, seed: int) -> None:
        self.venue = venue
        self.timing = timing
        self.chain: Settles | None = None
        self._rng = random.Random(f"polyhunter-sim-timing-{seed}")  # noqa: S311 - delays, not security
        self.dropped = 0
        self.mined_at: dict[str, float] = {}  # tx hash -> wall time its block was mined (the newest 100k)

    async def progress(self, ts: TradeState, info: MarketInfo, hashing: Awaitable[str] | None) -> None:
        t = ts.trade
        if hashing is None:
            await asyncio.sleep(self.timing.until_block())
            tx_hash = ts.transaction_hash or t.transaction_hash
            block_s = time.time()
        else:
            tx_hash = await hashing
            mined, block_s = await self._mined(tx_hash)
            if not mined:
                self.dropped += 1
                ts.status, ts.last_update_s, ts.transaction_hash = "FAILED", self.venue.now_s(), tx_hash
                self.venue.publish_trade_status(ts, info)
                log.info("sim.settlement_dropped", trade_id=t.trade_id, tx=tx_hash)
                return
        self.mined_at[tx_hash] = block_s
        if len(self.mined_at) > 100_000:
            del self.mined_at[next(iter(self.mined_at))]
        rows = fill_rows(t, tx_hash, 0)
        ts.status, ts.last_update_s, ts.transaction_hash = "MINED", self.venue.now_s(), tx_hash
        self.venue.publish_trade_status(ts, info)

        def confirm() -> None:
            ts.status, ts.last_update_s = "CONFIRMED", self.venue.now_s()
            self.venue.publish_trade_status(ts, info)

        if self.timing.name == "fast":
            self.venue.push_fills(self.venue.record_fills(rows))
            steps = [(block_s + self.timing.confirmed_delay_s, confirm)]
        else:
            steps = [
                (block_s + self.timing.rtds_delay(self._rng), lambda: self.venue.push_fills(rows)),
                (block_s + self.timing.data_api_lag_s, lambda: self._record(rows)),
                (block_s + self.timing.confirmed_delay_s, confirm),
            ]
        for at, step in sorted(steps, key=lambda item: item[0]):
            await _sleep_until(at)
            step()

    def _record(self, rows: list[FillRow]) -> None:
        self.venue.record_fills(rows)

    async def _mined(self, tx_hash: str) -> tuple[bool, float]:
        """(mined?, block time) of the settlement transaction; a ``drop_pending`` fault drops it first."""
        chain = self.chain
        if chain is None or self.timing.block_time_s is None:
            await asyncio.sleep(self.timing.mined_delay_s)
            return True, time.time()
        if self.venue.faults.take_drop_pending():
            chain.drop(tx_hash)
        settled = await chain.settlement(tx_hash)
        return bool(settled.mined), time.time()


async def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
