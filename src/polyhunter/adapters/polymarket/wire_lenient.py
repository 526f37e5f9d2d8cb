"""Tolerant decoding of the CLOB's order answers, as tolerant as the official client (which keeps dicts).

The order-checking path (``POST /order``'s answer, ``GET /data/order``, ``/data/trades``,
``/balance-allowance``) is decoded strictly first (the fast path: what the venue sends today). Only if
that fails is the body decoded again, tolerantly:

* a JSON number where the schema has a string (``"price": 0.5``, ``"balance": 1000000``) becomes
  that string, with the number's own digits (no float detour); a string where the schema has an
  integer (``"created_at": "1700000000"``) becomes that integer;
* a field the checks never read, left out of the answer, takes the default of :data:`DEFAULTS`
  (``fee_rate_bps``, ``outcome``, ``errorMsg``, ...).

Amounts and prices are never defaulted: a missing one still fails decoding, and their values are
still validated by the callers (``wire_validation``) once decoded. The wire structs themselves are
unchanged (the simulator encodes with them).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

from polyhunter.adapters.polymarket.wire_base import MakerOrder, decode
from polyhunter.adapters.polymarket.wire_clob_rest import ClobTrade, OpenOrder, PostOrderResponse, TradesPage

T = TypeVar("T")

# Fields the order checks never read, by struct: the value a missing one takes (wire names).
DEFAULTS: dict[type[Any], dict[str, Any]] = {
    MakerOrder: {"owner": "", "maker_address": "", "fee_rate_bps": "0", "asset_id": "", "outcome": ""},
    ClobTrade: {
        "market": "",
        "fee_rate_bps": "0",
        "match_time": "0",
        "last_update": "0",
        "outcome": "",
        "bucket_index": 0,
        "owner": "",
        "maker_address": "",
        "maker_orders": [],
        "trader_side": "TAKER",
    },
    OpenOrder: {
        "owner": "",
        "maker_address": "",
        "market": "",
        "outcome": "",
        "expiration": "0",
        "order_type": "GTC",
        "associate_trades": None,
        "created_at": 0,
    },
    PostOrderResponse: {"errorMsg": ""},
    TradesPage: {"next_cursor": "LTE=", "limit": 0, "count": 0},  # no cursor: the last page
}


_UNTYPED = msgspec.json.Decoder(float_hook=Decimal)
MAX_DEPTH = 16  # the answers nest 4 deep (page, rows, a row, its maker legs)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


_infos: dict[Any, mi.Type] = {}


def _info(tp: Any) -> mi.Type:
    info = _infos.get(tp)
    if info is None:
        info = _infos[tp] = mi.type_info(tp)
    return info


def _accepts_str(info: mi.Type) -> bool:
    if isinstance(info, mi.StrType):
        return True
    return isinstance(info, mi.UnionType) and any(isinstance(t, mi.StrType) for t in info.types)


def _coerce(value: Any, info: mi.Type) -> Any:
    """`value` (decoded untyped, floats as Decimal) shaped towards `info`: numbers to strings where a
    string is expected, defaults for the missing fields of :data:`DEFAULTS`."""
    if isinstance(info, mi.UnionType):
        structs = [t for t in info.types if isinstance(t, mi.StructType)]
        if isinstance(value, dict) and len(structs) == 1:
            return _coerce(value, structs[0])
        for t in info.types:
            if isinstance(t, mi.ListType | mi.DictType) and isinstance(value, list | dict):
                return _coerce(value, t)
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and _accepts_str(info):
        return str(value)
    if isinstance(value, Decimal):
        return float(value) if isinstance(info, mi.FloatType) else value
    if isinstance(info, mi.ListType) and isinstance(value, list):
        return [_coerce(v, info.item_type) for v in value]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        return {k: _coerce(v, info.value_type) for k, v in value.items()}
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        return _coerce_struct(value, info)
    return value


def _coerce_struct(value: dict[str, Any], info: mi.StructType) -> dict[str, Any]:
    defaults = DEFAULTS.get(info.cls, {})
    out = dict(value)
    for f in info.fields:
        if f.encode_name in out:
            out[f.encode_name] = _coerce(out[f.encode_name], f.type)
        elif f.encode_name in defaults:
            out[f.encode_name] = defaults[f.encode_name]
    return out


def decode_tolerant(raw: bytes, tp: type[T]) -> T:
    """Decode `raw` into `tp` strictly, else tolerantly (see the module's docstring). Raises
    ``msgspec.DecodeError`` (``ValidationError`` is one) when neither works."""
    try:
        return decode(raw, tp)
    except msgspec.ValidationError:
        pass
    if _depth(raw) > MAX_DEPTH:  # a hostile `[[[[...`: never handed to the untyped (recursive) decoder
        raise msgspec.DecodeError("JSON is malformed: nested too deeply")
    try:
        untyped = _UNTYPED.decode(raw)
        return msgspec.convert(_coerce(untyped, _info(tp)), tp, strict=False)
    except RecursionError:
        raise msgspec.DecodeError("JSON is malformed: nested too deeply") from None


def _depth(raw: bytes) -> int:
    """How deeply the JSON in `raw` nests arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest
