"""RTDS frames and Data API rows map to Signals whose keys agree across sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from polyhunter.adapters.polymarket.parse_signals import (
    LegOrdinals,
    UnknownSide,
    map_side,
    ordinal_domain,
    signal_from_rtds_frame,
    signals_from_activity,
    signals_from_data_trades,
)
from polyhunter.adapters.polymarket.wire_base import decode
from polyhunter.adapters.polymarket.wire_data_api import DataActivity, DataTrade, decode_trades
from polyhunter.adapters.polymarket.wire_rtds import RtdsActivityFrame
from polyhunter.adapters.polymarket.wire_validation import FillBounds
from polyhunter.domain.signal import Side, Signal, SourceKind, signal_key
from tests.support.paths import FIXTURES

SEEN = datetime(2026, 9, 24, 12, 0, 0, tzinfo=UTC)
# the recorded fills span 2024-2026: these tests are about keys, not about the fill-time window
ANY_TIME = FillBounds(max_age_s=10**10, max_future_s=10**10)
TX = "0x94cfdfa3bd63a11cf2fd697932ee615b6bcfb36f7ee65da9762012e88b6c5bca"


def rtds_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(
        (FIXTURES / "current-2026-09/rtds_activity_trades.json").read_bytes()
    )
    return docs


def rtds_frames(docs: list[dict[str, Any]] | None = None) -> list[RtdsActivityFrame]:
    return decode(json.dumps(docs if docs is not None else rtds_docs()), list[RtdsActivityFrame])


def signals_from_rtds_frames(frames: list[RtdsActivityFrame], seen_at: datetime) -> list[Signal]:
    """Frames as one push stream maps them (``FrameFilter`` does the same): ordinals per domain."""
    domains: dict[tuple[str, str], LegOrdinals] = {}
    return [
        signal_from_rtds_frame(f, seen_at, domains.setdefault(ordinal_domain(f), LegOrdinals()), ANY_TIME)
        for f in frames
    ]


def data_row_from_rtds(payload: dict[str, Any], price: Any) -> dict[str, Any]:
    """The same fill as the Data API prints it: lower-case wallet, no fee, its own price rounding."""
    row = {k: v for k, v in payload.items() if k != "fee"}
    row["proxyWallet"] = payload["proxyWallet"].lower()
    row["price"] = price
    row["profileImageOptimized"] = ""
    return row


def test_rtds_frames_map_to_normalized_signals() -> None:
    signals = signals_from_rtds_frames(rtds_frames(), SEEN)
    assert len(signals) == 5
    first = signals[0]
    assert first.leader == "0xf5848342fc388908f2d25a9012cc18a0ad193979"
    assert first.tx_hash == TX
    assert first.asset == rtds_docs()[0]["payload"]["asset"]
    assert first.condition_id == rtds_docs()[0]["payload"]["conditionId"].lower()
    assert first.side is Side.BUY
    assert first.size == Decimal("1030.92")
    assert first.price == Decimal("0.03")
    assert first.fill_time == datetime.fromtimestamp(1790272257, UTC)
    assert first.seen_at is SEEN
    assert first.source is SourceKind.WS
    assert first.outcome == "No"
    assert first.slug == "unl-and-mal-2026-09-24-mal"
    assert first.key == signal_key(TX, first.leader, first.asset, Side.BUY, 1_030_920_000, 0)
    # the two legs of the MINT match in tx 0x94cf… (YES and NO buyers) are two signals with two keys
    legs = [s for s in signals if s.tx_hash == TX]
    assert len(legs) == 2
    assert legs[0].key != legs[1].key
    assert len({s.key for s in signals}) == 5


def test_same_fill_from_rtds_and_data_api_has_one_key() -> None:
    docs = rtds_docs()
    ws_signals = signals_from_rtds_frames(rtds_frames(docs), SEEN)
    # the Data API prints an averaged price with its own rounding; the key ignores price
    rows = [data_row_from_rtds(d["payload"], d["payload"]["price"] + 1e-10) for d in docs]
    poll_signals = signals_from_data_trades(decode(json.dumps(rows), list[DataTrade]), SEEN, ANY_TIME)
    assert [s.key for s in poll_signals] == [s.key for s in ws_signals]
    assert all(s.source is SourceKind.POLL for s in poll_signals)


def test_identical_legs_in_one_tx_get_distinct_keys_that_agree_across_sources() -> None:
    docs = rtds_docs()
    twin = json.loads(json.dumps(docs[0]))
    twin["payload"]["price"] = 0.031  # a second resting order of the same leader, same size
    docs.insert(1, twin)
    ws_signals = [s for s in signals_from_rtds_frames(rtds_frames(docs), SEEN) if s.tx_hash == TX]
    leader_legs = [s for s in ws_signals if s.leader == ws_signals[0].leader]
    assert len(leader_legs) == 2
    assert leader_legs[0].key != leader_legs[1].key
    # the Data API lists the same two legs (in any order): the same two keys
    rows = [data_row_from_rtds(d["payload"], d["payload"]["price"]) for d in reversed(docs)]
    poll_keys = {
        s.key for s in signals_from_data_trades(decode(json.dumps(rows), list[DataTrade]), SEEN, ANY_TIME)
    }
    assert {s.key for s in leader_legs} <= poll_keys
    assert len(poll_keys) == 6


def test_orders_matched_repeats_map_to_the_trades_keys() -> None:
    docs = rtds_docs()
    repeats = json.loads(json.dumps(docs))
    for d in repeats:
        d["type"] = "orders_matched"
    signals = signals_from_rtds_frames(rtds_frames(docs + repeats), SEEN)
    assert [s.key for s in signals[:5]] == [s.key for s in signals[5:]]


def test_data_api_trade_rows() -> None:
    rows = decode_trades((FIXTURES / "http/data_api_trades_mixed.json").read_bytes())
    signals = signals_from_data_trades(rows, SEEN, ANY_TIME)
    assert [s.side for s in signals] == [map_side(r.side) for r in rows]
    assert signals[0].side is Side.SELL
    assert signals[0].size == Decimal("5.4")
    assert signals[0].price == Decimal("0.998")
    assert signals[0].leader == rows[0].proxy_wallet.lower()
    assert signals[0].fill_time == datetime.fromtimestamp(1729000180, UTC)
    assert all(s.seen_at is SEEN for s in signals)
    assert len({s.key for s in signals}) == len(rows)


def activity_row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "proxyWallet": "0x37c1874a60d348903594a96703e0507c518fc53a",
        "timestamp": 1773601939,
        "conditionId": "0x65c3ff402d81e756af732fd67ea6521b15395206d2d77b8b2b006c212f620981",
        "type": "TRADE",
        "size": 1554.74,
        "usdcSize": 855.107,
        "transactionHash": "0xAB" + "cd" * 31,
        "price": 0.55,
        "asset": "123",
        "side": "BUY",
        "outcomeIndex": 0,
    }
    row.update(over)
    return row


def test_activity_rows_only_trades_become_signals() -> None:
    rows = [
        activity_row(),
        activity_row(type="REDEEM", side="", asset="", size=0, usdcSize=0, price=0),
        activity_row(type="MERGE", asset="", side=""),
    ]
    signals = signals_from_activity(decode(json.dumps(rows), list[DataActivity]), SEEN, ANY_TIME)
    assert len(signals) == 1
    assert signals[0].tx_hash == "0xab" + "cd" * 31
    assert signals[0].size == Decimal("1554.74")
    # the activity row and the trade row of one fill agree
    trade = {k: v for k, v in activity_row().items() if k not in {"type", "usdcSize"}}
    (from_trades,) = signals_from_data_trades(decode(json.dumps([trade]), list[DataTrade]), SEEN, ANY_TIME)
    assert from_trades.key == signals[0].key


def test_trade_activity_without_side_raises() -> None:
    rows = decode(json.dumps([activity_row(side="")]), list[DataActivity])
    with pytest.raises(UnknownSide):
        signals_from_activity(rows, SEEN)


def test_side_mapping_is_exhaustive() -> None:
    assert map_side("BUY") is Side.BUY
    assert map_side("SELL") is Side.SELL
    for bad in ("buy", "", "HOLD"):
        with pytest.raises(UnknownSide):
            map_side(bad)


def test_a_repeated_leg_in_one_stream_gets_the_next_ordinal_and_price_is_not_in_the_key() -> None:
    frame = rtds_frames()[0]
    ordinals = LegOrdinals()
    a = signal_from_rtds_frame(frame, SEEN, ordinals, ANY_TIME)
    b = signal_from_rtds_frame(frame, SEEN, ordinals, ANY_TIME)
    assert a.key == signal_key(a.tx_hash, a.leader, a.asset, a.side, 1_030_920_000, 0)
    assert b.key == signal_key(a.tx_hash, a.leader, a.asset, a.side, 1_030_920_000, 1)
    repriced = msgspec.structs.replace(
        frame, payload=msgspec.structs.replace(frame.payload, price=Decimal("0.5"))
    )
    assert signal_from_rtds_frame(repriced, SEEN, LegOrdinals(), ANY_TIME).key == a.key


def test_leg_ordinals_are_bounded() -> None:
    ordinals = LegOrdinals(max_legs=100)
    for i in range(1_000):
        assert ordinals.next((f"0x{i}", "0xa", "1", Side.BUY, 1)) == 0
    assert len(ordinals) <= 100
    leg = ("0xrecent", "0xa", "1", Side.BUY, 1)
    assert [ordinals.next(leg) for _ in range(3)] == [0, 1, 2]


def test_a_second_connection_repeats_map_to_the_first_connections_keys() -> None:
    docs = rtds_docs()
    twin = json.loads(json.dumps(docs[0]))
    docs.insert(1, twin)  # two identical legs on the first connection
    repeats = json.loads(json.dumps(docs))
    for d in repeats:
        d["connection_id"] = "other=="
    signals = signals_from_rtds_frames(rtds_frames(docs + repeats), SEEN)
    assert [s.key for s in signals[:6]] == [s.key for s in signals[6:]]
    assert len({s.key for s in signals}) == 6


def test_leg_ordinals_forget_generations_older_than_their_age() -> None:
    now = [0.0]
    ordinals = LegOrdinals(max_age_s=60, clock=lambda: now[0])
    leg = ("0xab", "0xcd", "1", Side.BUY, 5_000_000)
    assert [ordinals.next(leg), ordinals.next(leg)] == [0, 1]  # identical twin legs of one tx
    now[0] = 61.0  # a new generation: the last one is still consulted
    assert ordinals.next(leg) == 2
    other = ("0xef", "0xcd", "1", Side.BUY, 5_000_000)
    assert ordinals.next(other) == 0
    now[0] = 122.0  # another generation: the previous one holds both legs, the current one `other`
    assert ordinals.next(other) == 1
    assert len(ordinals) == 3
    now[0] = 183.0
    assert ordinals.next(("0x01", "0xcd", "1", Side.SELL, 1)) == 0
    assert len(ordinals) == 2  # `other` (previous) and the new leg; `leg` is gone
