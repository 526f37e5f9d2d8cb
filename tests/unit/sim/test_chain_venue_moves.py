"""What a settlement transaction does to each wallet's collateral (the chain venue's in-flight book), and the
ids a market gets on the ConditionalTokens (hand-computed cases; the chain test checks them against the
contract)."""

from __future__ import annotations

from datetime import UTC, datetime

from polyhunter.domain.signal import Side
from polyhunter.sim.chain_mirror import MirrorLeg, MirrorMatch
from polyhunter.sim.chain_tokens import PUSD
from polyhunter.sim.chain_venue import ORACLE, collateral_moves
from polyhunter.sim.ctf_ids import condition_id, on_chain, question_id_of
from polyhunter.sim.exchange import FEE_ACCOUNT
from polyhunter.sim.scenario_markets import build_catalog

TAKER, SELLER, BUYER = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20


def test_a_buy_pays_its_makers_and_its_fee() -> None:
    match = MirrorMatch(
        taker_order_hash="0x" + "01" * 32,
        taker=TAKER,
        taker_side=Side.BUY,
        token_id=7,
        taker_maker_amount_filled=5_500_000,  # 10 shares: 6 at 0.55 from a seller, 4 minted with a 0.45 buyer
        taker_taker_amount_filled=10_000_000,
        maker_legs=(
            MirrorLeg("0x" + "02" * 32, SELLER, Side.SELL, 7, 6_000_000, 3_300_000),
            MirrorLeg("0x" + "03" * 32, BUYER, Side.BUY, 8, 1_800_000, 4_000_000),
        ),
        taker_fee=123,
    )
    assert collateral_moves(match) == {
        TAKER: -5_500_123,
        SELLER: 3_300_000,
        BUYER: -1_800_000,
        FEE_ACCOUNT: 123,
    }


def test_a_sell_receives_less_its_fee_and_a_merge_pays_both_sellers() -> None:
    match = MirrorMatch(
        taker_order_hash="0x" + "01" * 32,
        taker=TAKER.upper().replace("0X", "0x"),
        taker_side=Side.SELL,
        token_id=7,
        taker_maker_amount_filled=3_000_000,
        taker_taker_amount_filled=1_200_000,
        maker_legs=(MirrorLeg("0x" + "02" * 32, SELLER, Side.SELL, 8, 3_000_000, 1_800_000),),
        taker_fee=50,
    )
    moves = collateral_moves(match)
    assert moves == {TAKER: 1_199_950, SELLER: 1_800_000, FEE_ACCOUNT: 50}
    assert moves[TAKER] + moves[SELLER] + moves[FEE_ACCOUNT] == 3_000_000, "3 full sets merged, 1 pUSD each"


def test_markets_on_chain_have_the_ctf_ids() -> None:
    info = build_catalog(3, 1, datetime(2026, 1, 1, tzinfo=UTC))[0]
    moved = on_chain(info, ORACLE, PUSD)
    question = question_id_of(info.condition_id)
    assert question == info.condition_id.lower(), "the simulator's own id is the question"
    assert moved.condition_id == condition_id(ORACLE, question, 2)
    assert moved.condition_id != info.condition_id
    assert len(set(moved.market.tokens)) == 2
    assert all(t.isdigit() and int(t) < 2**256 for t in moved.market.tokens)
    assert on_chain(info, ORACLE, PUSD) == moved, "deterministic"
