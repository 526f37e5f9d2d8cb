"""Validation at the edge: each rule of ``wire_validation``, and ``check_fill`` (the rules written out in
one function for the push path) agreeing with them (the poisoned inputs of each source:
test_wire_poisoned_inputs.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyhunter.adapters.polymarket.parse_signals import (
    CheckedFill,
    check_fill,
    map_side,
)
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
from tests.support.wire_samples import CONDITION, LEADER, NOW_S, SEEN, TOKEN, TX, YEAR_3000

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
