"""Recorded rows for the ``replay`` scenario: loading, grouping into transactions, and what each surface
publishes for them.

A replay file is a JSON array of Data API ``/trades`` or ``/activity`` rows, or of RTDS ``activity``
frames (their ``payload`` is the row), in any order (the Data API lists newest first). The replay shows
the rows as the venue showed them: one transaction per recorded ``transactionHash`` (a leader's two legs
of one transaction and both counterparties of one match stay in one transaction), every row's wallet,
side, asset, price and size exact to the base unit (6 decimals), published in time order with the
recorded gaps. Rows without a ``transactionHash`` get a deterministic one of their own.

In the Data API and RTDS the rows keep their recorded fields but carry the replay's wall-clock time
(copy sources drop fills older than a few minutes). With a chain mirror each transaction becomes ONE
mined transaction holding one ``OrderFilled`` per row; its hash (the chain's) then replaces the recorded
one everywhere, so every source sees the fill under the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from polyhunter.domain.signal import Side
from polyhunter.sim.chain_mirror import MirrorLeg, MirrorMatch
from polyhunter.sim.state_records import FillRow
from polyhunter.sim.units import MICRO

__all__ = ["ReplayTx", "fill_rows_of", "load_replay", "mirror_match_of", "replay_transactions"]

BASE_UNIT = Decimal("0.000001")
_NEEDED = ("proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp")


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _row_of(item: Any) -> Any:
    """The trade row itself: an RTDS frame's ``payload``, else the item."""
    if isinstance(item, dict) and isinstance(item.get("payload"), dict) and "topic" in item:
        return item["payload"]
    return item


def load_replay(path: Path) -> list[dict[str, Any]]:
    """The file's rows in time order (ties keep file order), numbers parsed exactly (no float),
    sizes cut to the base unit, every row with a ``transactionHash``."""
    items = json.loads(path.read_text(), parse_float=Decimal)
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON array of Data API trade rows (or RTDS activity frames)")
    rows = [_row_of(item) for item in items]
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: expected a JSON array of Data API trade rows (or RTDS activity frames)")
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        missing = [k for k in _NEEDED if k not in row]
        if missing:
            raise ValueError(f"{path}: row {i} lacks {missing}")
        if str(row["side"]).upper() not in ("BUY", "SELL"):
            raise ValueError(f"{path}: row {i} has side {row['side']!r}")
        tx = str(row.get("transactionHash") or "")
        if not tx:
            tx = "0x" + hashlib.sha256(f"polyhunter-replay|{path.name}|{i}".encode()).hexdigest()
        out.append(
            {
                **row,
                "side": str(row["side"]).upper(),
                "size": _decimal(row["size"]).quantize(BASE_UNIT, ROUND_DOWN),
                "price": _decimal(row["price"]),
                "timestamp": int(row["timestamp"]),
                "transactionHash": tx.lower(),
            }
        )
    return sorted(out, key=lambda r: int(r["timestamp"]))


@dataclass(frozen=True, slots=True)
class ReplayTx:
    """The rows of one recorded transaction, in file order; ``taker`` indexes the taker's row."""

    timestamp: int
    tx_hash: str
    rows: tuple[dict[str, Any], ...]
    taker: int

    def is_taker(self, index: int) -> bool:
        """With a fee-paying row the others are its makers; without one every row prints as a taker
        (a ``/trades`` capture with the default ``takerOnly=true`` holds takers only)."""
        return index == self.taker or not self._has_fee

    @property
    def _has_fee(self) -> bool:
        return any(_decimal(r.get("fee") or 0) > 0 for r in self.rows)


def replay_transactions(rows: list[dict[str, Any]]) -> list[ReplayTx]:
    """Rows (time-ordered) grouped by (timestamp, transaction hash), in time order."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((int(row["timestamp"]), str(row["transactionHash"])), []).append(row)
    out = []
    for (ts, tx), group in groups.items():
        fees = [i for i, r in enumerate(group) if _decimal(r.get("fee") or 0) > 0]
        out.append(ReplayTx(timestamp=ts, tx_hash=tx, rows=tuple(group), taker=fees[0] if fees else 0))
    return sorted(out, key=lambda t: t.timestamp)


def _usdc(row: dict[str, Any]) -> Decimal:
    if row.get("usdcSize") is not None:
        return _decimal(row["usdcSize"]).quantize(BASE_UNIT, ROUND_HALF_UP)
    return (_decimal(row["size"]) * _decimal(row["price"])).quantize(BASE_UNIT, ROUND_HALF_UP)


def fill_rows_of(tx: ReplayTx, tx_hash: str, now_ms: int) -> list[FillRow]:
    """The Data API / RTDS rows of one replayed transaction (``seq`` is set when published)."""
    return [
        FillRow(
            proxy_wallet=str(row["proxyWallet"]).lower(),
            side="BUY" if row["side"] == "BUY" else "SELL",
            asset=str(row["asset"]),
            condition_id=str(row["conditionId"]).lower(),
            size=_decimal(row["size"]),
            price=_decimal(row["price"]),
            usdc_size=_usdc(row),
            fee=_decimal(row.get("fee") or 0),
            timestamp_s=now_ms // 1000,
            timestamp_ms=now_ms,
            transaction_hash=tx_hash,
            is_taker=tx.is_taker(i),
            seq=0,
        )
        for i, row in enumerate(tx.rows)
    ]


def _micro(value: Decimal) -> int:
    return int((value * MICRO).to_integral_value(ROUND_HALF_UP))


def _leg(tx: ReplayTx, index: int) -> MirrorLeg:
    row = tx.rows[index]
    side = Side.BUY if row["side"] == "BUY" else Side.SELL
    shares, usdc = _micro(_decimal(row["size"])), _micro(_usdc(row))
    return MirrorLeg(
        order_hash="0x" + hashlib.sha256(f"polyhunter-replay|{tx.tx_hash}|{index}".encode()).hexdigest(),
        maker=str(row["proxyWallet"]).lower(),
        side=side,
        token_id=str(row["asset"]),
        maker_amount_filled=usdc if side is Side.BUY else shares,
        taker_amount_filled=shares if side is Side.BUY else usdc,
        fee=_micro(_decimal(row.get("fee") or 0)),
    )


def mirror_match_of(tx: ReplayTx) -> MirrorMatch:
    """One chain transaction for the recorded one: an ``OrderFilled`` per row (the taker's last)."""
    taker = _leg(tx, tx.taker)
    return MirrorMatch(
        taker_order_hash=taker.order_hash,
        taker=taker.maker,
        taker_side=taker.side,
        token_id=taker.token_id,
        taker_maker_amount_filled=taker.maker_amount_filled,
        taker_taker_amount_filled=taker.taker_amount_filled,
        maker_legs=tuple(_leg(tx, i) for i in range(len(tx.rows)) if i != tx.taker),
        taker_fee=taker.fee,
    )
