"""Preflight funds from /balance-allowance: balance and the allowance of the exchange an order settles
through (the neg-risk exchange for neg-risk markets)."""

from __future__ import annotations

from decimal import Decimal

from polyhunter.adapters.polymarket.wire_clob_rest import BalanceAllowance
from polyhunter.domain.orders import Funds
from polyhunter.execution.eoa import EoaExecutor

CTF = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK = "0xe2222d279d744050d28e00520010520000310F59"


def test_each_exchange_gets_its_own_allowance() -> None:
    executor = EoaExecutor({}, chain_id=137)
    ba = BalanceAllowance(balance="50000000", allowances={CTF.lower(): "0", NEG_RISK: "7500000"})
    funds = executor._funds(ba)  # noqa: SLF001 - the wire-to-funds mapping itself
    assert funds == Funds(Decimal(50), Decimal(0), Decimal("7.5"))
    assert funds.spendable(neg_risk=False) == 0
    assert funds.spendable(neg_risk=True) == Decimal("7.5")


def test_unreported_allowance_is_not_zero() -> None:
    executor = EoaExecutor({}, chain_id=137)
    funds = executor._funds(BalanceAllowance(balance="1000000"))  # noqa: SLF001
    assert funds == Funds(Decimal(1), None, None)
    assert funds.spendable(neg_risk=True) == 1
    single = executor._funds(BalanceAllowance(balance="1000000", allowance="500000"))  # noqa: SLF001
    assert single.allowance_for(False) == single.allowance_for(True) == Decimal("0.5")
