"""Store rows to the API's response models (amounts as exact decimal strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from polyhunter.service.models import ConfigOut, CopyOut, FollowerOut, LeaderOut
from polyhunter.service.resources import follower_name, usdc
from polyhunter.store.models import CopyTrade
from polyhunter.store.repos.owned import ConfigRow, FollowerRow, LeaderRow

MICRO = Decimal(1_000_000)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def follower_out(row: FollowerRow, extra: dict[str, Any]) -> FollowerOut:
    return FollowerOut(
        id=row.id,
        name=follower_name(row.username),
        custody=row.custody,
        wallet_address=row.wallet_address,
        has_private_key=row.has_private_key,
        signature_type=row.signature_type,
        funder=row.funder_address,
        starting_cash_usdc=usdc(row.starting_cash_micro),
        daily_cap_usdc=usdc(row.daily_cap_micro),
        max_trade_usdc=usdc(row.max_trade_micro),
        cash_usdc=usdc(extra["cash_micro"]),
        realized_pnl_usdc=usdc(extra["realized_pnl_micro"]),
        copies=extra["copies"],
        created_at=row.created_at,
    )


def leader_out(row: LeaderRow, record: dict[str, Any]) -> LeaderOut:
    volume = Decimal(record["volume_micro2"]) / (MICRO * MICRO)
    return LeaderOut(
        id=row.id,
        address=row.address,
        label=row.label,
        created_at=row.created_at,
        fills_24h=record["fills"],
        volume_24h_usdc=_dec(volume.quantize(Decimal("0.01"))) or "0",
        last_fill=record["last_fill"],
        configs=record["configs"],
    )


def config_out(row: ConfigRow) -> ConfigOut:
    c = row.stored.config
    return ConfigOut(
        id=c.id,
        version=c.version,
        follower_id=row.follower_id,
        leader=c.leader,
        sizing=str(c.sizing),
        sizing_value=_dec(c.sizing_value) or "0",
        min_trade_usdc=_dec(c.min_trade_usdc) or "0",
        max_trade_usdc=_dec(c.max_trade_usdc),
        max_position_usdc=_dec(c.max_position_usdc),
        sides=sorted(str(s) for s in c.sides),
        allow_markets=sorted(c.allow_markets),
        deny_markets=sorted(c.deny_markets),
        min_price=_dec(c.min_price) or "0",
        max_price=_dec(c.max_price) or "0",
        mirror_sells=c.mirror_sells,
        max_slippage_bps=c.max_slippage_bps,
        aggregate_below_minimum=c.aggregate_below_minimum,
        paused=row.paused_at is not None,
        paused_reason=row.stored.paused_reason,
        created_at=row.created_at,
    )


def _m(value: int | None) -> str | None:
    return None if value is None else _dec(Decimal(value) / MICRO)


def copy_out(c: CopyTrade, leader: str, market: str) -> CopyOut:
    slippage = None
    if c.filled_price_micro and c.requested_price_micro:
        slippage = round((c.filled_price_micro - c.requested_price_micro) * 10_000 / c.requested_price_micro)
        if str(c.side) == "SELL":
            slippage = -slippage
    latency = None
    if c.executed_at is not None:
        latency = max(0, round((c.executed_at - c.created_at).total_seconds() * 1000))
    return CopyOut(
        id=c.id,
        follower_id=c.user_id,
        config_id=c.config_id,
        config_version=c.config_version,
        leader=leader,
        market=market,
        asset=c.asset,
        side=str(c.side),
        state=str(c.state),
        reason=c.reason,
        error=c.error,
        requested_size=_m(c.requested_size_micro) or "0",
        requested_price=_m(c.requested_price_micro) or "0",
        requested_usdc=_m(c.requested_notional_micro) or "0",
        filled_size=_m(c.filled_size_micro),
        filled_price=_m(c.filled_price_micro),
        slippage_bps=slippage,
        latency_ms=latency,
        created_at=c.created_at,
        executed_at=c.executed_at,
    )
