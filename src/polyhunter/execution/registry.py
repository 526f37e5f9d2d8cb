"""Executors registered by custody mode: everything the rest of the platform needs to know about a
custody type, in one descriptor per type.

A custody type says which run-file keys it uses and which of them it requires (`check`), which wallet
row provisioning creates for a follower (`wallet`), how its executor is built from the settings and
its provisioned followers (`build`), the value of a follower's open positions for PROPORTIONAL sizing
(`positions_value`) and a follower's equity for PnL (`equity`).

The run file validates `custody` against `CUSTODY`; provisioning, the positions value, the application
assembly (`polyhunter.app`) and the demo read the descriptor. Adding a custody type is one module with
its executor and descriptor, and its line in `_builtin()`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.ports.venue import Executor
from polyhunter.store.enums import WalletKind

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from polyhunter.domain.orders import OrderBook
    from polyhunter.engine.positions import LeaderPortfolio
    from polyhunter.runtime.provision import Provisioned
    from polyhunter.runtime.run_file import FollowerSpec
    from polyhunter.secretbox import SecretBox
    from polyhunter.settings import Settings


@dataclass(frozen=True, slots=True)
class NewWallet:
    """The wallet row provisioning creates for a follower (when none exists at `address`)."""

    address: str
    kind: WalletKind
    private_key: str | None = None


@dataclass(slots=True)
class BuildContext:
    """What every executor is built from (the application assembly fills it in)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    book: Callable[[str], Awaitable[OrderBook]]  # the engine's cached order books
    order_version: int  # the venue's order version (signed orders carry it)
    remember_s: float  # how long an executor remembers a copy's outcome for reconciliation
    wallet_of_user: dict[int, int]  # follower user id -> wallet id (every follower; live_sync adds)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)  # run at shutdown
    fee_rate: Callable[[str], Awaitable[Decimal]] | None = None  # the market's taker fee rate by token
    registry: Any = None  # the process's prometheus CollectorRegistry (`/metrics`), when it has one


@dataclass(frozen=True, slots=True)
class ValueContext:
    """What a positions value or an equity is computed with."""

    book: Callable[[str], Awaitable[OrderBook]]
    midpoint: Callable[[str], Awaitable[Decimal | None]]
    portfolio: LeaderPortfolio | None = None  # cached Data API positions (the engine's)
    data_api_url: str = ""  # a fresh Data API read (the demo's PnL)


@dataclass(frozen=True, slots=True)
class CustodyType:
    mode: CustodyMode
    wallet_kind: WalletKind  # the kind of wallet row each follower of this custody has
    accepts: frozenset[str]  # run-file keys of a follower this custody uses, besides the common ones
    requires: frozenset[str]  # ... of which these must be given
    check: Callable[[FollowerSpec], list[tuple[str, str]]]  # (key, error) beyond field validation
    wallet: Callable[[FollowerSpec], NewWallet]
    build: Callable[[BuildContext, Sequence[Provisioned]], Awaitable[Executor]]
    positions_value: Callable[[Executor, ValueContext, int], Awaitable[Decimal]]
    equity: Callable[[Executor, ValueContext, int], Awaitable[Decimal]]
    label: str  # how the demo and the status name it
    # A follower added while the executor runs (made through the API); None: only at build
    add: Callable[[BuildContext, Executor, Provisioned], Awaitable[None]] | None = None
    # A cluster worker took these followers' partition: what the executor keeps of them in process is
    # read again from the store (another worker may have moved it); None: it keeps nothing of its own
    reload: Callable[[BuildContext, Executor, list[int]], Awaitable[None]] | None = None


class CustodyRegistry:
    def __init__(self) -> None:
        self._types: dict[CustodyMode, CustodyType] = {}
        self._loaded = False

    def register(self, custody: CustodyType) -> None:
        self._load()
        if custody.mode in self._types:
            raise ValueError(f"custody {custody.mode} is already registered")
        self._types[custody.mode] = custody

    def unregister(self, mode: CustodyMode) -> None:
        self._types.pop(mode, None)

    @contextmanager
    def registered(self, custody: CustodyType) -> Iterator[CustodyType]:
        """`custody` is registered inside the block (tests)."""
        self.register(custody)
        try:
            yield custody
        finally:
            self.unregister(custody.mode)

    def get(self, mode: CustodyMode | str) -> CustodyType:
        self._load()
        try:
            return self._types[CustodyMode(mode)]
        except (KeyError, ValueError):
            raise LookupError(f"no custody {mode!s} registered; one of: {', '.join(self.names())}") from None

    def __contains__(self, mode: object) -> bool:
        self._load()
        return isinstance(mode, str) and mode in {str(m) for m in self._types}

    def names(self) -> list[str]:
        self._load()
        return [str(mode) for mode in self._types]

    def __iter__(self) -> Iterator[CustodyType]:
        self._load()
        return iter(list(self._types.values()))

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for custody in _builtin():
                self._types.setdefault(custody.mode, custody)


def _builtin() -> list[CustodyType]:
    """The custody types every process has; imported here, at first use (their modules import the
    run file and provisioning types, which import this registry)."""
    from polyhunter.execution.eoa_custody import EOA
    from polyhunter.execution.paper_custody import PAPER
    from polyhunter.execution.proxy_custody import PROXY

    return [PAPER, EOA, PROXY]


CUSTODY = CustodyRegistry()
