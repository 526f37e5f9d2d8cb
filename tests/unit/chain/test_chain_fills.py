"""Logs of followed leaders -> Signals: keys as signal_key computes them, ordinals, removed logs, price."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.signal import Side, SourceKind, signal_key
from polyhunter.ingest.chain_fills import decode_leader_logs, fills_to_signals
from tests.support.exchange_logs import BLOCK_HASH, EXCHANGE, LEADER, OTHER, TOKEN, TX, v1_log, v2_log

HEADERS = {16: {"number": "0x10", "hash": BLOCK_HASH, "timestamp": hex(1_780_000_000)}}
SEEN = datetime(2026, 6, 1, tzinfo=UTC)
LEADERS = frozenset({LEADER})


def test_only_followed_makers_in_chain_order() -> None:
    logs = [
        v2_log(LEADER, EXCHANGE, 0, 520_000, 1_000_000, logIndex="0x5"),
        v2_log(OTHER, LEADER, 1, 1_000_000, 520_000, logIndex="0x1"),  # leader is only the taker here
        v1_log(LEADER, OTHER, TOKEN, 0, 3_000_000, 1_500_000, logIndex="0x2"),
    ]
    fills, errors = decode_leader_logs(logs, LEADERS)
    assert errors == 0
    assert [f.log_index for f in fills] == [2, 5]


def test_signals_carry_the_independent_key_price_and_block_time() -> None:
    fills, _ = decode_leader_logs([v2_log(LEADER, EXCHANGE, 0, 520_000, 1_000_000)], LEADERS)
    [item] = fills_to_signals(fills, HEADERS, SEEN, lambda token: f"cond-{token[:4]}")
    signal = item.signal
    assert signal.key == signal_key(TX, LEADER, str(TOKEN), Side.BUY, 1_000_000, 0)
    assert (signal.side, signal.size, signal.price) == (Side.BUY, Decimal(1), Decimal("0.52"))
    assert signal.fill_time == datetime.fromtimestamp(1_780_000_000, UTC)
    assert (signal.seen_at, signal.source, signal.condition_id) == (SEEN, SourceKind.CHAIN, "cond-7132")
    assert item.taker_leg


def test_identical_legs_in_one_transaction_get_ordinals() -> None:
    logs = [
        v2_log(LEADER, OTHER, 1, 2_000_000, 900_000, logIndex="0x0"),
        v2_log(LEADER, OTHER, 1, 2_000_000, 900_000, logIndex="0x1"),
        v2_log(LEADER, OTHER, 1, 3_000_000, 1_350_000, logIndex="0x2"),
    ]
    fills, _ = decode_leader_logs(logs, LEADERS)
    keys = [i.signal.key for i in fills_to_signals(fills, HEADERS, SEEN)]
    token = str(TOKEN)
    assert keys == [
        signal_key(TX, LEADER, token, Side.SELL, 2_000_000, 0),
        signal_key(TX, LEADER, token, Side.SELL, 2_000_000, 1),
        signal_key(TX, LEADER, token, Side.SELL, 3_000_000, 0),
    ]


def test_removed_log_gets_the_key_of_its_live_twin() -> None:
    live = v2_log(LEADER, OTHER, 0, 450_000, 1_000_000)
    removed = {**live, "removed": True}
    fills, _ = decode_leader_logs([live, removed], LEADERS)
    live_item, removed_item = fills_to_signals(fills, HEADERS, SEEN)
    assert removed_item.removed
    assert live_item.signal.key == removed_item.signal.key


def test_zero_share_and_malformed_logs_are_counted_not_emitted() -> None:
    logs = [v2_log(LEADER, OTHER, 0, 0, 0), {**v2_log(LEADER, OTHER, 0, 1, 1), "data": "0x00"}]
    fills, errors = decode_leader_logs(logs, LEADERS)
    assert (fills, errors) == ([], 2)
