"""Pure pieces of the simulator server: deterministic catalogs, number formatting, wire conversions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from polyhunter.adapters.polymarket.wire_base import encode
from polyhunter.sim.events import BookSnapshot, Level
from polyhunter.sim.scenario_agents import address_for, snap
from polyhunter.sim.scenario_markets import build_catalog
from polyhunter.sim.server_data_api import number
from polyhunter.sim.server_wire import book_hash, clob_book

START = datetime(2026, 11, 23, tzinfo=UTC)


def test_catalog_is_a_function_of_the_seed() -> None:
    first, again, other = build_catalog(7, 6, START), build_catalog(7, 6, START), build_catalog(8, 6, START)
    assert first == again
    assert {i.condition_id for i in first}.isdisjoint({i.condition_id for i in other})
    assert len({t for i in first for t in i.market.tokens}) == 12
    assert all(len(i.condition_id) == 66 and i.condition_id == i.condition_id.lower() for i in first)
    assert any(i.market.neg_risk for i in first)
    assert any(not i.market.neg_risk for i in first)
    assert address_for(7, "leader", 0) == address_for(7, "leader", 0) != address_for(7, "leader", 1)


def test_numbers_print_like_the_data_api() -> None:
    assert encode([number(Decimal("8643.000000")), number(Decimal("0.680")), number(Decimal(2) / 3)]) == (
        b"[8643,0.68,0.666667]"
    )
    assert encode(number(Decimal("0.95974720990"), 10)) == b"0.9597472099"


def test_snap_keeps_prices_on_tick_and_inside_the_range() -> None:
    tick = Decimal("0.01")
    assert snap(Decimal("0.537"), tick) == Decimal("0.53")
    assert snap(Decimal("1.2"), tick) == Decimal("0.99")
    assert snap(Decimal("-0.5"), tick) == Decimal("0.01")


def test_book_wire_is_worst_first_with_the_sdk_hash() -> None:
    book = BookSnapshot(
        market="0x" + "ab" * 32,
        asset_id="123",
        timestamp_ms=1_790_262_939_745,
        bids=(Level(Decimal("0.5"), 10_000_000), Level(Decimal("0.51"), 2_500_000)),
        asks=(Level(Decimal("0.6"), 1_000_000), Level(Decimal("0.55"), 5_000_000)),
        tick_size=Decimal("0.01"),
        min_order_size=Decimal(5),
        neg_risk=True,
        last_trade_price=Decimal("0.42"),
        last_trade_side=None,
    )
    wire = clob_book(book)
    assert encode(wire) == (
        b'{"market":"0x' + b"ab" * 32 + b'","asset_id":"123","timestamp":"1790262939745","hash":"'
        + wire.hash.encode()
        + b'","bids":[{"price":"0.5","size":"10"},{"price":"0.51","size":"2.5"}],'
        b'"asks":[{"price":"0.6","size":"1"},{"price":"0.55","size":"5"}],'
        b'"min_order_size":"5","tick_size":"0.01","neg_risk":true,"last_trade_price":"0.420"}'
    )  # fmt: skip
    served = msgspec.json.decode(encode(wire))
    assert (
        wire.hash == book_hash(book) == generate_orderbook_summary_hash(parse_raw_orderbook_summary(served))
    )
