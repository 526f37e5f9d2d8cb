"""Orders from human terms, end to end against py_clob_client_v2's own OrderBuilder."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import CreateOrderOptions, MarketOrderArgsV2, OrderArgsV2
from py_clob_client_v2.order_builder import builder as sdk_builder_module
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils import SignatureTypeV2
from py_clob_client_v2.order_utils import exchange_order_builder_v2 as sdk_exchange_module
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer as SdkSigner

from polyhunter.adapters.polymarket.order_factory import limit_order, market_order
from polyhunter.adapters.polymarket.order_signer import (
    OrderSigner,
    SignatureType,
    exchange_domain,
    order_to_wire_json,
    recover_order_signer,
)
from polyhunter.domain.order_math import ROUNDING_CONFIG, TICK_SIZES, InvalidPriceError
from polyhunter.domain.signal import Side

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SIGNER = OrderSigner(KEY)
SDK_SIGNER = SdkSigner(KEY, 137)
FUNDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
TS_MS = 1_790_262_939_745
SALT = 123456789


class _FixedClock:
    @staticmethod
    def time_ns() -> int:
        return TS_MS * 1_000_000


@pytest.fixture(autouse=True)
def fixed_sdk_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The official builder reads the clock for the timestamp and draws a random salt: pin both."""
    monkeypatch.setattr(sdk_builder_module, "time", _FixedClock)
    # generate_salt is bound as a default argument of ExchangeOrderBuilderV2.__init__.
    monkeypatch.setattr(
        sdk_exchange_module.ExchangeOrderBuilderV2.__init__, "__defaults__", (lambda: str(SALT), "2")
    )


def _exact_in_float(x: Decimal, digits: int) -> bool:
    factor: int = 10**digits
    return math.floor(float(x) * factor) == math.floor(x.scaleb(digits))


def _float_quotient_exact(amount: Decimal, price: Decimal) -> bool:
    """The official client divides a market BUY's amount by its price in floats (598.27 / 0.0001 gives
    5982699.999999999): where that loses a base unit it is the client that is off, not us."""
    factor = 10**6
    return math.floor(float(amount) / float(price) * factor) == math.floor((amount / price).scaleb(6))


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    tick = draw(st.sampled_from(TICK_SIZES))
    return {
        "tick": tick,
        "price": tick * draw(st.integers(1, int((1 - tick) / tick))),
        "size": Decimal(draw(st.integers(100, 10**7))).scaleb(-2),
        "side": draw(st.sampled_from([Side.BUY, Side.SELL])),
        "neg_risk": draw(st.booleans()),
        "version": draw(st.sampled_from([2, 3])),
        "sig_type": draw(st.sampled_from([0, 1, 2, 3])),
        "token_id": draw(st.integers(1, 2**256 - 1)),
    }


def _sdk(sig_type: int) -> OrderBuilder:
    funder = FUNDER if sig_type else None
    return OrderBuilder(SDK_SIGNER, signature_type=SignatureTypeV2(sig_type), funder=funder)


def _order_terms(c: dict[str, Any]) -> dict[str, Any]:
    """The terms of a case both order builders take (all but the size or amount)."""
    return {
        "token_id": c["token_id"],
        "side": c["side"],
        "price": c["price"],
        "tick": c["tick"],
        "funder": FUNDER if c["sig_type"] else None,
        "signature_type": SignatureType(c["sig_type"]),
        "salt": SALT,
        "timestamp_ms": TS_MS,
    }


@settings(max_examples=60, deadline=None)
@given(cases())
def test_limit_order_equals_official_build_order(c: dict[str, Any]) -> None:
    assume(_exact_in_float(c["size"], 2))
    sdk_signed = _sdk(c["sig_type"]).build_order(
        OrderArgsV2(
            token_id=str(c["token_id"]), price=float(c["price"]), size=float(c["size"]), side=c["side"].value
        ),
        CreateOrderOptions(tick_size=str(c["tick"]), neg_risk=c["neg_risk"]),
        version=c["version"],
    )
    order = limit_order(SIGNER, size=c["size"], **_order_terms(c))
    domain = exchange_domain(137, c["version"], c["neg_risk"])
    signed = SIGNER.sign(order, domain)
    assert order_to_wire_json(signed, "k", "GTC") == order_to_json_v2(sdk_signed, "k", "GTC")
    assert recover_order_signer(order, signed.signature, domain) == SIGNER.address


@settings(max_examples=60, deadline=None)
@given(cases())
def test_market_order_equals_official_build_market_order(c: dict[str, Any]) -> None:
    assume(_exact_in_float(c["size"], 2) and _exact_in_float(c["price"], ROUNDING_CONFIG[c["tick"]].price))
    assume(c["side"] is Side.SELL or _float_quotient_exact(c["size"], c["price"]))
    sdk_signed = _sdk(c["sig_type"]).build_market_order(
        MarketOrderArgsV2(
            token_id=str(c["token_id"]),
            amount=float(c["size"]),
            side=c["side"].value,
            price=float(c["price"]),
        ),
        CreateOrderOptions(tick_size=str(c["tick"]), neg_risk=c["neg_risk"]),
        version=c["version"],
    )
    order = market_order(SIGNER, amount=c["size"], **_order_terms(c))
    signed = SIGNER.sign(order, exchange_domain(137, c["version"], c["neg_risk"]))
    assert order_to_wire_json(signed, "k", "FOK") == order_to_json_v2(sdk_signed, "k", "FOK")


def test_real_capture_amounts() -> None:
    # TYD capture: FAK BUY 5 @ 0.53 was signed makerAmount 2650000 / takerAmount 5000000.
    order = limit_order(
        SIGNER, token_id=1, side=Side.BUY, size=Decimal(5), price=Decimal("0.53"), tick="0.01"
    )
    assert (order.maker_amount, order.taker_amount, order.expiration) == (2_650_000, 5_000_000, 0)


def test_rejects_bad_prices_and_empty_orders() -> None:
    with pytest.raises(InvalidPriceError):
        limit_order(SIGNER, token_id=1, side=Side.BUY, size=Decimal(5), price=Decimal("0.535"), tick="0.01")
    with pytest.raises(InvalidPriceError):
        market_order(
            SIGNER, token_id=1, side=Side.BUY, amount=Decimal(5), price=Decimal("0.995"), tick="0.01"
        )
    with pytest.raises(ValueError, match="empty"):
        limit_order(
            SIGNER, token_id=1, side=Side.SELL, size=Decimal("0.004"), price=Decimal("0.5"), tick="0.01"
        )
