"""The `polyhunter run --config FILE` file: followers, their custody, and what each copies from whom.

    [[followers]]
    name = "alice"
    custody = "PAPER"                    # a registered custody (polyhunter.execution.registry): PAPER | EOA
                                         # | PROXY | DIRECT (PROXY whose proxy makes its own orders)
    starting_cash_usdc = "1000"          # PAPER only
    private_key_env = "ALICE_KEY"        # EOA only: the NAME of an env var holding the key, never the key
    signature_type = 0                   # EOA: 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271
    signer = "0x…"                       # EOA, optional: the key's address (checked against the key)
    funder = "0x…"                       # EOA with a proxy / Safe (1, 2: required): the funder address

      [followers.limits]                 # optional guardrails of this follower, on top of the
      daily_cap_usdc = "200"             # platform's [guardrails] (the stricter of the two applies):
      max_trade_usdc = "25"              # BUY notional per UTC day, and notional per copy

      [[followers.copies]]
      leader = "0x…"                     # one copy config per (follower, leader)
      sizing = "FIXED_USDC"              # FIXED_USDC | PERCENT_OF_LEADER | PROPORTIONAL | MULTIPLIER
      sizing_value = "10"
      max_trade_usdc = "50"              # sizing bound: a larger copy is cut down to this
      ...every other CopyConfig field

Every error names its key, with the follower's name (`followers[0] (alice).copies[1].sizing_value:
...`): unknown keys, bad values, a copy config the domain refuses, a second config for the same
leader (the store keeps one config per follower and leader), a repeated follower name, and what
the follower's custody refuses (EOA: a `private_key_env` whose variable is not set or does not hold
a private key).

Bounds (all numbers finite, NaN and Infinity refused): USDC amounts 0..1e9 (`MAX_USDC`), prices
0..1, `max_slippage_bps` 0..10000, `sizing_value` per mode (FIXED_USDC up to 1e9 USDC,
PERCENT_OF_LEADER up to 1000 %, MULTIPLIER and PROPORTIONAL up to x1000). Addresses are 0x + 40 hex,
not the zero address (mixed case must be a valid EIP-55 checksum); names have no control characters.
EOA (execution/eoa_custody.py): a key must be 64 hex digits in the secp256k1 range and give `signer`
when that is set; signature types 1 (POLY_PROXY) and 2 (POLY_GNOSIS_SAFE) need a `funder` other than
the signer.

`custody = "DIRECT"` is PROXY custody with `signature_type = 3` (POLY_1271): the follower's proxy is the
maker of its own orders, signed by a fleet worker and checked by the proxy's EIP-1271 (see
execution/proxy_direct.py). It is read as such (`custody` PROXY, `signature_type` 3), so nothing new is
stored: the proxy's wallet row keeps the signature type.
"""

from __future__ import annotations

import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from polyhunter.domain.copy_config import (
    MAX_SLIPPAGE_BPS,
    MAX_USDC,
    ActOn,
    CopyConfig,
    CustodyMode,
    SizingMode,
    sizing_value_problem,
)
from polyhunter.domain.signal import Side
from polyhunter.execution.registry import CUSTODY
from polyhunter.runtime.identity_checks import address_of_key, name_problem, parse_address
from polyhunter.settings import SettingsError

DIRECT = "DIRECT"  # the run file's name for PROXY custody in DIRECT mode
DIRECT_SIGNATURE_TYPE = 3  # POLY_1271: the proxy checks its orders' signatures (EIP-1271)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _address(value: str) -> str:
    return parse_address(value)


def _usdc(default: Decimal | None) -> Any:
    return Field(default=default, ge=0, le=MAX_USDC, allow_inf_nan=False)


class CopySpec(_Strict):
    leader: str
    sizing: SizingMode
    sizing_value: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)  # bound: per mode
    min_trade_usdc: Decimal = _usdc(Decimal(0))
    max_trade_usdc: Decimal | None = _usdc(None)
    max_position_usdc: Decimal | None = _usdc(None)
    sides: list[Side] = Field(default_factory=lambda: [Side.BUY, Side.SELL])
    allow_markets: list[str] = Field(default_factory=list)
    deny_markets: list[str] = Field(default_factory=list)
    min_price: Decimal = Field(default=Decimal(0), ge=0, le=1, allow_inf_nan=False)
    max_price: Decimal = Field(default=Decimal(1), ge=0, le=1, allow_inf_nan=False)
    mirror_sells: bool = True
    max_slippage_bps: int | None = Field(default=None, ge=0, le=MAX_SLIPPAGE_BPS)
    aggregate_below_minimum: bool = True
    act_on: ActOn = ActOn.CONFIRMED  # "pending": copy a fill seen in the mempool before its block

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
            act_on=self.act_on,
        )


class FollowerLimits(_Strict):
    """Guardrails of one follower, applied with the platform's (the stricter wins)."""

    daily_cap_usdc: Decimal | None = _usdc(None)
    max_trade_usdc: Decimal | None = _usdc(None)


class FollowerSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    custody: CustodyMode = CustodyMode.PAPER  # one registered in CUSTODY
    starting_cash_usdc: Decimal = _usdc(Decimal(1000))
    private_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)
    private_key: SecretStr | None = Field(default=None, exclude=True)  # set by code (demo), never from files
    signature_type: int = Field(default=0, ge=0, le=3)
    signer: str | None = None
    funder: str | None = None
    proxy: str | None = None  # PROXY custody: the follower's proxy (`polyhunter proxy create` prints it)
    limits: FollowerLimits = Field(default_factory=FollowerLimits)
    copies: list[CopySpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _direct(cls, data: Any) -> Any:
        """`custody = "DIRECT"`: PROXY custody whose proxy signs its own orders (signature type 3)."""
        if not isinstance(data, dict) or data.get("custody") != DIRECT:
            return data
        if data.get("signature_type", DIRECT_SIGNATURE_TYPE) != DIRECT_SIGNATURE_TYPE:
            raise PydanticCustomError(
                "value_error", "custody DIRECT signs with signature_type 3 (POLY_1271); leave it out"
            )
        return {**data, "custody": str(CustodyMode.PROXY), "signature_type": DIRECT_SIGNATURE_TYPE}

    @property
    def direct(self) -> bool:
        """PROXY custody in DIRECT mode (the proxy is the maker of its orders)."""
        return self.custody is CustodyMode.PROXY and self.signature_type == DIRECT_SIGNATURE_TYPE

    @property
    def custody_name(self) -> str:
        """The custody as a run file names it (DIRECT for a PROXY follower in DIRECT mode)."""
        return DIRECT if self.direct else str(self.custody)

    @field_validator("custody", mode="before")
    @classmethod
    def _custody(cls, value: Any) -> Any:
        if value not in CUSTODY:
            names = CUSTODY.names() + ([DIRECT] if str(CustodyMode.PROXY) in CUSTODY else [])
            expected = " or ".join(", ".join(repr(n) for n in names) for names in _last_two(names))
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("signer", "funder", "proxy")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    def key(self) -> str | None:
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_env:
            value = os.environ.get(self.private_key_env)
            if not value:
                raise SettingsError(f"follower {self.name}: env var {self.private_key_env} is not set")
            return value
        return None


def _last_two(names: list[str]) -> list[list[str]]:
    """`['A', 'B', 'C']` -> `[['A', 'B'], ['C']]`: joined as "'A', 'B' or 'C'" as pydantic words it."""
    return [names[:-1], names[-1:]] if len(names) > 1 else [names]


class RunFile(_Strict):
    followers: list[FollowerSpec] = Field(min_length=1)

    def leaders(self) -> list[str]:
        return sorted({c.leader for f in self.followers for c in f.copies})


def _where(run: dict[str, object] | RunFile, loc: tuple[int | str, ...]) -> str:
    """A readable key path: `followers[0] (alice).copies[1].sizing_value`."""
    parts: list[str] = []
    names = _follower_names(run)
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if i == 1 and loc[0] == "followers" and part < len(names) and names[part]:
                label += f" ({_shown(names[part])})"
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
        else:
            parts.append(_shown(str(part)))
    return ".".join(parts) or "(top level)"


def _shown(text: str) -> str:
    """A key or name from the file as an error shows it: quoted and escaped unless plainly printable (a
    key holding a newline or an escape sequence must not forge lines of the message or the terminal)."""
    if text and text.isprintable() and text == text.strip() and len(text) <= 64:
        return text
    return json.dumps(text[:64] + ("..." if len(text) > 64 else ""))


def _follower_names(run: dict[str, object] | RunFile) -> list[str]:
    if isinstance(run, RunFile):
        return [f.name for f in run.followers]
    followers = run.get("followers")
    if not isinstance(followers, list):
        return []
    return [str(f.get("name", "")) if isinstance(f, dict) else "" for f in followers]


def check_run_file(run: RunFile, source: str) -> None:
    """What field validation alone cannot see; raises SettingsError naming every offending key."""
    errors: list[str] = []
    seen_names: dict[str, int] = {}
    for i, f in enumerate(run.followers):
        where = _where(run, ("followers", i))
        if f.name in seen_names:
            errors.append(
                f"{where}.name: follower {f.name!r} is already defined at followers[{seen_names[f.name]}]"
            )
        seen_names.setdefault(f.name, i)
        errors.extend(f"{where}.{key}: {error}" for key, error in CUSTODY.get(f.custody).check(f))
        leaders: dict[str, int] = {}
        for j, copy in enumerate(f.copies):
            at = _where(run, ("followers", i, "copies", j))
            if copy.leader in leaders:
                errors.append(
                    f"{at}.leader: {copy.leader} is already copied by this follower (copies[{leaders[copy.leader]}]);"
                    " one copy config per follower and leader"
                )
            leaders.setdefault(copy.leader, j)
            sizing_problem = sizing_value_problem(copy.sizing, copy.sizing_value)
            if sizing_problem:
                errors.append(f"{at}.sizing_value: {sizing_problem}")
                continue
            try:
                copy.to_domain(0, f.custody)
            except ValueError as exc:
                errors.append(f"{at}: {exc}")
    errors.extend(_shared_funders(run))
    if errors:
        raise SettingsError("\n".join(f"{source}: {e}" for e in errors))


def _own_address(f: FollowerSpec) -> str | None:
    """The address a follower's key signs as, when it has a valid key (the custody check reports
    a bad one)."""
    try:
        key = f.key()
        return None if key is None else address_of_key(key)
    except (ValueError, SettingsError):  # no key, or not one: the custody check names it
        return None


def _shared_funders(run: RunFile) -> list[str]:
    """A funder that is another follower's wallet (its key's address, or its funder) would spend that
    follower's funds: refused. Whether a funder is this key's own proxy or Safe is for the venue's
    registry to say (`polyhunter doctor` signs in with it); this catches the run file's own mix-ups."""
    wallets: dict[str, int] = {}
    for i, f in enumerate(run.followers):
        for address in (_own_address(f), f.funder):
            if address is not None:
                wallets.setdefault(address, i)
    errors = []
    for i, f in enumerate(run.followers):
        owner = None if f.funder is None else wallets.get(f.funder)
        if owner is not None and owner != i:
            errors.append(
                f"{_where(run, ('followers', i))}.funder: {f.funder} is the wallet of"
                f" {_where(run, ('followers', owner))}; a funder must be this key's own proxy or Safe"
            )
    return errors


def load_run_file(path: Path) -> RunFile:
    if not path.exists():
        raise SettingsError(f"{path}: run file not found")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: not UTF-8 at byte {exc.start}") from None
    except RecursionError:
        raise SettingsError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    followers = data.get("followers", [])
    for i, f in enumerate(followers if isinstance(followers, list) else []):
        if isinstance(f, dict) and "private_key" in f:
            where = _where(data, ("followers", i, "private_key"))
            raise SettingsError(f"{path}: {where}: keys never go in files; use private_key_env")
    try:
        run = RunFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {_where(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("\n".join(lines)) from None
    check_run_file(run, str(path))
    return run
