"""The Gnosis ConditionalTokens calls a wallet and the simulator make: positions' balances, preparing and
resolving a condition, splitting collateral and redeeming a resolved condition's positions, and the
``PayoutRedemption`` log that says what a redemption paid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from polyhunter.adapters.chain.abi import decode, encode_call, event_topic, hex_to_bytes, topic_to_address
from polyhunter.adapters.chain.rpc import JsonRpcClient

ZERO_COLLECTION = "0x" + "00" * 32
BINARY_INDEX_SETS = (1, 2)
PAYOUT_REDEMPTION = event_topic("PayoutRedemption(address,address,bytes32,bytes32,uint256[],uint256)")


def prepare_condition_call(oracle: str, question_id: str, outcome_slots: int = 2) -> bytes:
    return encode_call("prepareCondition(address,bytes32,uint256)", [oracle, question_id, outcome_slots])


def report_payouts_call(question_id: str, payouts: Sequence[int]) -> bytes:
    return encode_call("reportPayouts(bytes32,uint256[])", [question_id, list(payouts)])


def redeem_positions_call(
    collateral: str, condition_id: str, index_sets: Sequence[int] = BINARY_INDEX_SETS
) -> bytes:
    return encode_call(
        "redeemPositions(address,bytes32,bytes32,uint256[])",
        [collateral, ZERO_COLLECTION, condition_id, list(index_sets)],
    )


async def read_position(rpc: JsonRpcClient, ctf: str, owner: str, position_id: int | str) -> int:
    raw = await rpc.call_contract(ctf, encode_call("balanceOf(address,uint256)", [owner, int(position_id)]))
    if not raw:
        raise ValueError(f"no contract at {ctf} (empty answer)")
    (value,) = decode(["uint256"], raw)
    assert isinstance(value, int)
    return value


def redemption_payout(receipt: Mapping[str, object], ctf: str, redeemer: str) -> int | None:
    """The payout of ``redeemer``'s ``PayoutRedemption`` in ``receipt`` (None when it has none)."""
    logs = receipt.get("logs")
    for entry in logs if isinstance(logs, list) else []:
        if not isinstance(entry, dict) or str(entry.get("address", "")).lower() != ctf.lower():
            continue
        topics = entry.get("topics") or []
        if len(topics) < 2 or str(topics[0]).lower() != PAYOUT_REDEMPTION:
            continue
        if topic_to_address(str(topics[1])).lower() != redeemer.lower():
            continue
        _, _, payout = decode(["bytes32", "uint256[]", "uint256"], hex_to_bytes(str(entry.get("data", "0x"))))
        assert isinstance(payout, int)
        return payout
    return None
