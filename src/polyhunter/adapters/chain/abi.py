"""Solidity ABI encoding and decoding for the few types PolyHunter needs, written by hand.

Supported types: ``uint<N>``, ``int<N>``, ``address``, ``bool``, ``bytes32`` (any ``bytes<N>``), ``bytes``, dynamic arrays
``T[]``, fixed arrays ``T[k]`` and tuples ``(T1,T2,...)``, nested freely. Head/tail layout as in the Solidity ABI
specification: static values inline, dynamic values behind a 32-byte offset relative to the start of the
enclosing tuple. Values in Python: ints for integers, ``0x`` hex strings for addresses, ``bytes`` (or ``0x``
hex) for fixed bytes, sequences for arrays and tuples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from Crypto.Hash import keccak

WORD = 32
_UINT_MAX = {bits: (1 << bits) - 1 for bits in range(8, 257, 8)}


class AbiError(ValueError):
    """A value does not fit its ABI type, or data is not a valid encoding."""


def keccak256(data: bytes) -> bytes:
    digest = keccak.new(digest_bits=256)
    digest.update(data)
    return bytes(digest.digest())


def function_selector(signature: str) -> bytes:
    """First 4 bytes of keccak256 of a canonical signature such as ``transfer(address,uint256)``."""
    return keccak256(signature.encode())[:4]


def event_topic(signature: str) -> str:
    """topic0 of an event: ``0x`` + keccak256 of its canonical signature."""
    return "0x" + keccak256(signature.encode()).hex()


def hex_to_bytes(value: str) -> bytes:
    text = value[2:] if value.startswith(("0x", "0X")) else value
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise AbiError(f"not hex: {value!r}") from exc


def address_topic(address: str) -> str:
    """An address as an indexed topic: lower-case, left-padded to 32 bytes."""
    raw = hex_to_bytes(address)
    if len(raw) != 20:
        raise AbiError(f"address must be 20 bytes: {address!r}")
    return "0x" + raw.rjust(WORD, b"\0").hex()


def topic_to_address(topic: str) -> str:
    raw = hex_to_bytes(topic)
    if len(raw) != WORD or any(raw[:12]):
        raise AbiError(f"not an address topic: {topic!r}")
    return "0x" + raw[12:].hex()


# --- type parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AbiType:
    kind: str  # "uint" | "int" | "address" | "bool" | "bytes" | "dynbytes" | "array" | "tuple"
    bits: int = 0  # uint/int width, or byte length for fixed bytes
    element: AbiType | None = None  # array element
    length: int | None = None  # fixed array length; None = dynamic array
    components: tuple[AbiType, ...] = ()

    @property
    def item(self) -> AbiType:
        """The element type of an array."""
        if self.element is None:
            raise AbiError(f"{self.kind} has no element type")
        return self.element

    @property
    def dynamic(self) -> bool:
        if self.kind == "dynbytes":
            return True
        if self.kind == "array":
            return self.length is None or self.item.dynamic
        if self.kind == "tuple":
            return any(c.dynamic for c in self.components)
        return False

    @property
    def head_size(self) -> int:
        """Bytes this type takes in its parent's head (an offset word when dynamic)."""
        if self.dynamic:
            return WORD
        if self.kind == "array" and self.length is not None:
            return self.length * self.item.head_size
        if self.kind == "tuple":
            return sum(c.head_size for c in self.components)
        return WORD


_ELEMENTARY = re.compile(r"^(uint|int)(\d*)$|^(address|bool)$|^bytes(\d+)$")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_type(text: str) -> AbiType:
    text = text.strip()
    if text == "bytes":
        return AbiType("dynbytes")
    if text.endswith("]"):
        open_at = text.rindex("[")
        inner = parse_type(text[:open_at])
        size = text[open_at + 1 : -1]
        return AbiType("array", element=inner, length=int(size) if size else None)
    if text.startswith("("):
        if not text.endswith(")"):
            raise AbiError(f"bad tuple type: {text!r}")
        return AbiType("tuple", components=tuple(parse_type(p) for p in _split_top_level(text[1:-1])))
    if text == "bytes":
        return AbiType("dynbytes")
    match = _ELEMENTARY.match(text)
    if match is None:
        raise AbiError(f"unsupported ABI type: {text!r}")
    if match.group(1):
        bits = int(match.group(2) or 256)
        if bits not in _UINT_MAX:
            raise AbiError(f"bad integer width: {text!r}")
        return AbiType(match.group(1), bits=bits)
    if match.group(3):
        return AbiType(match.group(3))
    length = int(match.group(4))
    if not 1 <= length <= WORD:
        raise AbiError(f"bad fixed bytes length: {text!r}")
    return AbiType("bytes", bits=length)


def parse_signature(signature: str) -> tuple[str, list[AbiType]]:
    """``name(t1,t2)`` -> (name, [types])."""
    open_at = signature.index("(")
    if not signature.endswith(")"):
        raise AbiError(f"bad signature: {signature!r}")
    return signature[:open_at], [parse_type(p) for p in _split_top_level(signature[open_at + 1 : -1])]


# --- encoding -------------------------------------------------------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def _encode_static_scalar(typ: AbiType, value: object) -> bytes:
    if typ.kind == "uint":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT_MAX[typ.bits]:
            raise AbiError(f"uint{typ.bits} out of range: {value!r}")
        return _word(value)
    if typ.kind == "int":
        limit = 1 << (typ.bits - 1)
        if isinstance(value, bool) or not isinstance(value, int) or not -limit <= value < limit:
            raise AbiError(f"int{typ.bits} out of range: {value!r}")
        return value.to_bytes(WORD, "big", signed=True)
    if typ.kind == "bool":
        if not isinstance(value, bool):
            raise AbiError(f"bool expected: {value!r}")
        return _word(int(value))
    if typ.kind == "address":
        raw = hex_to_bytes(value) if isinstance(value, str) else None
        if raw is None or len(raw) != 20:
            raise AbiError(f"address expected: {value!r}")
        return raw.rjust(WORD, b"\0")
    fixed: object = hex_to_bytes(value) if isinstance(value, str) else value
    if not isinstance(fixed, bytes | bytearray) or len(fixed) != typ.bits:
        raise AbiError(f"bytes{typ.bits} expected: {value!r}")
    return bytes(fixed).ljust(WORD, b"\0")


def _encode_sequence(types: Sequence[AbiType], values: Sequence[object]) -> bytes:
    if len(types) != len(values):
        raise AbiError(f"expected {len(types)} values, got {len(values)}")
    head_size = sum(t.head_size for t in types)
    heads: list[bytes] = []
    tails: list[bytes] = []
    tail_offset = head_size
    for typ, value in zip(types, values, strict=True):
        encoded = _encode_value(typ, value)
        if typ.dynamic:
            heads.append(_word(tail_offset))
            tails.append(encoded)
            tail_offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def _encode_dynbytes(value: object) -> bytes:
    raw = hex_to_bytes(value) if isinstance(value, str) else value
    if not isinstance(raw, bytes | bytearray):
        raise AbiError(f"bytes expected: {value!r}")
    padded = bytes(raw).ljust(-(-len(raw) // WORD) * WORD, b"\0")
    return _word(len(raw)) + padded


def _encode_value(typ: AbiType, value: object) -> bytes:
    if typ.kind == "dynbytes":
        return _encode_dynbytes(value)
    if typ.kind == "tuple":
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise AbiError(f"tuple expected: {value!r}")
        return _encode_sequence(typ.components, value)
    if typ.kind == "array":
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise AbiError(f"array expected: {value!r}")
        body = _encode_sequence([typ.item] * len(value), value)
        if typ.length is None:
            return _word(len(value)) + body
        if len(value) != typ.length:
            raise AbiError(f"array of {typ.length} expected, got {len(value)}")
        return body
    if typ.kind == "dynbytes":
        raw: object = hex_to_bytes(value) if isinstance(value, str) else value
        if not isinstance(raw, bytes | bytearray):
            raise AbiError(f"bytes expected: {value!r}")
        padded = bytes(raw).ljust(-(-len(raw) // WORD) * WORD, b"\0")
        return _word(len(raw)) + padded
    return _encode_static_scalar(typ, value)


def encode(types: Sequence[str | AbiType], values: Sequence[object]) -> bytes:
    """ABI-encode ``values`` as the tuple of ``types`` (the layout of call arguments)."""
    parsed = [parse_type(t) if isinstance(t, str) else t for t in types]
    return _encode_sequence(parsed, values)


def encode_call(signature: str, values: Sequence[object]) -> bytes:
    """Call data: 4-byte selector of the canonical signature + encoded arguments."""
    _, types = parse_signature(signature)
    return function_selector(signature) + _encode_sequence(types, values)


# --- decoding -------------------------------------------------------------------------------------


def _read_word(data: bytes, offset: int) -> int:
    if offset < 0 or offset + WORD > len(data):
        raise AbiError(f"data too short: need {offset + WORD} bytes, have {len(data)}")
    return int.from_bytes(data[offset : offset + WORD], "big")


def _decode_scalar(typ: AbiType, data: bytes, offset: int) -> object:
    value = _read_word(data, offset)
    if typ.kind == "uint":
        if value > _UINT_MAX[typ.bits]:
            raise AbiError(f"uint{typ.bits} out of range at {offset}")
        return value
    if typ.kind == "int":
        signed = int.from_bytes(data[offset : offset + WORD], "big", signed=True)
        limit = 1 << (typ.bits - 1)
        if not -limit <= signed < limit:
            raise AbiError(f"int{typ.bits} out of range at {offset}")
        return signed
    if typ.kind == "bool":
        if value > 1:
            raise AbiError(f"bad bool at {offset}")
        return value == 1
    if typ.kind == "address":
        if value >> 160:
            raise AbiError(f"bad address at {offset}")
        return "0x" + data[offset + 12 : offset + WORD].hex()
    return bytes(data[offset : offset + typ.bits])


def _decode_sequence(types: Sequence[AbiType], data: bytes, base: int) -> list[object]:
    out: list[object] = []
    head = base
    for typ in types:
        if typ.dynamic:
            out.append(_decode_value(typ, data, base + _read_word(data, head)))
        else:
            out.append(_decode_value(typ, data, head))
        head += typ.head_size
    return out


def _decode_value(typ: AbiType, data: bytes, offset: int) -> object:
    if typ.kind == "dynbytes":
        size = _read_word(data, offset)
        if size > len(data) - offset - WORD:
            raise AbiError(f"bytes length {size} exceeds data")
        return bytes(data[offset + WORD : offset + WORD + size])
    if typ.kind == "tuple":
        return tuple(_decode_sequence(typ.components, data, offset))
    if typ.kind == "array":
        if typ.length is None:
            count = _read_word(data, offset)
            if count > len(data) // WORD:
                raise AbiError(f"array length {count} exceeds data")
            return _decode_sequence([typ.item] * count, data, offset + WORD)
        return _decode_sequence([typ.item] * typ.length, data, offset)
    if typ.kind == "dynbytes":
        size = _read_word(data, offset)
        if offset + WORD + size > len(data):
            raise AbiError(f"bytes of {size} exceed data")
        return bytes(data[offset + WORD : offset + WORD + size])
    return _decode_scalar(typ, data, offset)


def decode(types: Sequence[str | AbiType], data: bytes) -> tuple[object, ...]:
    """Inverse of :func:`encode`."""
    parsed = [parse_type(t) if isinstance(t, str) else t for t in types]
    return tuple(_decode_sequence(parsed, data, 0))
