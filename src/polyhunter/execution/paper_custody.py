"""PAPER custody: a simulated account per follower (`PaperExecutor`), persisted across restarts by the
paper journal; no key, nothing reaches the venue."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from polyhunter.domain.copy_config import CustodyMode
from polyhunter.execution.paper import PaperAccount, PaperExecutor
from polyhunter.execution.registry import BuildContext, CustodyType, NewWallet, ValueContext
from polyhunter.log import get_logger
from polyhunter.ports.venue import Executor
from polyhunter.runtime.paper_journal import PaperJournal
from polyhunter.store.enums import WalletKind

if TYPE_CHECKING:
    from polyhunter.runtime.provision import Provisioned
    from polyhunter.runtime.run_file import FollowerSpec

log = get_logger(__name__)


def paper_address(name: str) -> str:
    return "0x" + hashlib.sha256(f"polyhunter-paper:{name}".encode()).hexdigest()[:40]


def _paper(executor: Executor) -> PaperExecutor:
    assert isinstance(executor, PaperExecutor)
    return executor


def _check(_spec: FollowerSpec) -> list[tuple[str, str]]:
    return []


def _wallet(spec: FollowerSpec) -> NewWallet:
    return NewWallet(paper_address(spec.name), WalletKind.PAPER)


async def _build(ctx: BuildContext, followers: Sequence[Provisioned]) -> Executor:
    journal = PaperJournal(ctx.sessions, ctx.wallet_of_user)  # paper accounts survive a restart
    restored = await journal.restore()
    paper = PaperExecutor(ctx.book, on_change=journal.save, remember_s=ctx.remember_s, fee_rate=ctx.fee_rate)
    for f in followers:
        cash = f.spec.starting_cash_usdc
        paper.accounts[f.user_id] = restored.get(f.user_id) or PaperAccount(cash, cash)
    return paper


async def _add(_ctx: BuildContext, executor: Executor, f: Provisioned) -> None:
    cash = f.spec.starting_cash_usdc
    _paper(executor).accounts.setdefault(f.user_id, PaperAccount(cash, cash))


async def _reload(ctx: BuildContext, executor: Executor, users: list[int]) -> None:
    """A partition taken over: its followers' accounts as the store has them (the last owner's fills
    were written there before their copies ended); an account never written keeps its starting cash."""
    restored = await PaperJournal(ctx.sessions, ctx.wallet_of_user).restore(users)
    accounts = _paper(executor).accounts
    for user_id, account in restored.items():
        accounts[user_id] = account


async def _positions_value(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """Each paper position at the current book's midpoint (the engine's quote cache), or at its
    average price when the book cannot be read or is one-sided."""
    total = Decimal(0)
    for token, pos in list(_paper(executor).account(user_id).positions.items()):
        mark = pos.avg_price
        try:
            mid = (await ctx.book(token)).midpoint
        except Exception as exc:  # noqa: BLE001 - an unreadable book marks at cost
            log.warning(
                "no book to mark a paper position; using its average price", token=token, error=str(exc)
            )
            mid = None
        if mid is not None:
            mark = mid
        total += pos.shares * mark
    return total


async def _equity(executor: Executor, ctx: ValueContext, user_id: int) -> Decimal:
    """Cash plus each position at the venue's current midpoint (at cost without one)."""
    account = _paper(executor).account(user_id)
    marks = {}
    for token in list(account.positions):
        mid = await ctx.midpoint(token)
        if mid is not None:
            marks[token] = mid
    return account.equity(marks)


PAPER = CustodyType(
    mode=CustodyMode.PAPER,
    wallet_kind=WalletKind.PAPER,
    accepts=frozenset({"starting_cash_usdc"}),
    requires=frozenset(),
    check=_check,
    wallet=_wallet,
    build=_build,
    positions_value=_positions_value,
    equity=_equity,
    label="paper",
    add=_add,
    reload=_reload,
)
