"""Shared pieces of the Polymarket wire schemas: struct bases, common literals, encode/decode helpers.

Conventions for every ``wire_*`` module:

* Structs are frozen and keyword-only; fields are declared in the order the live venue serves them,
  because msgspec encodes in declaration order (the simulator answers with these structs).
* A field the live payload always carries has no default (``null`` on the wire stays a required
  ``X | None``). A field the payload sometimes leaves out is ``X | None = None``; with
  ``omit_defaults`` it is left out again on encode, so a decoded frame re-encodes to the same keys.
* Decimal values the wire writes as strings stay ``str``; values it writes as JSON numbers where the
  exact value matters (sizes, prices, fees) decode to ``Decimal`` from the number's digits (no float
  detour) and encode back as JSON numbers.
* Wire structs hold no reference cycles, so they are not tracked by the cycle collector
  (``gc=False``): decoding the RTDS firehose then does not trigger collections.
* Enumerations are ``Literal`` types: an unknown value fails decoding with ``msgspec.ValidationError``.
  Fields the venue documents as free-form (user-channel order ``status``) stay ``str``.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")

SideWire = Literal["BUY", "SELL"]


class WireSnake(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Base of structs whose wire names are already snake_case (CLOB)."""


class WireCamel(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel", gc=False):
    """Base of structs whose wire names are camelCase (Data API v1, RTDS, Gamma, order bodies)."""


class PriceLevel(WireSnake, frozen=True, kw_only=True):
    """One book level; both values are decimal strings (``"0.57"``, ``"158113.96"``)."""

    price: str
    size: str


class MakerOrder(WireSnake, frozen=True, kw_only=True):
    """A maker leg of a CLOB trade (user-channel ``trade`` event and ``/data/trades`` rows)."""

    order_id: str
    owner: str
    maker_address: str
    matched_amount: str
    price: str
    fee_rate_bps: str
    asset_id: str
    outcome: str
    side: SideWire | None = None
    outcome_index: int | None = None
    builder_fee: str | None = None
    builder_code: str | None = None


# One encoder for every wire struct: Decimal fields go out as JSON numbers, exactly as decoded.
ENCODER = msgspec.json.Encoder(decimal_format="number")


class WireDecoder(Generic[T]):
    """A ``msgspec.json.Decoder`` whose only errors are msgspec's: JSON nested deeper than msgspec recurses
    (``[[[[...`` from a hostile peer) raises ``msgspec.DecodeError``, not ``RecursionError``."""

    __slots__ = ("_dec",)

    def __init__(self, tp: type[T]) -> None:
        self._dec: msgspec.json.Decoder[T] = msgspec.json.Decoder(tp)

    def decode(self, data: bytes | str | memoryview | msgspec.Raw) -> T:
        try:
            return self._dec.decode(data)
        except RecursionError:
            raise msgspec.DecodeError("JSON is malformed: nested too deeply") from None


_decoders: dict[Any, WireDecoder[Any]] = {}


def decoder_for(tp: type[T]) -> WireDecoder[T]:
    """The module-level decoder for ``tp``, built once and reused."""
    dec: WireDecoder[T] | None = _decoders.get(tp)
    if dec is None:
        dec = WireDecoder(tp)
        _decoders[tp] = dec
    return dec


def decode(data: bytes | str, tp: type[T]) -> T:
    """Decode JSON into ``tp``; raises ``msgspec.ValidationError`` / ``msgspec.DecodeError``."""
    return decoder_for(tp).decode(data)


def encode(obj: Any) -> bytes:
    """Encode a wire struct (or a list of them) as compact JSON in declaration order."""
    return ENCODER.encode(obj)
