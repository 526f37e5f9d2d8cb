"""The `polyhunter run --config FILE` file: followers, their custody, and what each copies from whom.

    [[followers]]
    name = "alice"
    custody = "PAPER"                    # PAPER | EOA
    starting_cash_usdc = "1000"          # PAPER only
    private_key_env = "ALICE_KEY"        # EOA only: the NAME of an env var holding the key, never the key
    signature_type = 0                   # EOA: 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271
    funder = "0x…"                       # EOA with a proxy / Safe: the funder address

      [[followers.copies]]
      leader = "0x…"
      sizing = "FIXED_USDC"              # FIXED_USDC | PERCENT_OF_LEADER | PROPORTIONAL | MULTIPLIER
      sizing_value = "10"
      max_trade_usdc = "50"
      ...every other CopyConfig field

Unknown keys are rejected with the key named, as in the settings file.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from polyhunter.domain.copy_config import CopyConfig, CustodyMode, SizingMode
from polyhunter.domain.signal import Side
from polyhunter.settings import SettingsError, format_validation_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _address(value: str) -> str:
    if not (value.startswith("0x") and len(value) == 42):
        raise ValueError("must be an address: 0x + 40 hex")
    int(value[2:], 16)
    return value.lower()


class CopySpec(_Strict):
    leader: str
    sizing: SizingMode
    sizing_value: Decimal = Decimal(0)
    min_trade_usdc: Decimal = Decimal(0)
    max_trade_usdc: Decimal | None = None
    max_position_usdc: Decimal | None = None
    sides: list[Side] = Field(default_factory=lambda: [Side.BUY, Side.SELL])
    allow_markets: list[str] = Field(default_factory=list)
    deny_markets: list[str] = Field(default_factory=list)
    min_price: Decimal = Decimal(0)
    max_price: Decimal = Decimal(1)
    mirror_sells: bool = True
    max_slippage_bps: int | None = None
    aggregate_below_minimum: bool = True

    @field_validator("leader")
    @classmethod
    def _leader(cls, value: str) -> str:
        return _address(value)

    def to_domain(self, user_id: int, custody: CustodyMode) -> CopyConfig:
        return CopyConfig(
            id=0,
            version=0,
            user_id=user_id,
            leader=self.leader,
            sizing=self.sizing,
            sizing_value=self.sizing_value,
            custody=custody,
            min_trade_usdc=self.min_trade_usdc,
            max_trade_usdc=self.max_trade_usdc,
            max_position_usdc=self.max_position_usdc,
            sides=frozenset(self.sides),
            allow_markets=frozenset(self.allow_markets),
            deny_markets=frozenset(self.deny_markets),
            min_price=self.min_price,
            max_price=self.max_price,
            mirror_sells=self.mirror_sells,
            max_slippage_bps=self.max_slippage_bps,
            aggregate_below_minimum=self.aggregate_below_minimum,
        )


class FollowerSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    custody: Literal["PAPER", "EOA"] = "PAPER"
    starting_cash_usdc: Decimal = Decimal(1000)
    private_key_env: str | None = None
    private_key: SecretStr | None = Field(default=None, exclude=True)  # set by code (demo), never from files
    signature_type: int = Field(default=0, ge=0, le=3)
    funder: str | None = None
    copies: list[CopySpec] = Field(default_factory=list)

    def key(self) -> str | None:
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_env:
            value = os.environ.get(self.private_key_env)
            if not value:
                raise SettingsError(f"follower {self.name}: env var {self.private_key_env} is not set")
            return value
        return None


class RunFile(_Strict):
    followers: list[FollowerSpec] = Field(min_length=1)

    def leaders(self) -> list[str]:
        return sorted({c.leader for f in self.followers for c in f.copies})


def load_run_file(path: Path) -> RunFile:
    if not path.exists():
        raise SettingsError(f"{path}: run file not found")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    if any("private_key" in f for f in data.get("followers", []) if isinstance(f, dict)):
        raise SettingsError(f"{path}: followers.private_key: keys never go in files; use private_key_env")
    try:
        run = RunFile.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, str(path))) from None
    for f in run.followers:
        if f.custody == "EOA" and not f.private_key_env:
            raise SettingsError(f"{path}: follower {f.name}: EOA custody needs private_key_env")
    return run
