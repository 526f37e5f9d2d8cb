"""The PAPER executor on its own: fills against the book it is given, moves the paper account, sends
nothing, and remembers results for reconcile."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyhunter.adapters.polymarket.order_errors import FAK_NO_MATCH, FOK_KILLED, NO_BALANCE
from polyhunter.domain.book_math import BookSide, Level
from polyhunter.domain.orders import ExecStatus, OrderBook, OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.execution.paper import PaperAccount, PaperExecutor

TOKEN = "77"
BOOK = OrderBook(
    TOKEN,
    bids=BookSide((Level(Decimal("0.48"), Decimal(10)), Level(Decimal("0.47"), Decimal(20)))),
    asks=BookSide((Level(Decimal("0.50"), Decimal(10)), Level(Decimal("0.52"), Decimal(20)))),
    tick_size=Decimal("0.01"),
    min_order_size=Decimal(5),
    neg_risk=False,
    timestamp_ms=0,
)


async def _book(token_id: str) -> OrderBook:
    assert token_id == TOKEN
    return BOOK


def _request(
    side: Side, shares: str, limit: str, order_type: OrderType = OrderType.FOK, n: int = 1
) -> OrderRequest:
    return OrderRequest(
        copy_trade_id=n,
        signal_key=f"k{n}",
        config_id=1,
        user_id=7,
        token_id=TOKEN,
        condition_id="0xc",
        side=side,
        shares=Decimal(shares),
        limit_price=Decimal(limit),
        reference_price=Decimal("0.50"),
        tick_size=Decimal("0.01"),
        neg_risk=False,
        order_type=order_type,
        client_id=f"k{n}:1",
    )


async def test_buy_walks_the_book_and_moves_the_account() -> None:
    paper = PaperExecutor(_book, Decimal(100))
    result = await paper.execute(_request(Side.BUY, "15", "0.52"))
    assert (result.status, result.filled_shares) == (ExecStatus.FILLED, Decimal(15))
    assert result.avg_price == (Decimal(10) * Decimal("0.50") + Decimal(5) * Decimal("0.52")) / 15
    acct = paper.account(7)
    assert acct.cash == Decimal(100) - Decimal("7.60")
    assert (acct.positions[TOKEN].shares, acct.positions[TOKEN].cost) == (Decimal(15), Decimal("7.60"))
    assert (await paper.collateral(7)).balance == acct.cash
    assert (await paper.shares(7, TOKEN)).balance == 15
    assert (await paper.collateral(7)).allowance is None  # paper money needs no approval


async def test_fok_is_killed_and_fak_fills_what_the_limit_allows() -> None:
    paper = PaperExecutor(_book, Decimal(100))
    killed = await paper.execute(_request(Side.BUY, "15", "0.50"))
    assert (killed.status, killed.error) == (ExecStatus.KILLED, FOK_KILLED)
    assert paper.account(7).cash == 100
    partial = await paper.execute(_request(Side.BUY, "15", "0.50", OrderType.FAK, n=2))
    assert (partial.status, partial.filled_shares, partial.avg_price) == (
        ExecStatus.PARTIAL,
        Decimal(10),
        Decimal("0.50"),
    )
    none = await paper.execute(_request(Side.BUY, "15", "0.49", OrderType.FAK, n=3))
    assert (none.status, none.error) == (ExecStatus.KILLED, FAK_NO_MATCH)


async def test_sell_realizes_pnl_and_closes_the_position() -> None:
    paper = PaperExecutor(_book, Decimal(100))
    await paper.execute(_request(Side.BUY, "10", "0.50"))
    sold = await paper.execute(_request(Side.SELL, "10", "0.48", n=2))
    assert (sold.status, sold.avg_price) == (ExecStatus.FILLED, Decimal("0.48"))
    acct = paper.account(7)
    assert TOKEN not in acct.positions
    assert acct.realized_pnl == Decimal("-0.20")
    assert acct.cash == Decimal("99.80")
    assert acct.equity({}) == Decimal("99.80")


async def test_no_balance_and_nothing_to_sell_are_refused() -> None:
    paper = PaperExecutor(_book, Decimal(1))
    poor = await paper.execute(_request(Side.BUY, "10", "0.50"))
    assert (poor.status, poor.error) == (ExecStatus.REJECTED, NO_BALANCE)
    empty = await paper.execute(_request(Side.SELL, "1", "0.48", n=2))
    assert (empty.status, empty.error) == (ExecStatus.REJECTED, NO_BALANCE)
    assert paper.account(7).cash == 1


async def test_reconcile_finds_the_result_by_client_id_and_on_change_sees_fills() -> None:
    seen: list[tuple[int, Decimal, str]] = []

    async def on_change(user_id: int, account: PaperAccount, token: str) -> None:
        seen.append((user_id, account.cash, token))

    paper = PaperExecutor(_book, Decimal(100), on_change=on_change)
    request = _request(Side.BUY, "4", "0.50")
    result = await paper.execute(request)
    assert await paper.reconcile(request) == result
    assert await paper.reconcile(_request(Side.BUY, "4", "0.50", n=9)) is None  # never executed
    await paper.execute(_request(Side.BUY, "15", "0.50", n=2))  # killed: no change to report
    assert seen == [(7, Decimal(98), TOKEN)]
    assert result.venue_order_id.startswith("0x")


@pytest.mark.parametrize("marks", [{}, {TOKEN: Decimal("0.60")}])
async def test_equity_marks_positions(marks: dict[str, Decimal]) -> None:
    paper = PaperExecutor(_book, Decimal(100))
    await paper.execute(_request(Side.BUY, "10", "0.50"))
    mark = marks.get(TOKEN, Decimal("0.50"))  # unmarked: at cost
    assert paper.account(7).equity(marks) == Decimal(95) + 10 * mark


async def _fee_4pct(token_id: str) -> Decimal:
    return Decimal("0.04")


async def test_paper_fill_pays_the_venues_fee_per_level() -> None:
    """15 shares: 10 at 0.50 and 5 at 0.52. Fee = 0.04 * (10 * 0.5 * 0.5 + 5 * 0.52 * 0.48) = 0.14992."""
    paper = PaperExecutor(_book, Decimal(100), fee_rate=_fee_4pct)
    result = await paper.execute(_request(Side.BUY, "15", "0.52"))
    assert result.fee == Decimal("0.14992")
    assert result.amount == Decimal("7.60")
    acct = paper.account(7)
    assert acct.cash == Decimal(100) - Decimal("7.60") - Decimal("0.14992")
    assert acct.positions[TOKEN].cost == Decimal("7.60")  # the fee is not cost: it is realized at once
    assert acct.realized_pnl == Decimal("-0.14992")
    sold = await paper.execute(_request(Side.SELL, "10", "0.48", n=2))
    assert sold.fee == Decimal("0.09984")  # 10 * 0.04 * 0.48 * 0.52
    assert acct.cash == Decimal(100) - Decimal("7.60") - Decimal("0.14992") + Decimal("4.80") - Decimal(
        "0.09984"
    )


async def test_paper_buy_with_its_fee_over_the_cash_is_refused() -> None:
    paper = PaperExecutor(_book, Decimal("5.00"), fee_rate=_fee_4pct)  # 10 shares cost 5.00 + 0.1 fee
    result = await paper.execute(_request(Side.BUY, "10", "0.50"))
    assert (result.status, result.error) == (ExecStatus.REJECTED, NO_BALANCE)
    assert paper.account(7).positions == {}
    assert paper.account(7).cash == Decimal("5.00")


async def test_paper_redeem_pays_winning_shares_once() -> None:
    saved: list[str] = []

    async def on_change(user_id: int, account: PaperAccount, token: str) -> None:
        saved.append(token)

    paper = PaperExecutor(_book, Decimal(100), on_change=on_change)
    await paper.execute(_request(Side.BUY, "15", "0.52"))
    assert await paper.held(7, (TOKEN, "78")) == {TOKEN: Decimal(15), "78": Decimal(0)}
    paid = await paper.redeem(7, "0xc", (TOKEN, "78"), TOKEN)
    assert paid == Decimal(15)
    acct = paper.account(7)
    assert acct.cash == Decimal(100) - Decimal("7.60") + Decimal(15)
    assert acct.realized_pnl == Decimal(15) - Decimal("7.60")
    assert acct.positions == {}
    assert saved[-1] == TOKEN  # the redemption is saved like a fill
    assert await paper.redeem(7, "0xc", (TOKEN, "78"), TOKEN) == 0  # nothing left: pays nothing
    assert await paper.redeem(8, "0xc", (TOKEN, "78"), "78") == 0  # a follower that never held it
