"""The Gnosis ConditionalTokens' ids (``CTHelpers.sol``), so the simulator's markets in chain mode have the
ids they have on chain: a condition id is ``keccak256(oracle, questionId, outcomeSlotCount)``, a position id
(the ERC-1155 token id, the venue's ``token_id``) is ``keccak256(collateral, collectionId)``, and a
collection id is the alt_bn128 point the index set hashes to (for a top-level collection, no point addition:
only the hash-to-curve and the sign bit).

``on_chain(info, oracle, collateral)`` gives a simulator market these ids: its old condition id becomes the
question id, outcome ``i`` is index set ``1 << i``.
"""

from __future__ import annotations

from dataclasses import replace

from polyhunter.adapters.chain.abi import encode, hex_to_bytes, keccak256
from polyhunter.sim.scenario_markets import MarketInfo

_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
_B = 3


def condition_id(oracle: str, question_id: str, outcome_slots: int = 2) -> str:
    packed = hex_to_bytes(oracle) + hex_to_bytes(question_id) + outcome_slots.to_bytes(32, "big")
    return "0x" + keccak256(packed).hex()


def collection_id(condition: str, index_set: int) -> str:
    """``CTHelpers.getCollectionId(0, condition, index_set)``."""
    x = int.from_bytes(keccak256(hex_to_bytes(condition) + index_set.to_bytes(32, "big")), "big")
    odd = x >> 255 != 0
    while True:
        x = (x + 1) % _P
        yy = (x * x % _P * x + _B) % _P
        y = pow(yy, (_P + 1) // 4, _P)  # P = 3 mod 4: the square root when one exists
        if y * y % _P == yy:
            break
    if (odd and y % 2 == 0) or (not odd and y % 2 == 1):
        y = _P - y
    if y % 2 == 1:
        x ^= 1 << 254
    return "0x" + x.to_bytes(32, "big").hex()


def position_id(collateral: str, collection: str) -> int:
    return int.from_bytes(keccak256(hex_to_bytes(collateral) + hex_to_bytes(collection)), "big")


def question_id_of(old_condition_id: str) -> str:
    """The simulator's own condition id (32 bytes) as the question id; any other text is hashed."""
    raw = old_condition_id.lower()
    if raw.startswith("0x") and len(raw) == 66:
        return raw
    return "0x" + keccak256(encode(["string"], [old_condition_id])).hex()


def on_chain(info: MarketInfo, oracle: str, collateral: str) -> MarketInfo:
    """``info`` with the condition and position ids the ConditionalTokens give it."""
    cid = condition_id(oracle, question_id_of(info.condition_id))
    tokens = (
        str(position_id(collateral, collection_id(cid, 1))),
        str(position_id(collateral, collection_id(cid, 2))),
    )
    return replace(info, market=replace(info.market, condition_id=cid, tokens=tokens))
