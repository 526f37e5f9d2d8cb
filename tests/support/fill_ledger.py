"""Comparing what ingestion emitted with the simulator's own record of every fill (``sim.state.fills``).

A fill and a signal are the same when they agree in transaction hash, leader, token, side and size
(micro-shares): the fields every source prints for a fill. The simulator's rows for one match all carry
the same hash, and a leader appears in a match once, so this identity is unique per leader fill.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from polyhunter.domain.signal import to_micro
from polyhunter.settings import Settings
from polyhunter.sim.state_records import FillRow

FillId = tuple[str, str, str, str, int]  # (tx hash, leader, asset, side, size micro)


def fill_id(tx_hash: str, leader: str, asset: str, side: str, size: Decimal | str) -> FillId:
    return (tx_hash.lower(), leader.lower(), asset, str(side), to_micro(Decimal(size)))


def row_id(row: FillRow) -> FillId:
    return fill_id(row.transaction_hash, row.proxy_wallet, row.asset, row.side, row.size)


@dataclass
class Comparison:
    expected: int
    emitted: int
    lost: list[FillId] = field(default_factory=list)
    duplicates: dict[FillId, int] = field(default_factory=dict)
    phantoms: list[FillId] = field(default_factory=list)  # emitted but no such fill of a followed leader
    by_source: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "emitted": self.emitted,
            "lost": len(self.lost),
            "duplicates": sum(n - 1 for n in self.duplicates.values()),
            "phantoms": len(self.phantoms),
            "by_source": dict(self.by_source),
        }


def compare(
    fills: Iterable[FillRow],
    emitted: Iterable[tuple[FillId, str]],
    *,
    leaders: Iterable[str],
    expected_from_ms: int,
    expected_to_ms: int | None = None,
) -> Comparison:
    """``emitted`` = (fill id, source) per emitted signal. Fills of followed leaders with
    ``expected_from_ms <= timestamp_ms (<= expected_to_ms)`` must each be emitted exactly once; any
    emitted signal must be some fill of a followed leader (earlier ones are allowed, never invented)."""
    followed = {leader.lower() for leader in leaders}
    all_fills = {row_id(f): f for f in fills if f.proxy_wallet.lower() in followed}
    expected = {
        fid
        for fid, f in all_fills.items()
        if f.timestamp_ms >= expected_from_ms and (expected_to_ms is None or f.timestamp_ms <= expected_to_ms)
    }
    counts: Counter[FillId] = Counter()
    by_source: Counter[str] = Counter()
    for fid, source in emitted:
        counts[fid] += 1
        by_source[source] += 1
    return Comparison(
        expected=len(expected),
        emitted=sum(counts.values()),
        lost=sorted(fid for fid in expected if fid not in counts),
        duplicates={fid: n for fid, n in counts.items() if n > 1},
        phantoms=sorted(fid for fid in counts if fid not in all_fills),
        by_source=by_source,
    )


def sim_settings(urls: Mapping[str, str], db_url: str, ingest: Mapping[str, Any]) -> Settings:
    venue: dict[str, Any] = {
        "clob_url": urls["clob"],
        "data_api_url": urls["data_api"],
        "gamma_url": urls["gamma"],
        "clob_ws_url": urls["clob_ws"],
        "rtds_ws_url": urls["rtds_ws"],
    }
    if "chain_rpc" in urls:
        venue["chain_rpc_url"] = urls["chain_rpc"]
        venue["chain_id"] = 31337
    return Settings.model_validate({"db": {"url": db_url}, "venue": venue, "ingest": dict(ingest)})


async def wait_for(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    """Poll ``cond`` until it holds or ``timeout_s`` passes; returns its last value."""
    for _ in range(int(timeout_s / step_s)):
        if cond():
            return True
        await asyncio.sleep(step_s)
    return cond()
