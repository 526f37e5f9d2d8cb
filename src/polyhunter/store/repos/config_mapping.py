"""Between the domain ``CopyConfig`` and its stored form (a ``copy_config_versions`` row).

Decimals travel as strings inside JSON and as integer micro-units in the limit columns, so nothing is
rounded through float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from polyhunter.domain.copy_config import ActOn, CopyConfig
from polyhunter.domain.signal import Side, from_micro, to_micro
from polyhunter.store.models import CopyConfigVersion


def version_values(cfg: CopyConfig) -> dict[str, Any]:
    """Column values of a version row for ``cfg`` (without config_id / version / wallet)."""
    return {
        "sizing_mode": cfg.sizing,
        "sizing_params": {"value": str(cfg.sizing_value)},
        "custody_mode": cfg.custody,
        "min_trade_notional_micro": to_micro(cfg.min_trade_usdc),
        "max_trade_notional_micro": None if cfg.max_trade_usdc is None else to_micro(cfg.max_trade_usdc),
        "max_position_notional_micro": (
            None if cfg.max_position_usdc is None else to_micro(cfg.max_position_usdc)
        ),
        "max_slippage_bps": cfg.max_slippage_bps,
        "filters": {
            "sides": sorted(s.value for s in cfg.sides),
            "allow_markets": sorted(cfg.allow_markets),
            "deny_markets": sorted(cfg.deny_markets),
            "min_price": str(cfg.min_price),
            "max_price": str(cfg.max_price),
            "mirror_sells": cfg.mirror_sells,
            "aggregate_below_minimum": cfg.aggregate_below_minimum,
            "act_on": cfg.act_on.value,
            "extra": dict(cfg.extra),
        },
    }


def to_domain(row: CopyConfigVersion, *, user_id: int, leader: str) -> CopyConfig:
    f = row.filters
    return CopyConfig(
        id=row.config_id,
        version=row.version,
        user_id=user_id,
        leader=leader,
        sizing=row.sizing_mode,
        sizing_value=Decimal(row.sizing_params.get("value", "0")),
        custody=row.custody_mode,
        min_trade_usdc=from_micro(row.min_trade_notional_micro),
        max_trade_usdc=None
        if row.max_trade_notional_micro is None
        else from_micro(row.max_trade_notional_micro),
        max_position_usdc=(
            None if row.max_position_notional_micro is None else from_micro(row.max_position_notional_micro)
        ),
        sides=frozenset(Side(s) for s in f.get("sides", [Side.BUY.value, Side.SELL.value])),
        allow_markets=frozenset(f.get("allow_markets", [])),
        deny_markets=frozenset(f.get("deny_markets", [])),
        min_price=Decimal(f.get("min_price", "0")),
        max_price=Decimal(f.get("max_price", "1")),
        mirror_sells=bool(f.get("mirror_sells", True)),
        max_slippage_bps=row.max_slippage_bps,
        aggregate_below_minimum=bool(f.get("aggregate_below_minimum", True)),
        act_on=ActOn(f.get("act_on", ActOn.CONFIRMED.value)),
        extra={str(k): str(v) for k, v in f.get("extra", {}).items()},
    )
