"""A signal as a stream entry's fields and back (plain strings: decimals and times stay exact)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from polyhunter.domain.signal import Side, Signal, SourceKind


class BadEntryError(ValueError):
    """A stream entry that is not a signal (written by hand, by another version, or damaged)."""


def encode(signal: Signal) -> bytes:
    return json.dumps(signal.fields(), separators=(",", ":")).encode()


def decode(raw: bytes) -> Signal:
    try:
        d = json.loads(raw)
        fill_time = datetime.fromisoformat(d["fill_time"])
        seen_at = datetime.fromisoformat(d["seen_at"])
        if fill_time.tzinfo is None or seen_at.tzinfo is None:
            raise BadEntryError("naive timestamp")
        return Signal(
            key=str(d["key"]),
            leader=str(d["leader"]),
            asset=str(d["asset"]),
            condition_id=str(d["condition_id"]),
            side=Side(d["side"]),
            size=Decimal(d["size"]),
            price=Decimal(d["price"]),
            tx_hash=str(d["tx_hash"]),
            fill_time=fill_time,
            seen_at=seen_at,
            source=SourceKind(d["source"]),
            slug=str(d.get("slug", "")),
            outcome=str(d.get("outcome", "")),
        )
    except BadEntryError:
        raise
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise BadEntryError(f"not a signal: {exc!r}") from exc
