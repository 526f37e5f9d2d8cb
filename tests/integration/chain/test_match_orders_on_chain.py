"""The mirror's matchOrders (V1 and V2 shapes) on anvil: the OrderFilled logs the contract emits carry exactly
the fills the mempool decoder computes from the pending transaction's calldata (surplus, MINT, MERGE)."""

from __future__ import annotations

import pytest

from polyhunter.adapters.chain.exchange_events import ORDER_FILLED_TOPICS, decode_order_filled
from polyhunter.adapters.chain.match_orders import decode_match_orders
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.domain.signal import Side
from polyhunter.sim.chain_mirror import ChainMirror, MirrorLeg, MirrorMatch

pytestmark = pytest.mark.integration

TAKER = "0x" + "1e" * 20
MAKERS = ["0x" + f"{n:02x}" * 20 for n in (0xA1, 0xA2)]
YES, NO = 1111, 2222


def _hash(n: int) -> str:
    return "0x" + f"{n:064x}"


MATCHES = [
    # taker BUYs 10 YES for 6 USDC; two makers SELL 5 each at 0.55 (the taker's surplus: it gets all 10)
    MirrorMatch(
        _hash(1),
        TAKER,
        Side.BUY,
        YES,
        5_500_000,
        9_000_000,
        [
            MirrorLeg(_hash(2), MAKERS[0], Side.SELL, YES, 5_000_000, 2_750_000),
            MirrorLeg(_hash(3), MAKERS[1], Side.SELL, YES, 5_000_000, 2_750_000),
        ],
    ),
    # MINT: taker BUYs 4 YES, the maker BUYs 4 NO
    MirrorMatch(
        _hash(4),
        TAKER,
        Side.BUY,
        YES,
        2_400_000,
        4_000_000,
        [MirrorLeg(_hash(5), MAKERS[0], Side.BUY, NO, 1_600_000, 4_000_000)],
    ),
    # MERGE: taker SELLs 3 YES, the maker SELLs 3 NO for 1.2 USDC: 1.8 left for the taker
    MirrorMatch(
        _hash(6),
        TAKER,
        Side.SELL,
        YES,
        3_000_000,
        1_500_000,
        [MirrorLeg(_hash(7), MAKERS[1], Side.SELL, NO, 3_000_000, 1_200_000)],
    ),
]


@pytest.mark.parametrize("layout", [2, 1])
async def test_logs_are_what_the_calldata_says(anvil_url: str, rpc: JsonRpcClient, layout: int) -> None:
    mirror = ChainMirror(anvil_url, layout=layout)  # type: ignore[arg-type]
    await mirror.start()
    try:
        hashes = [await mirror.emit_match(m) for m in MATCHES]
        await mirror.drain()
        for tx_hash in hashes:
            tx = await rpc.call("eth_getTransactionByHash", [tx_hash])
            pending = decode_match_orders(str(tx["input"]))
            receipt = await rpc.get_transaction_receipt(tx_hash)
            assert receipt is not None
            logs = [decode_order_filled(e) for e in receipt["logs"] if e["topics"][0] in ORDER_FILLED_TOPICS]
            assert {log.version for log in logs} == {layout}
            assert [(f.maker, f.side, f.token_id, f.shares_micro, f.usdc_micro) for f in pending] == [
                (log.maker, log.side, log.token_id, log.shares_micro, log.usdc_micro) for log in logs
            ]
            assert [f.taker_leg for f in pending] == [log.is_taker_leg for log in logs]
        takers = []
        for tx_hash in hashes:
            tx = await rpc.call("eth_getTransactionByHash", [tx_hash])
            takers.append(decode_match_orders(str(tx["input"]))[-1])
        surplus, mint, merge = takers
        assert (surplus.shares_micro, mint.shares_micro, merge.usdc_micro) == (
            10_000_000,
            4_000_000,
            1_800_000,
        )
    finally:
        await mirror.close()
