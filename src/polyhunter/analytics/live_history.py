"""A leader's history from the Data API: ``/activity`` (TRADE and REDEEM rows, oldest first, in pages
of 500 up to the venue's offset bound) and ``/positions`` (open positions: end marks; redeemable
ones: resolutions)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.adapters.polymarket.data_api_client import (
    ACTIVITY_MAX_LIMIT,
    ACTIVITY_MAX_OFFSET,
    DataApiClient,
)
from polyhunter.adapters.polymarket.wire_data_api import DataActivity
from polyhunter.domain.history import History, HistoryFill, Resolution
from polyhunter.domain.signal import Side


def _fill(row: DataActivity) -> HistoryFill | None:
    if row.side not in ("BUY", "SELL") or row.size <= 0 or not 0 < row.price < 1 or not row.asset:
        return None
    return HistoryFill(
        leader=row.proxy_wallet.lower(),
        asset=row.asset,
        condition_id=row.condition_id.lower(),
        side=Side(row.side),
        size=row.size,
        price=row.price,
        timestamp=row.timestamp,
        tx_hash=row.transaction_hash.lower(),
        slug=row.slug or "",
        outcome=row.outcome or "",
    )


async def fetch_history(client: DataApiClient, leader: str, history: History | None = None) -> History:
    """Add `leader`'s fills, redemptions and positions to `history` (a new one when None)."""
    history = history if history is not None else History()
    leader = leader.lower()
    offset = 0
    while offset <= ACTIVITY_MAX_OFFSET:
        page = await client.activity(leader, types="TRADE,REDEEM", offset=offset, limit=ACTIVITY_MAX_LIMIT)
        for row in page:
            if row.type == "TRADE":
                fill = _fill(row)
                if fill is not None:
                    history.fills.append(fill)
                else:
                    history.ignored["TRADE without a fill"] = (
                        history.ignored.get("TRADE without a fill", 0) + 1
                    )
            elif row.type == "REDEEM" and row.asset and row.size > 0:
                payout = min(Decimal(1), max(Decimal(0), row.usdc_size / row.size))
                history.resolutions[row.asset] = Resolution(
                    row.asset, row.condition_id.lower(), payout, row.timestamp
                )
        if len(page) < ACTIVITY_MAX_LIMIT:
            break
        offset += ACTIVITY_MAX_LIMIT
    for pos in await client.positions(leader):
        if pos.redeemable and 0 <= pos.cur_price <= 1:
            history.resolutions.setdefault(
                pos.asset, Resolution(pos.asset, pos.condition_id.lower(), pos.cur_price)
            )
        else:
            history.marks[pos.asset] = pos.cur_price
    history.fills.sort(key=lambda f: f.timestamp)
    return history
