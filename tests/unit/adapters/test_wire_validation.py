"""Validation at the edge: each rule of ``wire_validation``, and the reproductions of issue 13 item 1 (a
poisoned RTDS frame, Data API row or chain log is counted by reason and dropped, never a signal, never
an exception out of the source)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode as eth_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from polyhunter.adapters.chain.exchange_events import LogDecodeError, decode_order_filled
from polyhunter.adapters.polymarket.parse_signals import (
    CheckedFill,
    LegOrdinals,
    check_activity_row,
    check_fill,
    map_side,
    signal_from_rtds_frame,
    signals_from_activity,
)
from polyhunter.adapters.polymarket.row_quarantine import RowQuarantine
from polyhunter.adapters.polymarket.wire_data_api import decode_activity
from polyhunter.adapters.polymarket.wire_rtds import decode_activity_frame
from polyhunter.adapters.polymarket.wire_validation import (
    OUTCOME_MAX_LEN,
    SLUG_MAX_LEN,
    FillBounds,
    InvalidMessage,
    check_address,
    check_condition_id,
    check_price,
    check_size,
    check_text,
    check_timestamp_s,
    check_token_id,
    check_tx_hash,
)
from polyhunter.domain.signal import Side, to_micro
from polyhunter.ingest import metrics as metrics_module
from polyhunter.ingest.chain_fills import decode_leader_logs, fills_to_signals
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.metrics import IngestMetrics, RejectCounter
from polyhunter.ingest.mux import SignalMux

NOW_S = 1_790_000_000
SEEN = datetime.fromtimestamp(NOW_S, UTC)
LEADER = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
TX = "0x" + "ef" * 32
CONDITION = "0x" + "cd" * 32
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
YEAR_3000 = 32_503_680_000


# -- the rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "size_not_finite"),
        ("sNaN", "size_not_finite"),
        ("Infinity", "size_not_finite"),
        ("-Infinity", "size_not_finite"),
        ("-10", "size_out_of_range"),
        ("0", "size_out_of_range"),
        ("0.0000001", "size_out_of_range"),
        ("1e15", "size_out_of_range"),
        ("1e999999999", "size_out_of_range"),
    ],
)
def test_sizes_outside_the_venue_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_size(Decimal(value))
    assert caught.value.reason == reason


@pytest.mark.parametrize("value", ["0.000001", "1", "1030.92", "1e9"])
def test_sizes_within_bounds_pass(value: str) -> None:
    assert check_size(Decimal(value)) == Decimal(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "price_not_finite"),
        ("Infinity", "price_not_finite"),
        ("-0.5", "price_out_of_range"),
        ("0", "price_out_of_range"),
        ("1", "price_out_of_range"),
        ("1.5", "price_out_of_range"),
    ],
)
def test_prices_outside_the_open_unit_interval_are_rejected(value: str, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_price(Decimal(value))
    assert caught.value.reason == reason


def test_prices_inside_pass() -> None:
    assert check_price(Decimal("0.001")) == Decimal("0.001")
    assert check_price(Decimal("0.9597472099")) == Decimal("0.9597472099")


@pytest.mark.parametrize("ts", [YEAR_3000, 10**20, -1, 0, NOW_S - 31 * 86_400, NOW_S + 301])
def test_timestamps_outside_the_window_are_rejected(ts: int) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_timestamp_s(ts, NOW_S)
    assert caught.value.reason == "timestamp_out_of_window"


def test_timestamps_inside_the_window_and_a_configured_window() -> None:
    assert check_timestamp_s(NOW_S - 29 * 86_400, NOW_S) == NOW_S - 29 * 86_400
    assert check_timestamp_s(NOW_S + 300, NOW_S) == NOW_S + 300
    narrow = FillBounds(max_age_s=60, max_future_s=0)
    with pytest.raises(InvalidMessage):
        check_timestamp_s(NOW_S - 61, NOW_S, narrow)
    with pytest.raises(InvalidMessage):
        check_timestamp_s(NOW_S + 1, NOW_S, narrow)


@pytest.mark.parametrize("bad", ["0x1", "", "0x" + "g" * 40, "0x" + "a" * 41, "ab" * 21, " 0x" + "a" * 40])
def test_addresses_are_0x_and_40_hex(bad: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_address(bad)
    assert caught.value.reason == "bad_address"
    assert check_address(LEADER) == LEADER.lower()


@pytest.mark.parametrize("bad", ["0x1", "", "0x" + "z" * 64, "0x" + "a" * 63, TX + "0", TX + "\n"])
def test_hashes_and_condition_ids_are_0x_and_64_hex(bad: str) -> None:
    with pytest.raises(InvalidMessage) as tx:
        check_tx_hash(bad)
    assert tx.value.reason == "bad_tx_hash"
    with pytest.raises(InvalidMessage) as cond:
        check_condition_id(bad)
    assert cond.value.reason == "bad_condition_id"
    assert check_tx_hash(TX.upper().replace("0X", "0x")) == TX


@pytest.mark.parametrize("bad", ["", "0", "-1", "1.5", "0x12", "1" * 79, str(2**256), "١٢٣", " 12"])
def test_token_ids_are_bounded_decimal_digits(bad: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_token_id(bad)
    assert caught.value.reason == "bad_token_id"
    assert check_token_id(TOKEN) == TOKEN


def test_display_text_must_fit_its_column() -> None:
    assert check_text(None, 4, "slug") == ""
    with pytest.raises(InvalidMessage) as caught:
        check_text("x" * 5, 4, "slug")
    assert caught.value.reason == "text_too_long"


# -- check_fill: the rules written out in one function for the push path -----------------------------


def check_fill_by_the_single_rules(fields: tuple[Any, ...], bounds: FillBounds) -> CheckedFill:
    """What ``check_fill`` must give: each rule of ``wire_validation`` in turn (the first that fails raises)."""
    tx, wallet, asset, side, size, price, ts_s, condition, slug, outcome, seen_at = fields
    return CheckedFill(
        check_tx_hash(tx),
        check_address(wallet),
        check_token_id(asset),
        map_side(side),
        check_size(size, bounds),
        check_price(price),
        check_timestamp_s(ts_s, seen_at.timestamp(), bounds),
        check_condition_id(condition),
        check_text(slug, SLUG_MAX_LEN, "slug"),
        check_text(outcome, OUTCOME_MAX_LEN, "outcome"),
        to_micro(size),
    )


def check_fill_inline(fields: tuple[Any, ...], bounds: FillBounds) -> CheckedFill:
    tx, wallet, asset, side, size, price, ts_s, condition, slug, outcome, seen_at = fields
    return check_fill(tx, wallet, asset, side, size, price, ts_s, condition, slug, outcome, seen_at, bounds)


def outcome_of(check: Callable[[], CheckedFill]) -> CheckedFill | str:
    try:
        return check()
    except InvalidMessage as exc:
        return f"{type(exc).__name__}: {exc}"


HEX = "0123456789abcdefABCDEF"
ODD = st.text(alphabet="0123456789abcdefxX \n_+-:gG\u0660\u0130\u212a", max_size=80)


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=HEX, min_size=n, max_size=n).map(lambda h: "0x" + h)


EDGE_DECIMALS = st.sampled_from(
    [Decimal(x) for x in ("0.000001", "0.0000009", "0.999999", "0.9999991", "1", "0", "5", "5.000001", "1e9")]
    + [Decimal("1e9") + Decimal("0.000001"), Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN")]
)
# per field: values that pass its rule, and values that fail it (or sit on its edge)
FIELDS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "tx": (hexes(64), st.one_of(hexes(63), hexes(65), ODD, st.just(TX.replace("0x", "0X")))),
    "wallet": (hexes(40), st.one_of(hexes(39), hexes(41), ODD, st.just(LEADER.replace("0x", "0X")))),
    "asset": (
        st.integers(min_value=1, max_value=2**256 - 1).map(str),
        st.one_of(
            st.sampled_from([str(2**256), "0" * 78, "0", "", " 1", "1 ", "+1", "1_0", "\u0661", "1" * 79]),
            st.integers(min_value=2**256, max_value=2**262).map(str),
            ODD,
        ),
    ),
    "side": (st.sampled_from(["BUY", "SELL"]), st.sampled_from(["", "buy", "HOLD", "BUY "])),
    "size": (st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(5), places=6), EDGE_DECIMALS),
    "price": (
        st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("0.999999"), places=6),
        EDGE_DECIMALS,
    ),
    "ts_s": (
        st.integers(min_value=NOW_S - 60, max_value=NOW_S + 1),
        st.sampled_from([NOW_S - 61, NOW_S + 2, NOW_S - 30 * 86_400, NOW_S + 300, NOW_S + 301, 0, -(10**30)]),
    ),
    "condition": (hexes(64), st.one_of(hexes(62), ODD)),
    "slug": (
        st.none() | st.text(max_size=8),
        st.sampled_from(["s" * SLUG_MAX_LEN, "s" * (SLUG_MAX_LEN + 1)]),
    ),
    "outcome": (
        st.none() | st.text(max_size=8),
        st.sampled_from(["o" * OUTCOME_MAX_LEN, "é" * (OUTCOME_MAX_LEN + 1)]),
    ),
}


GOOD_FILL: dict[str, Any] = {
    "tx": TX,
    "wallet": LEADER,
    "asset": TOKEN,
    "side": "BUY",
    "size": Decimal(3),
    "price": Decimal("0.5"),
    "ts_s": NOW_S,
    "condition": CONDITION,
    "slug": "a-market",
    "outcome": "Yes",
}
MICRO = Decimal("0.000001")
EDGES: dict[str, list[Any]] = {
    "tx": [
        "",
        TX + "\n",
        " " + TX[1:],
        TX.replace("0x", "0X"),
        TX.upper().replace("0X", "0x"),
        TX[:-1] + "g",
        TX[:-1],
    ],
    "wallet": [
        "",
        LEADER + "0",
        LEADER[:-1],
        LEADER.replace("0x", "0X"),
        LEADER[:-1] + "\u212a",
        LEADER + "\n",
    ],
    "asset": ["1", str(2**256 - 1), str(2**256), "0" * 78, "0" * 77 + "1", "0", "", " 1", "1 ", "+1", "1_0"]
    + ["\u0661", "1" * 79, "12ab", "abc", "1e5", "-1"],
    "side": ["SELL", "", "buy", "HOLD", "BUY "],
    "size": [
        MICRO,
        MICRO / 10,
        Decimal(5),
        Decimal(5) + MICRO,
        Decimal("1e9"),
        Decimal("1e9") + MICRO,
        Decimal(0),
    ]
    + [Decimal(-1), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")],
    "price": [MICRO, MICRO / 10, 1 - MICRO, 1 - MICRO / 10, Decimal(1), Decimal(0), Decimal("-0.5")]
    + [Decimal("NaN"), Decimal("Infinity")],
    "ts_s": [NOW_S - 60, NOW_S - 61, NOW_S + 1, NOW_S + 2, NOW_S - 30 * 86_400, NOW_S - 30 * 86_400 - 1]
    + [NOW_S + 300, NOW_S + 301, 0, -(10**30), 10**30],
    "condition": [
        "",
        CONDITION[:-2],
        CONDITION.replace("0x", "0X"),
        "0xnope",
        CONDITION.upper().replace("0X", "0x"),
    ],
    "slug": [None, "", "s" * SLUG_MAX_LEN, "s" * (SLUG_MAX_LEN + 1)],
    "outcome": [None, "o" * OUTCOME_MAX_LEN, "é" * (OUTCOME_MAX_LEN + 1)],
}
NARROW = FillBounds(max_age_s=60, max_future_s=1, max_size=Decimal(5))


@pytest.mark.parametrize("bounds", [FillBounds(), NARROW], ids=["default", "narrow"])
@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in EDGES.items() for v in values])
def test_check_fill_agrees_with_the_single_rules_on_each_edge(
    field: str, value: Any, bounds: FillBounds
) -> None:
    """One field on (either side of) the edge of its rule, the others good: ``check_fill`` gives what the
    single rules give."""
    fields = (*dict(GOOD_FILL, **{field: value}).values(), SEEN)
    inline = outcome_of(lambda: check_fill_inline(fields, bounds))
    assert inline == outcome_of(lambda: check_fill_by_the_single_rules(fields, bounds))


@settings(max_examples=600, deadline=None)
@given(data=st.data(), broken=st.sets(st.sampled_from(sorted(FIELDS)), max_size=2), narrow=st.booleans())
def test_check_fill_agrees_with_the_single_rules(data: st.DataObject, broken: set[str], narrow: bool) -> None:
    """``check_fill`` spells the rules out inline (it runs for every followed fill): it accepts and
    refuses exactly what the single rules do, with the same reason and detail, and returns the same.
    Each example breaks none, one or two fields (or puts them on the edge of their rule)."""
    values = {
        name: data.draw(bad if name in broken else good, label=name) for name, (good, bad) in FIELDS.items()
    }
    bounds = NARROW if narrow else FillBounds()
    fields = (*values.values(), SEEN)
    inline = outcome_of(lambda: check_fill_inline(fields, bounds))
    assert inline == outcome_of(lambda: check_fill_by_the_single_rules(fields, bounds))


def test_check_fill_accepts_a_good_fill_and_normalizes_it() -> None:
    fill = check_fill(
        TX.upper().replace("0X", "0x"),
        LEADER,
        TOKEN,
        "SELL",
        Decimal(3),
        Decimal("0.5"),
        NOW_S,
        CONDITION.upper().replace("0X", "0x"),
        None,
        "Yes",
        SEEN,
    )
    assert fill == CheckedFill(
        TX,
        LEADER.lower(),
        TOKEN,
        Side.SELL,
        Decimal(3),
        Decimal("0.5"),
        NOW_S,
        CONDITION,
        "",
        "Yes",
        3_000_000,
    )


# -- RTDS frames through the push fast path ------------------------------------------------------


def payload(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "asset": TOKEN,
        "conditionId": CONDITION,
        "outcome": "Yes",
        "outcomeIndex": 0,
        "price": 0.55,
        "proxyWallet": LEADER,
        "side": "BUY",
        "size": 10,
        "slug": "some-market",
        "timestamp": NOW_S - 2,
        "transactionHash": TX,
    }
    doc.update(over)
    return doc


def frame(**over: Any) -> bytes:
    doc = {
        "connection_id": "c1",
        "payload": payload(**over),
        "timestamp": NOW_S * 1000,
        "topic": "activity",
        "type": "trades",
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


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
