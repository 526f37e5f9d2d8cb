"""FillMirror call data for a simulator match, decoded with eth_abi."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode as eth_decode

from polyhunter.adapters.chain.abi import function_selector
from polyhunter.domain.signal import Side
from polyhunter.sim.chain_mirror import MirrorLeg, MirrorMatch, encode_match

TOKEN = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
TAKER = "0x" + "0a" * 20
MAKER = "0x" + "0b" * 20
H1, H2 = "0x" + "01" * 32, "0x" + "02" * 32
LEG_V2 = "(bytes32,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
LEG_V1 = "(bytes32,address,uint256,uint256,uint256,uint256,uint256)"

MATCH = MirrorMatch(
    taker_order_hash=H1,
    taker=TAKER,
    taker_side=Side.SELL,
    token_id=TOKEN,
    taker_maker_amount_filled=2_000_000,
    taker_taker_amount_filled=1_100_000,
    maker_legs=[MirrorLeg(H2, MAKER, Side.BUY, TOKEN, 1_100_000, 2_000_000, fee=3)],
    taker_fee=9,
)


def test_v2_call_data() -> None:
    data = encode_match(MATCH, 2)
    assert data[:4] == function_selector(f"matchV2({LEG_V2}[],{LEG_V2})")
    makers, taker = eth_decode([f"{LEG_V2}[]", LEG_V2], data[4:])
    zero = b"\0" * 32
    assert makers == ((bytes.fromhex(H2[2:]), MAKER, 0, int(TOKEN), 1_100_000, 2_000_000, 3, zero, zero),)
    assert taker == (bytes.fromhex(H1[2:]), TAKER, 1, int(TOKEN), 2_000_000, 1_100_000, 9, zero, zero)


def test_v1_call_data_maps_sides_to_asset_ids() -> None:
    data = encode_match(MATCH, 1)
    assert data[:4] == function_selector(f"matchV1({LEG_V1}[],{LEG_V1})")
    makers, taker = eth_decode([f"{LEG_V1}[]", LEG_V1], data[4:])
    assert makers[0][2:4] == (0, int(TOKEN))  # maker BUYS: gives collateral (asset 0)
    assert taker[2:4] == (int(TOKEN), 0)  # taker SELLS: gives the token


def test_malformed_match_fails_when_submitted_not_later() -> None:
    bad = MirrorMatch(H1, "0x1234", Side.BUY, TOKEN, 1, 1)
    with pytest.raises(ValueError, match="address"):
        encode_match(bad)
    negative = MirrorMatch(H1, TAKER, Side.BUY, TOKEN, -1, 1)
    with pytest.raises(ValueError, match="uint256"):
        encode_match(negative)
