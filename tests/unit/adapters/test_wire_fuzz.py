"""Fuzz every inbound wire decoder with its mapping to a domain object: random bytes, random JSON, and
documents shaped like the venue's (built from the wire structs' own field types, plus hand-written valid
fills) and the recorded fixtures (``tests/fixtures/polymarket``), with one to three fields mutated,
removed or added.

The only errors allowed out of a decode + parse are ``wire_validation.WIRE_ERRORS``: ``msgspec.DecodeError``,
``msgspec.ValidationError`` and ``InvalidMessage``. The push fast path (``FrameFilter``) and the poller's
row quarantine raise nothing at all, and what they let through is a valid signal.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from eth_abi.abi import encode as eth_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyhunter.adapters.chain.exchange_events import decode_order_filled
from polyhunter.adapters.polymarket import wire_clob_rest as rest
from polyhunter.adapters.polymarket import wire_clob_ws as ws
from polyhunter.adapters.polymarket import wire_data_api as data
from polyhunter.adapters.polymarket import wire_gamma as gamma
from polyhunter.adapters.polymarket import wire_rtds as rtds
from polyhunter.adapters.polymarket.clob_market_data import book_from_wire
from polyhunter.adapters.polymarket.clob_trading import (
    check_balance_allowance,
    decode_open_order,
    decode_post_order_response,
)
from polyhunter.adapters.polymarket.parse_signals import (
    LegOrdinals,
    signal_from_rtds_frame,
    signals_from_activity,
    signals_from_data_trades,
)
from polyhunter.adapters.polymarket.row_quarantine import RowQuarantine
from polyhunter.adapters.polymarket.wire_base import decode
from polyhunter.adapters.polymarket.wire_validation import WIRE_ERRORS, InvalidMessage
from polyhunter.domain.signal import Signal
from polyhunter.ingest.chain_fills import decode_leader_logs, fills_to_signals
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux
from tests.support.paths import FIXTURES
from tests.support.wire_samples import rtds_frame, rtds_payload

NOW_S = 1_790_272_258  # just after the recorded RTDS frames (so their fills pass the window)
SEEN = datetime.fromtimestamp(NOW_S, UTC)
LEADER = "0xAbCdEf0123456789abcdef0123456789ABCDEF01"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- what each decoder + mapping does with one input --------------------------------------------


def assert_valid_signal(signal: Signal) -> None:
    assert signal.size.is_finite()
    assert 0 < signal.size <= Decimal(10**9)
    assert signal.price.is_finite()
    assert 0 < signal.price < 1
    assert (len(signal.tx_hash), len(signal.leader)) == (66, 42)
    assert abs((signal.fill_time - SEEN).total_seconds()) <= 30 * 86_400


def rtds_parse(raw: bytes) -> None:
    rtds.frame_kind(raw)
    rtds.decode_envelope(raw)
    frame = rtds.decode_activity_frame(raw)
    assert_valid_signal(signal_from_rtds_frame(frame, SEEN, LegOrdinals()))


def activity_parse(raw: bytes) -> None:
    with contextlib.suppress(*WIRE_ERRORS):
        data.decode_activity(raw)
    page = data.decode_activity_page(raw)  # what the client serves the poller: row by row
    quarantine = RowQuarantine()
    assert all(bad.reason == "schema" for bad in quarantine.undecodable(page.undecodable, SEEN))
    kept, _ = quarantine.split(page, SEEN)
    for signal in signals_from_activity(kept, SEEN):  # the quarantine leaves only mappable rows
        assert_valid_signal(signal)


def trades_parse(raw: bytes) -> None:
    for signal in signals_from_data_trades(data.decode_trades(raw), SEEN):
        assert_valid_signal(signal)


def book_parse(raw: bytes) -> None:
    book = book_from_wire(rest.decode_book(raw))
    for level in (*book.bids.levels, *book.asks.levels):
        assert 0 < level.price < 1
        assert level.size.is_finite()


def gamma_markets_parse(raw: bytes) -> None:
    for market in gamma.MARKETS_DECODER.decode(raw):
        market.token_ids()
        market.outcome_labels()
        market.outcome_price_list()


def decoder(tp: Any) -> Callable[[bytes], None]:
    def run(raw: bytes) -> None:
        decode(raw, tp)

    return run


PARSERS: dict[str, Callable[[bytes], None]] = {
    "rtds": rtds_parse,
    "data_activity": activity_parse,
    "data_trades": trades_parse,
    "data_positions": lambda raw: None if data.decode_positions(raw) is None else None,
    "ws_market": lambda raw: None if ws.decode_market_frame(raw) is None else None,
    "ws_user": lambda raw: None if ws.decode_user_frame(raw) is None else None,
    "clob_book": book_parse,
    "post_order": lambda raw: None if decode_post_order_response(raw) is None else None,
    "open_order": lambda raw: None if decode_open_order(raw) is None else None,
    "clob_trades": decoder(rest.TradesPage),
    "clob_cancel": decoder(rest.CancelResponse),
    "clob_balance": lambda raw: None if check_balance_allowance(decode(raw, rest.BalanceAllowance)) else None,
    "clob_market": decoder(rest.ClobMarket),
    "gamma_markets": gamma_markets_parse,
    "gamma_event": lambda raw: None if gamma.EVENT_DECODER.decode(raw) is None else None,
}


def only_documented_errors(name: str, raw: bytes) -> None:
    with contextlib.suppress(*WIRE_ERRORS):
        PARSERS[name](raw)


# -- documents shaped like the venue's ----------------------------------------------------------


def sample(t: mi.Type, depth: int = 0) -> Any:
    """A value of wire type ``t`` that decodes (the first choice of unions and literals; optional
    values below the second level are null, so recursive types such as Gamma market/event end)."""
    if isinstance(t, mi.StructType):
        return {f.encode_name: sample(f.type, depth + 1) for f in t.fields}
    if isinstance(t, mi.ListType):
        return [sample(t.item_type, depth)]
    if isinstance(t, mi.DictType):
        return {"k": sample(t.value_type, depth)}
    if isinstance(t, mi.UnionType):
        if depth > 2 and any(isinstance(u, mi.NoneType) for u in t.types):
            return None
        return sample(next((u for u in t.types if not isinstance(u, mi.NoneType)), t.types[0]), depth)
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.StrType):
        return "0.5"
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, mi.IntType):
        return 1
    if isinstance(t, mi.FloatType | mi.DecimalType):
        return 0.5
    return None


def shaped(tp: Any) -> Any:
    return sample(mi.type_info(tp))


def rtds_doc() -> dict[str, Any]:
    return rtds_frame(rtds_payload(NOW_S), NOW_S)


def activity_doc() -> dict[str, Any]:
    return {
        "proxyWallet": LEADER.lower(),
        "timestamp": NOW_S - 5,
        "conditionId": "0x" + "cd" * 32,
        "type": "TRADE",
        "size": 12.5,
        "usdcSize": 6.25,
        "transactionHash": "0x" + "ab" * 32,
        "price": 0.5,
        "asset": TOKEN,
        "side": "SELL",
        "outcomeIndex": 1,
    }


def book_doc() -> dict[str, Any]:
    doc: dict[str, Any] = shaped(rest.ClobBook)
    doc.update(timestamp="1757000000000", tick_size="0.01", min_order_size="5", last_trade_price="0.5")
    return doc


GAMMA_LISTS = {"outcomes": '["Yes", "No"]', "clobTokenIds": '["1", "2"]', "outcomePrices": '["0.4", "0.6"]'}

SHAPES: dict[str, Callable[[], Any]] = {
    "rtds": rtds_doc,
    "data_activity": lambda: [activity_doc(), activity_doc() | {"transactionHash": "0x" + "01" * 32}],
    "data_trades": lambda: [{k: v for k, v in activity_doc().items() if k not in ("type", "usdcSize")}],
    "data_positions": lambda: [shaped(data.DataPosition)],
    "ws_market": lambda: [
        shaped(t) for t in (ws.WsBook, ws.WsPriceChange, ws.WsLastTradePrice, ws.WsBestBidAsk)
    ],
    "ws_user": lambda: [shaped(ws.WsUserOrder) | {"event_type": "order"}, shaped(ws.WsUserTrade)],
    "clob_book": book_doc,
    "post_order": lambda: shaped(rest.PostOrderResponse),
    "open_order": lambda: shaped(rest.OpenOrder),
    "clob_trades": lambda: shaped(rest.TradesPage),
    "clob_cancel": lambda: shaped(rest.CancelResponse),
    "clob_balance": lambda: shaped(rest.BalanceAllowance),
    "clob_market": lambda: shaped(rest.ClobMarket),
    "gamma_markets": lambda: [shaped(gamma.GammaMarket) | GAMMA_LISTS],
    "gamma_event": lambda: shaped(gamma.GammaEvent),
}

# values the venue should never send, and some it does
ODD = st.sampled_from(
    [
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "",
        "0x1",
        "1e999999999",
        "-1e-999999999",
        "١٢٣",
        "0x" + "g" * 40,
        "x" * 400,
        -10,
        0,
        -0.5,
        1.5,
        1e15,
        1e308,
        10**20,
        2**64,
        -(2**63),
        32_503_680_000,
        None,
        True,
        [],
        {},
        [None],
        {"event_type": "book"},
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | ODD,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=16,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += paths(value, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, make: Callable[[], Any]) -> bytes:
    doc = make()
    for _ in range(draw(st.integers(1, 3))):
        where = paths(doc)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(ODD | JSON))  # never share ODD's own [] / {}
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = copy.deepcopy(draw(JSON))
    return json.dumps(doc).encode()


NAMES = sorted(PARSERS)


def recorded(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_bytes())


def recorded_response(rel: str) -> Any:
    return json.loads(str(recorded(rel)["response"]["body_raw"]))


ORDERS = "http/order-responses-v1-2026-01"
RTDS_FRAMES = "current-2026-09/rtds_activity_trades.json"
# (parser, fixture, the document to mutate)
RECORDED: list[tuple[str, str, Callable[[], Any]]] = [
    *(("rtds", f"{RTDS_FRAMES}[{i}]", lambda i=i: recorded(RTDS_FRAMES)[i]) for i in range(5)),
    ("ws_market", "current-2026-09/clob_ws.json", lambda: recorded("current-2026-09/clob_ws.json")),
    *(
        ("ws_market", rel, lambda rel=rel: recorded(rel))
        for rel in (
            "ws-market/book.json",
            "ws-market/last_trade_price.json",
            "ws-market/price_change.json",
            "ws-market/price_change_v2.json",
            "ws-market/tick_size_change.json",
            "ws-market/ws_market_best_bid_ask_msg.json",
            "ws-market/ws_market_new_market_msg.json",
            "ws-market/ws_market_resolved_msg.json",
        )
    ),
    *(
        ("ws_user", f"ws-user/{name}.json", lambda name=name: recorded(f"ws-user/{name}.json"))
        for name in (
            "order_cancel",
            "order_placement",
            "user_trade1",
            "user_trade2",
            "user_trade3",
            "user_trade4",
        )
    ),
    ("clob_book", "current-2026-09/book.json", lambda: recorded("current-2026-09/book.json")),
    ("clob_book", "http/book.json", lambda: recorded("http/book.json")),
    ("clob_market", "http/market.json", lambda: recorded("http/market.json")),
    (
        "clob_balance",
        "http/http_balance_allowance_collateral.json",
        lambda: recorded("http/http_balance_allowance_collateral.json"),
    ),
    ("data_trades", "http/data_api_trades_mixed.json", lambda: recorded("http/data_api_trades_mixed.json")),
    ("gamma_markets", "http/market_slug.json", lambda: [recorded("http/market_slug.json")]),
    ("gamma_markets", "gamma/gamma_market.json", lambda: [recorded("gamma/gamma_market.json")]),
    ("gamma_event", "gamma/gamma_event.json", lambda: recorded("gamma/gamma_event.json")[0]),
    (
        "post_order",
        f"{ORDERS}/poly_full_fill_real.json",
        lambda: recorded_response(f"{ORDERS}/poly_full_fill_real.json"),
    ),
    (
        "open_order",
        f"{ORDERS}/poly_order_status_partial_real.json",
        lambda: recorded_response(f"{ORDERS}/poly_order_status_partial_real.json"),
    ),
]


def test_every_decoder_has_a_shape() -> None:
    assert set(SHAPES) == set(PARSERS)
    for name in NAMES:  # the unmutated shapes decode (so mutations start from a valid document)
        PARSERS[name](json.dumps(SHAPES[name]()).encode())


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes(name: str, raw: bytes) -> None:
    only_documented_errors(name, raw)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(doc=JSON)
def test_random_json(name: str, doc: Any) -> None:
    only_documented_errors(name, json.dumps(doc).encode())


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_venue_documents(name: str, data: st.DataObject) -> None:
    only_documented_errors(name, data.draw(mutated(SHAPES[name])))


@pytest.mark.parametrize(("name", "make"), [(n, m) for n, _, m in RECORDED], ids=[r for _, r, _ in RECORDED])
@FUZZ
@given(data=st.data())
def test_mutated_recorded_fixtures(name: str, make: Callable[[], Any], data: st.DataObject) -> None:
    only_documented_errors(name, data.draw(mutated(make)))


def test_the_recorded_fixtures_decode_unmutated() -> None:
    for name, _, make in RECORDED:
        doc = make()
        with contextlib.suppress(InvalidMessage):  # recorded fills are older than the fill window
            PARSERS[name](json.dumps(doc).encode())


# -- the push fast path and the chain decoder: nothing escapes at all ---------------------------


def make_filter() -> FrameFilter:
    mux = SignalMux("HYBRID", DedupSet(ttl_s=3_600), IngestMetrics(), max_signal_age_s=10**9)
    return FrameFilter([LEADER], mux, mux.metrics)


@FUZZ
@given(raw=st.binary(max_size=300) | mutated(rtds_doc) | JSON.map(lambda d: json.dumps(d).encode()))
def test_the_frame_filter_never_raises_and_passes_only_valid_signals(raw: bytes) -> None:
    for signal in make_filter()(raw, SEEN):
        assert_valid_signal(signal)


V2_ORDER_FILLED = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"


def v2_log() -> dict[str, Any]:
    words = eth_encode(
        ["uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32"],
        [0, int(TOKEN), 5_000_000, 10_000_000, 0, b"\x01" * 32, b"\x02" * 32],
    )
    return {
        "address": "0xe111180000d2663c0091e4f400237545b87b996b",
        "topics": [V2_ORDER_FILLED, "0x" + "0c" * 32, "0x" + "00" * 12 + "1e" * 20, "0x" + "00" * 32],
        "data": "0x" + words.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "bb" * 32,
        "transactionHash": "0x" + "aa" * 32,
        "logIndex": "0x3",
        "removed": False,
    }


HEX_WORDS = st.binary(max_size=260).map(lambda b: "0x" + b.hex())


@FUZZ
@given(data=st.data())
def test_chain_log_decoding_raises_only_invalid_message(data: st.DataObject) -> None:
    log: Any = json.loads(data.draw(mutated(v2_log)))
    if data.draw(st.booleans()):
        log["data"] = data.draw(HEX_WORDS)
    stamp = data.draw(st.one_of(st.integers(-(2**70), 2**70).map(hex), st.text(max_size=12), ODD))
    header: Mapping[str, object] = {"number": "0x10", "hash": "0x" + "bb" * 32, "timestamp": stamp}
    if not isinstance(log, dict):
        return
    with contextlib.suppress(InvalidMessage):
        decode_order_filled(log)
    rejected: list[str] = []
    fills, _ = decode_leader_logs(
        [log], frozenset({"0x" + "1e" * 20}), lambda exc, _: rejected.append(exc.reason)
    )
    # Every block a fill names has its header (the source reads them before mapping); a missing one is
    # the source's to fetch again (LogDecodeError), not a property of the log.
    headers = {fill.block_number: header for fill in fills}
    for item in fills_to_signals(fills, headers, SEEN, on_reject=lambda exc, _: rejected.append(exc.reason)):
        assert 0 < item.signal.price < 1
        assert 0 < item.signal.size <= Decimal(10**9)
        assert (len(item.signal.tx_hash), len(item.signal.leader)) == (66, 42)


def test_msgspec_validation_error_is_a_decode_error() -> None:
    """``WIRE_ERRORS`` names both; the fast path and the clients catch ``DecodeError`` for both."""
    assert issubclass(msgspec.ValidationError, msgspec.DecodeError)
