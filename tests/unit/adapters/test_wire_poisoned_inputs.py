"""The reproductions of issue 13 item 1: a poisoned RTDS frame, Data API row or chain log is counted by
reason and dropped, never a signal, never an exception out of the source."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode as eth_encode
from prometheus_client import generate_latest

from polyhunter.adapters.chain.exchange_events import LogDecodeError, decode_order_filled
from polyhunter.adapters.polymarket.parse_signals import (
    LegOrdinals,
    check_activity_row,
    signal_from_rtds_frame,
    signals_from_activity,
)
from polyhunter.adapters.polymarket.row_quarantine import RowQuarantine
from polyhunter.adapters.polymarket.wire_data_api import decode_activity
from polyhunter.adapters.polymarket.wire_rtds import decode_activity_frame
from polyhunter.adapters.polymarket.wire_validation import (
    InvalidMessage,
)
from polyhunter.ingest import metrics as metrics_module
from polyhunter.ingest.chain_fills import decode_leader_logs, fills_to_signals
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.metrics import IngestMetrics, RejectCounter
from polyhunter.ingest.mux import SignalMux
from tests.support.wire_samples import (
    CONDITION,
    LEADER,
    NOW_S,
    SEEN,
    TOKEN,
    TX,
    YEAR_3000,
    rtds_frame,
    rtds_payload,
)

# -- RTDS frames through the push fast path ------------------------------------------------------


def payload(**over: Any) -> dict[str, Any]:
    return rtds_payload(**over)


def frame(**over: Any) -> bytes:
    return json.dumps(rtds_frame(payload(**over)), sort_keys=True, separators=(",", ":")).encode()


class GatedFilter(FrameFilter):
    """The frame filter gating through a mux (its ``SignalSink``), whose metrics the tests read."""

    def __init__(self, mux: SignalMux) -> None:
        super().__init__([LEADER], mux, mux.metrics)
        self._mux = mux


def make_filter() -> GatedFilter:
    return GatedFilter(SignalMux("HYBRID", DedupSet(ttl_s=3_600), IngestMetrics(), max_signal_age_s=900))


POISONED_FRAMES: list[tuple[bytes, str]] = [
    (frame(size="NaN"), "size_not_finite"),
    (frame(size="Infinity"), "size_not_finite"),
    (frame(timestamp=10**20), "timestamp_out_of_window"),
    (frame().replace(f'"timestamp":{NOW_S - 2}'.encode(), b'"timestamp":1e20'), "schema"),
    (frame(size=-10), "size_out_of_range"),
    (frame(size=1e15), "size_out_of_range"),
    (frame(timestamp=YEAR_3000), "timestamp_out_of_window"),
    (frame(transactionHash="0x1"), "bad_tx_hash"),
    (frame(price=-0.5), "price_out_of_range"),
    (frame(price=0), "price_out_of_range"),
    (frame(price=1.5), "price_out_of_range"),
    (frame(conditionId="0xnope"), "bad_condition_id"),
    (frame(asset="abc"), "bad_token_id"),
    (frame(slug="s" * 300), "text_too_long"),
]


@pytest.mark.parametrize(("raw", "reason"), POISONED_FRAMES)
def test_a_poisoned_frame_of_a_followed_leader_is_counted_and_dropped(raw: bytes, reason: str) -> None:
    f = make_filter()
    assert f(raw, SEEN) == []
    rejects = f._mux.metrics.rejected("ws")
    assert rejects.by_reason == {reason: 1}
    # the stream goes on: the next good frame of the leader is a signal
    (signal,) = f(frame(transactionHash="0x" + "01" * 32), SEEN)
    assert signal.leader == LEADER.lower()
    assert signal.size == Decimal(10)


@pytest.mark.parametrize(("raw", "reason"), [(r, why) for r, why in POISONED_FRAMES if why != "schema"])
def test_the_rtds_parse_raises_only_invalid_message(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        signal_from_rtds_frame(decode_activity_frame(raw), SEEN, LegOrdinals())
    assert caught.value.reason == reason


def test_a_rejected_frame_does_not_use_up_an_ordinal() -> None:
    ordinals = LegOrdinals()
    with pytest.raises(InvalidMessage):
        signal_from_rtds_frame(decode_activity_frame(frame(price=1.5)), SEEN, ordinals)
    assert len(ordinals) == 0


def test_rejects_are_exported_per_source_and_reason() -> None:
    f = make_filter()
    for raw, _ in POISONED_FRAMES[:3]:
        f(raw, SEEN)
    text = generate_latest(f._mux.metrics.registry).decode()
    assert 'polyhunter_ingest_rejected_total{reason="size_not_finite",source="ws"} 2.0' in text
    assert 'polyhunter_ingest_rejected_total{reason="timestamp_out_of_window",source="ws"} 1.0' in text


def test_rejects_are_logged_once_per_reason_then_at_most_once_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[dict[str, Any]] = []

    class Recorder:
        def warning(self, event: str, **fields: Any) -> None:
            lines.append({"event": event, **fields})

    monkeypatch.setattr(metrics_module, "log", Recorder())
    now = [0.0]
    counter = RejectCounter("ws", log_every_s=60, clock=lambda: now[0])
    for _ in range(1_000):
        counter.reject("size_not_finite", "NaN")
    counter.reject("bad_tx_hash", "0x1")
    now[0] = 61.0
    counter.reject("size_not_finite", "NaN")
    assert counter.by_reason == {"size_not_finite": 1_001, "bad_tx_hash": 1}
    assert [(line["reason"], line["suppressed_since_last"]) for line in lines] == [
        ("size_not_finite", 0),
        ("bad_tx_hash", 0),
        ("size_not_finite", 999),
    ]


# -- Data API rows -------------------------------------------------------------------------------


def activity(**over: Any) -> dict[str, Any]:
    row = {
        "proxyWallet": LEADER.lower(),
        "timestamp": NOW_S - 5,
        "conditionId": CONDITION,
        "type": "TRADE",
        "size": 12.5,
        "usdcSize": 6.25,
        "transactionHash": TX,
        "price": 0.5,
        "asset": TOKEN,
        "side": "BUY",
        "outcomeIndex": 0,
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"size": 1e15}, "size_out_of_range"),
        ({"size": "NaN"}, "size_not_finite"),
        ({"price": 0}, "price_out_of_range"),
        ({"timestamp": YEAR_3000}, "timestamp_out_of_window"),
        ({"transactionHash": "0x1"}, "bad_tx_hash"),
        ({"side": ""}, "bad_side"),
    ],
)
def test_an_invalid_activity_row_is_set_aside_with_its_reason(over: dict[str, Any], reason: str) -> None:
    good, bad = activity(transactionHash="0x" + "01" * 32), activity(**over)
    rows = decode_activity(json.dumps([good, bad, good | {"transactionHash": "0x" + "02" * 32}]))
    with pytest.raises(InvalidMessage) as caught:
        check_activity_row(rows[1], SEEN)
    assert caught.value.reason == reason
    quarantine = RowQuarantine()
    kept, rejected = quarantine.split(rows, SEEN)
    assert len(signals_from_activity(kept, SEEN)) == 2
    (row,) = rejected
    assert row.reason == reason
    assert row.key.startswith("rejected:")
    assert row.repeat is False
    # a row whose own time is out of the window must not carry a cursor there
    assert row.ts_s == (None if reason == "timestamp_out_of_window" else NOW_S - 5)
    _, again = quarantine.split(rows, SEEN)
    assert again[0].repeat is True


def test_non_trade_activity_is_not_checked() -> None:
    (row,) = decode_activity(json.dumps([activity(type="REDEEM", side="", asset="", price=0, size=0)]))
    assert check_activity_row(row, SEEN) is None


# -- chain logs ----------------------------------------------------------------------------------

V2_ORDER_FILLED = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
EXCHANGE = "0xe111180000d2663c0091e4f400237545b87b996b"
CHAIN_LEADER = "0x" + "1e" * 20


def v2_log(
    making: int, taking: int, side: int = 0, token: int = int(TOKEN), **extra: object
) -> dict[str, object]:
    data = eth_encode(
        ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
        [side, token, making, taking, 0, b"\x01" * 32, b"\x02" * 32],
    )
    log: dict[str, object] = {
        "address": EXCHANGE,
        "topics": [V2_ORDER_FILLED, "0x" + "0c" * 32, "0x" + "00" * 12 + CHAIN_LEADER[2:], "0x" + "00" * 32],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "bb" * 32,
        "transactionHash": TX,
        "logIndex": "0x3",
        "removed": False,
    }
    log.update(extra)
    return log


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (v2_log(5_000_000, 0), "size_out_of_range"),  # BUY: shares = taking
        (v2_log(0, 10_000_000), "price_out_of_range"),
        (v2_log(10_000_000, 10_000_000), "price_out_of_range"),  # price 1
        (v2_log(20_000_000, 10_000_000), "price_out_of_range"),  # price 2
        (v2_log(1, 10**16), "size_out_of_range"),  # 1e10 shares
        (v2_log(5_000_000, 10_000_000, token=0), "bad_token_id"),
        (v2_log(5_000_000, 10_000_000, transactionHash="0x1"), "bad_tx_hash"),
        (v2_log(5_000_000, 10_000_000, blockHash=None), "bad_tx_hash"),
        (v2_log(5_000_000, 10_000_000, address="0xexchange"), "bad_address"),
        (v2_log(5_000_000, 10_000_000, blockNumber="0xzz"), "log_layout"),
        (v2_log(5_000_000, 10_000_000, logIndex=-1), "log_layout"),
        (v2_log(5_000_000, 10_000_000, topics=[V2_ORDER_FILLED, 1, 2, 3]), "log_layout"),
    ],
)
def test_an_invalid_order_filled_log_is_rejected_with_its_reason(log: dict[str, object], reason: str) -> None:
    with pytest.raises(LogDecodeError) as caught:
        decode_order_filled(log)
    assert isinstance(caught.value, InvalidMessage)
    assert caught.value.reason == reason
    seen: list[str] = []
    fills, errors = decode_leader_logs(
        [log, v2_log(5_000_000, 10_000_000)],
        frozenset({CHAIN_LEADER}),
        lambda exc, _: seen.append(exc.reason),
    )
    assert (len(fills), errors, seen) == (1, 1, [reason])


@pytest.mark.parametrize("stamp", [hex(YEAR_3000), "0xzz", hex(10**30)])
def test_a_fill_in_a_block_from_the_future_or_unreadable_time_is_dropped(stamp: str) -> None:
    fill = decode_order_filled(v2_log(5_000_000, 10_000_000))
    seen: list[str] = []
    headers = {16: {"number": "0x10", "hash": "0x" + "bb" * 32, "timestamp": stamp}}
    assert fills_to_signals([fill], headers, SEEN, on_reject=lambda exc, _: seen.append(exc.reason)) == []
    assert seen == ["timestamp_out_of_window"]
    good = {16: {"number": "0x10", "hash": "0x" + "bb" * 32, "timestamp": hex(NOW_S - 10)}}
    (item,) = fills_to_signals([fill], good, SEEN)
    assert item.signal.price == Decimal("0.5")
