"""What the engine's tests feed it: a leader's fill as a signal (fresh key and transaction), and a paper
config following a leader."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind


def fill_signal(leader: str, token: str, condition: str, side: Side = Side.BUY) -> Signal:
    """A fill of 100 shares at 0.50 seen now over the websocket, with a fresh key and transaction hash."""
    now = datetime.now(UTC)
    return Signal(
        secrets.token_hex(16),
        leader,
        token,
        condition,
        side,
        Decimal(100),
        Decimal("0.50"),
        "0x" + secrets.token_hex(32),
        now,
        now,
        SourceKind.WS,
    )


def paper_config(user_id: int, leader: str, usdc: str = "5", **overrides: Any) -> CopyConfig:
    """A PAPER config copying ``usdc`` a fill (FIXED_USDC, 1 USDC minimum), with ``overrides``."""
    cfg = CopyConfig(
        id=0,
        version=0,
        user_id=user_id,
        leader=leader,
        sizing=SizingMode.FIXED_USDC,
        sizing_value=Decimal(usdc),
        custody=CustodyMode.PAPER,
        min_trade_usdc=Decimal(1),
    )
    return dataclasses.replace(cfg, **overrides)
