"""What `wallet setup` plans from a wallet's chain state: the wrap only with USDC.e, an approval only
where one is short, nothing at all for a wallet already set up (so a rerun sends nothing)."""

from __future__ import annotations

from polyhunter.adapters.chain.abi import decode
from polyhunter.adapters.chain.wallet_contracts import MAX_UINT256, WalletContracts
from polyhunter.onboarding.wallet_plan import UNLIMITED, WalletChainState, gas_budget, plan_setup, usdc

SPENDERS = (
    "0xE111180000d2663C0091e4f400237545B87B996B",
    "0xe2222d279d744050d28e00520010520000310F59",
    "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
)
CONTRACTS = WalletContracts(
    collateral="0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB",
    bridged_usdc="0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174",
    onramp="0x93070a847efEf7F70739046A929D47a521F5B8ee",
    conditional_tokens="0x4D97DCd97eC945f40cF65F87097ACe5EA0476045",
    spenders=SPENDERS,
)
WALLET = "0x" + "12" * 20


def state(*, usdce: int = 0, onramp: int = 0, allowance: int = 0, approved: bool = False) -> WalletChainState:
    return WalletChainState(
        WALLET,
        10**18,
        usdce,
        0,
        onramp,
        dict.fromkeys(SPENDERS, allowance),
        dict.fromkeys(SPENDERS, approved),
    )


def test_a_new_wallet_with_usdce_needs_the_wrap_and_every_approval() -> None:
    txs = plan_setup(state(usdce=40_000_000), CONTRACTS)
    assert [t.kind for t in txs] == ["approve", "wrap", *["approve"] * 3, *["approval_for_all"] * 3]
    assert txs[0].to == CONTRACTS.bridged_usdc
    assert decode(["address", "uint256"], txs[0].data[4:]) == (CONTRACTS.onramp.lower(), 40_000_000)
    assert txs[1].to == CONTRACTS.onramp
    wrapped = decode(["address", "address", "uint256"], txs[1].data[4:])
    assert wrapped == (CONTRACTS.bridged_usdc.lower(), WALLET, 40_000_000)
    assert {t.to for t in txs[2:5]} == {CONTRACTS.collateral}
    assert [decode(["address", "uint256"], t.data[4:]) for t in txs[2:5]] == [
        (s.lower(), MAX_UINT256) for s in SPENDERS
    ]
    assert [decode(["address", "bool"], t.data[4:]) for t in txs[5:]] == [(s.lower(), True) for s in SPENDERS]
    assert gas_budget(txs) == 80_000 * 7 + 200_000


def test_a_set_up_wallet_needs_nothing() -> None:
    assert plan_setup(state(allowance=MAX_UINT256, approved=True), CONTRACTS) == []
    assert plan_setup(state(allowance=UNLIMITED, approved=True), CONTRACTS) == []


def test_only_what_is_missing() -> None:
    partly = state(usdce=5_000_000, onramp=5_000_000, allowance=MAX_UINT256)
    assert [t.kind for t in plan_setup(partly, CONTRACTS)] == ["wrap", *["approval_for_all"] * 3]
    assert [t.kind for t in plan_setup(partly, CONTRACTS, wrap=False)] == ["approval_for_all"] * 3


def test_a_limited_allowance_target() -> None:
    low = state(allowance=10_000_000, approved=True)
    assert plan_setup(low, CONTRACTS, allowance=10_000_000) == []
    txs = plan_setup(low, CONTRACTS, allowance=20_000_000)
    assert [decode(["address", "uint256"], t.data[4:])[1] for t in txs] == [20_000_000] * 3
    assert "approve 20 pUSD" in txs[0].what


def test_amounts_read_as_usdc() -> None:
    assert usdc(40_000_000) == "40"
    assert usdc(1_500_000) == "1.5"
    assert usdc(MAX_UINT256) == "unlimited"
