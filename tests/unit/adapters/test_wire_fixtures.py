"""Every recorded Polymarket payload decodes into its wire struct and re-encodes to the same shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from polyhunter.adapters.polymarket import wire_clob_rest as rest
from polyhunter.adapters.polymarket import wire_clob_ws as ws
from polyhunter.adapters.polymarket import wire_data_api as data
from polyhunter.adapters.polymarket import wire_gamma as gamma
from polyhunter.adapters.polymarket import wire_rtds as rtds
from polyhunter.adapters.polymarket.wire_base import decode, encode
from tests.support.paths import FIXTURES


def raw(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def exchange(rel: str, part: str) -> bytes:
    """The request body or the raw response body of a recorded HTTP exchange."""
    doc = json.loads(raw(rel))
    if part == "request":
        return json.dumps(doc["request"]["body"]).encode()
    return str(doc["response"]["body_raw"]).encode()


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return type(value).__name__


def assert_same_shape(original: Any, reencoded: Any, path: str = "$") -> None:
    """Same keys at every level and the same JSON type (int stays int, float stays float)."""
    assert json_kind(original) == json_kind(reencoded), f"{path}: {original!r} vs {reencoded!r}"
    if isinstance(original, dict):
        assert set(original) == set(reencoded), f"{path}: keys {sorted(set(original) ^ set(reencoded))}"
        for key, value in original.items():
            assert_same_shape(value, reencoded[key], f"{path}.{key}")
    elif isinstance(original, list):
        assert len(original) == len(reencoded), path
        for i, (a, b) in enumerate(zip(original, reencoded, strict=True)):
            assert_same_shape(a, b, f"{path}[{i}]")
    else:
        assert original == reencoded, f"{path}: {original!r} vs {reencoded!r}"


def as_type(tp: Any) -> Callable[[bytes], Any]:
    return lambda b: decode(b, tp)


# (fixture, how to load the payload bytes, how to decode them); every file under the fixtures dir.
CASES: list[tuple[str, Callable[[str], bytes], Callable[[bytes], Any]]] = [
    ("current-2026-09/rtds_activity_trades.json", raw, as_type(list[rtds.RtdsActivityFrame])),
    ("current-2026-09/clob_ws.json", raw, ws.decode_market_frame),
    ("current-2026-09/book.json", raw, rest.decode_book),
    ("http/book.json", raw, rest.decode_book),
    ("http/market.json", raw, as_type(rest.ClobMarket)),
    ("http/markets.json", raw, as_type(rest.MarketsPage)),
    ("http/clob_market_closed_binary_accepting_false.json", raw, as_type(rest.ClobMarket)),
    ("http/clob_market_closed_binary_accepting_true.json", raw, as_type(rest.ClobMarket)),
    ("http/clob_fee_rate_response_nonzero.json", raw, as_type(rest.FeeRate)),
    ("http/clob_fee_rate_response_zero.json", raw, as_type(rest.FeeRate)),
    ("http/prices_history.json", raw, as_type(rest.PricesHistory)),
    ("http/http_balance_allowance_collateral.json", raw, as_type(rest.BalanceAllowance)),
    ("http/http_balance_allowance_no_allowance.json", raw, as_type(rest.BalanceAllowance)),
    ("http/http_signed_order.json", raw, as_type(rest.SignedOrderV2)),
    ("http/data_api_trades_mixed.json", raw, data.decode_trades),
    ("http/market_slug.json", raw, as_type(gamma.GammaMarket)),
    ("http/event.json", raw, as_type(gamma.GammaEvent)),
    ("ws-market/book.json", raw, ws.decode_market_frame),
    ("ws-market/last_trade_price.json", raw, ws.decode_market_frame),
    ("ws-market/price_change.json", raw, ws.decode_market_frame),
    ("ws-market/price_change_v2.json", raw, ws.decode_market_frame),
    ("ws-market/tick_size_change.json", raw, ws.decode_market_frame),
    ("ws-market/ws_market_best_bid_ask_msg.json", raw, ws.decode_market_frame),
    ("ws-market/ws_market_new_market_msg.json", raw, ws.decode_market_frame),
    ("ws-market/ws_market_resolved_msg.json", raw, ws.decode_market_frame),
    ("ws-market/trades_data_trades_row.json", raw, as_type(rest.ClobTrade)),
    ("ws-user/order_cancel.json", raw, ws.decode_user_frame),
    ("ws-user/order_placement.json", raw, ws.decode_user_frame),
    ("ws-user/user_trade1.json", raw, ws.decode_user_frame),
    ("ws-user/user_trade2.json", raw, ws.decode_user_frame),
    ("ws-user/user_trade3.json", raw, ws.decode_user_frame),
    ("ws-user/user_trade4.json", raw, ws.decode_user_frame),
]
EXCHANGES: list[tuple[str, str, Callable[[bytes], Any]]] = [
    ("http/order-responses-v1-2026-01/poly_full_fill_real.json", "request", as_type(rest.PostOrderV1)),
    ("http/order-responses-v1-2026-01/poly_full_fill_real.json", "response", as_type(rest.PostOrderResponse)),
    ("http/order-responses-v1-2026-01/poly_partial_fill_real.json", "request", as_type(rest.PostOrderV1)),
    (
        "http/order-responses-v1-2026-01/poly_partial_fill_real.json",
        "response",
        as_type(rest.PostOrderResponse),
    ),
    ("http/order-responses-v1-2026-01/poly_order_status_full_real.json", "response", as_type(rest.OpenOrder)),
    (
        "http/order-responses-v1-2026-01/poly_order_status_partial_real.json",
        "response",
        as_type(rest.OpenOrder),
    ),
]


def _unwrap_single(original: Any, decoded: Any) -> Any:
    # the ws decoders always return a list; single-object frames compare against their one element
    return decoded[0] if isinstance(original, dict) and isinstance(decoded, list) else decoded


@pytest.mark.parametrize(("rel", "load", "dec"), CASES, ids=[c[0] for c in CASES])
def test_fixture_decodes_and_reencodes_to_same_shape(
    rel: str, load: Callable[[str], bytes], dec: Callable[[bytes], Any]
) -> None:
    payload = load(rel)
    decoded = dec(payload)
    original = json.loads(payload)
    assert_same_shape(original, json.loads(encode(_unwrap_single(original, decoded))))


@pytest.mark.parametrize(("rel", "part", "dec"), EXCHANGES, ids=[f"{e[0]}:{e[1]}" for e in EXCHANGES])
def test_recorded_exchange_bodies(rel: str, part: str, dec: Callable[[bytes], Any]) -> None:
    payload = exchange(rel, part)
    decoded = dec(payload)
    assert_same_shape(json.loads(payload), json.loads(encode(decoded)))
    if part == "response":
        # the raw response bodies re-encode byte for byte (key order and number text included)
        assert encode(decoded) == payload.strip()


def test_every_fixture_file_is_covered() -> None:
    covered = (
        {c[0] for c in CASES}
        | {e[0] for e in EXCHANGES}
        | {"gamma/gamma_market.json", "gamma/gamma_event.json"}
    )
    on_disk = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.json")}
    assert on_disk - covered == {"auth/clob_auth.json"}  # an EIP-712 test vector, not a venue payload


def test_book_key_order_matches_live() -> None:
    live_order = [
        "market",
        "asset_id",
        "timestamp",
        "hash",
        "bids",
        "asks",
        "min_order_size",
        "tick_size",
        "neg_risk",
        "last_trade_price",
    ]
    payload = raw("current-2026-09/book.json")
    assert list(json.loads(payload)) == live_order
    book = rest.decode_book(payload)
    assert list(json.loads(encode(book))) == live_order
    assert book.bids[-1].price == "0.57"  # worst-first: best bid last
    assert book.neg_risk is True


def test_ws_book_snapshot_key_order_matches_live() -> None:
    frames = json.loads(raw("current-2026-09/clob_ws.json"))
    events = ws.decode_market_frame(raw("current-2026-09/clob_ws.json"))
    for original, event in zip(frames, events, strict=True):
        assert list(json.loads(encode(event))) == list(original)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["WsBook"] * 3 + ["WsPriceChange"] * 3 + ["WsLastTradePrice"]


def test_rtds_numbers_are_exact_decimals_and_fee_is_optional() -> None:
    frames = decode(raw("current-2026-09/rtds_activity_trades.json"), list[rtds.RtdsActivityFrame])
    first, second = frames[0].payload, frames[1].payload
    assert str(first.size) == "1030.92"
    assert str(first.fee) == "1.5309"
    assert second.fee is None
    assert b'"fee"' not in encode(frames[1])
    assert first.proxy_wallet == "0xf5848342fc388908f2D25a9012Cc18a0Ad193979"  # mixed case kept as sent


def test_rtds_non_json_frames() -> None:
    assert rtds.frame_kind(b"") == "empty"
    assert rtds.frame_kind('""') == "empty"
    assert rtds.frame_kind(b"ping") == "ping"
    assert rtds.frame_kind(raw("current-2026-09/rtds_activity_trades.json")) == "json"
    body = encode(rtds.subscribe_activity_trades())
    assert json.loads(body) == {
        "action": "subscribe",
        "subscriptions": [
            {"topic": "activity", "type": "trades"},
            {"topic": "activity", "type": "orders_matched"},
        ],
    }


def test_gamma_token_ids_are_a_json_string() -> None:
    market = decode(raw("gamma/gamma_market.json"), gamma.GammaMarket)
    assert isinstance(market.clob_token_ids, str)
    assert market.token_ids() == json.loads(json.loads(raw("gamma/gamma_market.json"))["clobTokenIds"])
    assert market.outcome_labels() == ["Up", "Down"]
    assert str(market.order_price_min_tick_size) == "0.01"
    events = decode(raw("gamma/gamma_event.json"), list[gamma.GammaEvent])
    assert events[0].neg_risk is True
    assert events[0].markets
    assert len(events[0].markets[0].token_ids()) == 2
    assert events[0].tags
    assert events[0].tags[0].slug == "world-elections"


@pytest.mark.parametrize("rel", ["gamma/gamma_market.json", "gamma/gamma_event.json"])
def test_gamma_declared_fields_reencode_as_served(rel: str) -> None:
    """Gamma structs declare a subset; what they do declare re-encodes with the served JSON types."""
    original = json.loads(raw(rel))
    decoded = decode(raw(rel), list[gamma.GammaEvent] if isinstance(original, list) else gamma.GammaMarket)
    again = json.loads(encode(decoded))

    def check(orig: Any, new: Any, path: str) -> None:
        if isinstance(new, dict):
            assert set(new) <= set(orig), path
            for key, value in new.items():
                check(orig[key], value, f"{path}.{key}")
        elif isinstance(new, list):
            for i, (a, b) in enumerate(zip(orig, new, strict=True)):
                check(a, b, f"{path}[{i}]")
        else:
            assert json_kind(orig) == json_kind(new), path
            assert orig == new, path

    check(original, again, "$")


def _mutate(rel: str, edit: Callable[[Any], None]) -> bytes:
    doc = json.loads(raw(rel))
    edit(doc)
    return json.dumps(doc).encode()


def test_unknown_enum_values_raise() -> None:
    def bad_side(doc: Any) -> None:
        doc[0]["payload"]["side"] = "HOLD"

    with pytest.raises(msgspec.ValidationError, match="side"):
        decode(_mutate("current-2026-09/rtds_activity_trades.json", bad_side), list[rtds.RtdsActivityFrame])

    def bad_trade_side(doc: Any) -> None:
        doc[0]["side"] = "buy"

    with pytest.raises(msgspec.ValidationError):
        data.decode_trades(_mutate("http/data_api_trades_mixed.json", bad_trade_side))

    row = b'{"proxyWallet":"0x1","timestamp":1,"conditionId":"","type":"AIRDROP","size":0,"usdcSize":0,'
    row += b'"transactionHash":"0x2","price":0,"asset":"","side":"","outcomeIndex":0}'
    with pytest.raises(msgspec.ValidationError, match="type"):
        data.decode_activity(b"[" + row + b"]")
    assert data.decode_activity(b"[" + row.replace(b"AIRDROP", b"REDEEM") + b"]")[0].type == "REDEEM"

    def bad_status(doc: Any) -> None:
        doc["status"] = "SETTLED"

    with pytest.raises(msgspec.ValidationError, match="status"):
        ws.decode_user_frame(_mutate("ws-user/user_trade2.json", bad_status))

    def bad_order_type(doc: Any) -> None:
        doc["order_type"] = "IOC"

    with pytest.raises(msgspec.ValidationError, match="order_type"):
        ws.decode_user_frame(_mutate("ws-user/order_placement.json", bad_order_type))

    with pytest.raises(ws.UnknownEventType):
        ws.decode_market_frame(b'{"event_type":"auction","market":"0x1"}')
    with pytest.raises(ws.UnknownEventType):
        ws.decode_user_frame(b'{"event_type":"fill"}')


def test_user_order_status_stays_free_form() -> None:
    def fok_kill(doc: Any) -> None:
        doc["status"] = "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."

    (order,) = ws.decode_user_frame(_mutate("ws-user/order_cancel.json", fok_kill))
    assert isinstance(order, ws.WsUserOrder)
    assert order.status.startswith("CANCELED_")


def test_empty_snapshot_and_price_change_formats() -> None:
    assert ws.decode_market_frame(b"[]") == []
    (legacy,) = ws.decode_market_frame(raw("ws-market/price_change.json"))
    assert isinstance(legacy, ws.WsPriceChangeLegacy)
    (current,) = ws.decode_market_frame(raw("ws-market/price_change_v2.json"))
    assert isinstance(current, ws.WsPriceChange)
    assert current.price_changes[0].best_ask == "0.7"


def test_v2_order_body_encodes_in_sdk_key_order() -> None:
    order = decode(raw("http/http_signed_order.json"), rest.SignedOrderV2)
    body = rest.PostOrderV2(order=order, owner="key-uuid", order_type="GTC")
    doc = json.loads(encode(body))
    assert list(doc) == ["order", "owner", "orderType", "deferExec", "postOnly"]
    assert doc["deferExec"] is False
    assert doc["postOnly"] is False
    assert list(doc["order"]) == [
        "salt",
        "maker",
        "signer",
        "tokenId",
        "makerAmount",
        "takerAmount",
        "side",
        "expiration",
        "signatureType",
        "timestamp",
        "metadata",
        "builder",
        "signature",
    ]


# Shapes quoted in the protocol reference (§3.1, §3.4, §2) that have no recorded file.
REFERENCE_EXAMPLES: list[tuple[bytes, Any]] = [
    (b'{"mid":"0.195"}', rest.Midpoint),
    (b'{"price":"0.19"}', rest.Price),
    (b'{"spread":"0.01"}', rest.Spread),
    (b'{"price":"0.45","side":"BUY"}', rest.LastTradePrice),
    (b'{"price":"0.5","side":""}', rest.LastTradePrice),
    (b'{"minimum_tick_size":0.01}', rest.TickSize),
    (b'{"neg_risk":false}', rest.NegRisk),
    (b'{"base_fee":0}', rest.FeeRate),
    (b'{"version":2}', rest.ServerVersion),
    (b'{"error":"Invalid token id"}', rest.ClobError),
    (
        b'{"error":"order couldn\'t be fully filled. FOK orders are fully filled or killed.","orderID":"0xab"}',
        rest.ClobError,
    ),
    (b'{"canceled":["0x1"],"not_canceled":{"0x2":"already canceled or matched"}}', rest.CancelResponse),
    (
        b'{"balance":"1000000","allowances":{"0xE111180000d2663C0091e4f400237545B87B996B":"115792"}}',
        rest.BalanceAllowance,
    ),
    (
        b'{"apiKey":"3e2c94ca-8124-c4c1-c7ea-be1ea21b71fe","secret":"c2VjcmV0","passphrase":"p"}',
        rest.ApiCreds,
    ),
    (b'{"condition_id":"0x1","primary_token_id":"1","secondary_token_id":"2"}', rest.MarketByToken),
    (
        b'{"c":"0x1","t":[{"t":"11","o":"Yes"},{"t":"22","o":"No"}],"mts":0.01,"nr":true,'
        b'"fd":{"r":0.072,"e":1,"to":true},"mbf":0,"tbf":1000,"ao":true,"mos":5,"sd":0,"v":"v1"}',
        rest.ClobMarketInfo,
    ),
    (b'{"data":[],"next_cursor":"LTE=","limit":100,"count":0}', rest.OrdersPage),
    (b'{"data":[],"next_cursor":"LTE=","limit":100,"count":0}', rest.TradesPage),
    (
        b'{"proxyWallet":"0xfd9b763674cb096cacec059fcfe60ae82aae09e8","timestamp":1783529873,'
        b'"conditionId":"0x94","type":"REDEEM","size":0,"usdcSize":0,"transactionHash":"0x83","price":0,'
        b'"asset":"","side":"","outcomeIndex":0}',
        data.DataActivity,
    ),
    (
        b'{"action":"subscribe","subscriptions":[{"topic":"activity","type":"trades",'
        b'"filters":"{\\"market_slug\\":\\"some-slug\\"}"}]}',
        rtds.RtdsSubscribeRequest,
    ),
    (b'{"body":{"message":"leger GetTopics error: x not found"},"statusCode":401}', rtds.RtdsStatusError),
    (
        b'{"connection_id":"c","topic":"crypto_prices","type":"update","timestamp":1,'
        b'"payload":{"symbol":"btcusdt","timestamp":1,"value":61035.86,"full_accuracy_value":"61035.86000000"}}',
        rtds.RtdsEnvelope,
    ),
    (b'{"assets_ids":["1","2"],"type":"market","custom_feature_enabled":true}', ws.MarketSubscribe),
    (b'{"operation":"unsubscribe","assets_ids":["1"]}', ws.MarketSubscriptionUpdate),
    (
        b'{"auth":{"apiKey":"k","secret":"s","passphrase":"p"},"markets":["0x1"],"type":"user"}',
        ws.UserSubscribe,
    ),
]


@pytest.mark.parametrize(
    ("payload", "tp"), REFERENCE_EXAMPLES, ids=[e[1].__name__ for e in REFERENCE_EXAMPLES]
)
def test_reference_examples_roundtrip(payload: bytes, tp: Any) -> None:
    decoded = decode(payload, tp)
    assert_same_shape(json.loads(payload), json.loads(encode(decoded)))


def test_reference_example_values() -> None:
    assert decode(b'{"minimum_tick_size":0.01}', rest.TickSize).minimum_tick_size == Decimal("0.01")
    info = decode(REFERENCE_EXAMPLES[15][0], rest.ClobMarketInfo)
    assert [t.t for t in info.t if t is not None] == ["11", "22"]
    assert info.nr is True
    envelope = decode(REFERENCE_EXAMPLES[21][0], rtds.RtdsEnvelope)
    price = decode(bytes(envelope.payload), rtds.RtdsCryptoPrice)
    assert str(price.value) == "61035.86"
