"""What the API takes and gives (pydantic; the OpenAPI document is made from these).

Amounts go out as decimal strings (exact). Secrets only go in: no response model has a field for one.
A copy config takes every option of the run file's `[[followers.copies]]` with the same validation
(`ConfigIn` is the run file's `CopySpec` plus the follower it belongs to).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from polyhunter.domain.copy_config import MAX_USDC
from polyhunter.runtime.identity_checks import name_problem, parse_address
from polyhunter.runtime.run_file import CopySpec

USERNAME = r"^[A-Za-z0-9_.-]{3,32}$"
MAX_ID = 2**63 - 1


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _usdc(default: Decimal | None) -> Decimal | None:
    return Field(default=default, ge=0, le=MAX_USDC, allow_inf_nan=False)


class Credentials(_In):
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=8, max_length=128)


class AccountOut(BaseModel):
    id: int
    username: str
    role: str


class SessionOut(BaseModel):
    account: AccountOut
    csrf_token: str


class TokenIn(_In):
    label: str | None = Field(default=None, max_length=64)

    _label = field_validator("label")(_text)


class TokenOut(BaseModel):
    id: int
    kind: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None


class NewTokenOut(TokenOut):
    token: str  # shown once


class LimitsIn(_In):
    daily_cap_usdc: Decimal | None = _usdc(None)
    max_trade_usdc: Decimal | None = _usdc(None)


class FollowerIn(LimitsIn):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[^/]+$")
    custody: Literal["PAPER", "EOA"] = "PAPER"
    starting_cash_usdc: Decimal = Field(default=Decimal(1000), ge=0, le=MAX_USDC, allow_inf_nan=False)
    private_key: SecretStr | None = Field(default=None, max_length=200)  # write-only
    signature_type: int = Field(default=0, ge=0, le=3)
    funder: str | None = Field(default=None, max_length=64)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("funder")
    @classmethod
    def _funder(cls, value: str | None) -> str | None:
        return None if value is None else parse_address(value)


class FollowerOut(BaseModel):
    id: int
    name: str
    custody: str
    wallet_address: str | None
    has_private_key: bool
    signature_type: int
    funder: str | None
    starting_cash_usdc: str | None
    daily_cap_usdc: str | None
    max_trade_usdc: str | None
    cash_usdc: str | None
    realized_pnl_usdc: str | None
    copies: dict[str, int]
    created_at: datetime


class LeaderIn(_In):
    address: str = Field(max_length=64)
    label: str | None = Field(default=None, max_length=64)

    _label = field_validator("label")(_text)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return parse_address(value)


class LeaderOut(BaseModel):
    id: int
    address: str
    label: str | None
    created_at: datetime
    fills_24h: int
    volume_24h_usdc: str
    last_fill: datetime | None
    configs: int


class ConfigIn(CopySpec):
    follower_id: int = Field(ge=1, le=MAX_ID)


class ConfigOut(BaseModel):
    id: int
    version: int
    follower_id: int
    leader: str
    sizing: str
    sizing_value: str
    min_trade_usdc: str
    max_trade_usdc: str | None
    max_position_usdc: str | None
    sides: list[str]
    allow_markets: list[str]
    deny_markets: list[str]
    min_price: str
    max_price: str
    mirror_sells: bool
    max_slippage_bps: int | None
    aggregate_below_minimum: bool
    paused: bool
    paused_reason: str | None
    created_at: datetime


class CopyOut(BaseModel):
    id: int
    follower_id: int
    config_id: int
    config_version: int
    leader: str
    market: str
    asset: str
    side: str
    state: str
    reason: str | None
    error: str | None
    requested_size: str
    requested_price: str
    requested_usdc: str
    filled_size: str | None
    filled_price: str | None
    slippage_bps: int | None
    latency_ms: int | None
    created_at: datetime
    executed_at: datetime | None


class CopyPage(BaseModel):
    items: list[CopyOut]
    next_cursor: int | None


class StopOut(BaseModel):
    configs: int


class AuditOut(BaseModel):
    id: int
    action: str
    target: str
    created_at: datetime
