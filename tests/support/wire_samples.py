"""The sample values of the edge-validation tests (tests/unit/adapters/test_wire_validation.py,
test_wire_poisoned_inputs.py, test_wire_fuzz.py, the poisoned-frames service test): a fill's leader,
hashes, token, a fixed clock, and an RTDS trade frame as the venue sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW_S = 1_790_000_000
SEEN = datetime.fromtimestamp(NOW_S, UTC)
LEADER = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
TX = "0x" + "ef" * 32
CONDITION = "0x" + "cd" * 32
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
YEAR_3000 = 32_503_680_000


def rtds_payload(now_s: int = NOW_S, **over: Any) -> dict[str, Any]:
    """A followed leader's BUY of 10 shares at 0.55, two seconds before ``now_s``; ``over`` replaces fields."""
    payload: dict[str, Any] = {
        "asset": TOKEN,
        "conditionId": CONDITION,
        "outcome": "Yes",
        "outcomeIndex": 0,
        "price": 0.55,
        "proxyWallet": LEADER,
        "side": "BUY",
        "size": 10,
        "slug": "some-market",
        "timestamp": now_s - 2,
        "transactionHash": TX,
    }
    payload.update(over)
    return payload


def rtds_frame(payload: dict[str, Any], now_s: int = NOW_S) -> dict[str, Any]:
    """The RTDS ``activity`` / ``trades`` frame carrying ``payload``, sent at ``now_s``."""
    return {
        "connection_id": "c1",
        "payload": payload,
        "timestamp": now_s * 1000,
        "topic": "activity",
        "type": "trades",
    }
