"""Reading a recorded history file, streamed: rows become domain records one at a time.

The file is a JSON array (or JSON Lines: one object per line) of rows as the venue serves them, in
any order (the Data API lists newest first), mixed freely:

* a trade: a Data API ``/trades`` row, an ``/activity`` row of type TRADE, or an RTDS ``activity``
  frame (its ``payload`` is the row) -> a `HistoryFill`;
* a resolution: an ``/activity`` REDEEM row (``usdcSize / size`` is the payout per share of its
  token), a CLOB ``market_resolved`` event (the winning token pays 1, the others 0), or a
  ``/positions`` row with ``redeemable: true`` (pays its ``curPrice``) -> a `Resolution`; a binary
  market's other token, when the file names it, pays one minus that;
* a mark: a ``/positions`` row that is not redeemable -> its ``curPrice`` values the open position.

Other activity types (SPLIT, MERGE, REWARD, ...) and REDEEM rows without a token are counted and left
out. A row that is none of these, or has a bad field, stops the read with one line naming the row
(``history.json: row 12: price 'abc' is not a number``). The file is read in chunks of 1 MiB and
decoded row by row (a row is at most 1 MiB): what is kept is one small record per fill, never the
file's text or its dicts; `on_progress(bytes_read, total_bytes)` is called after each chunk.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from polyhunter.domain.history import History, HistoryFill, Resolution
from polyhunter.domain.signal import Side

CHUNK = 1 << 20
MAX_ROW = 1 << 20
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TOKEN = re.compile(r"^[0-9]{1,80}$")
_CONDITION = re.compile(r"^0x[0-9a-fA-F]{64}$")
_DECODER = json.JSONDecoder(parse_float=Decimal)


class HistoryError(ValueError):
    """A history file that cannot be read: one line naming the file and the row."""


Progress = Callable[[int, int], None]


class _Stream:
    """The file's text, a chunk at a time: `buf[pos:]` is what is not decoded yet."""

    def __init__(self, path: Path, fh: BinaryIO, total: int, on_progress: Progress | None) -> None:
        self.path, self.fh, self.total, self.on_progress = path, fh, total, on_progress
        self.buf, self.pos, self.read, self.pending = "", 0, 0, b""

    def more(self) -> bool:
        chunk = self.fh.read(CHUNK)
        if not chunk:
            if self.pending:
                raise HistoryError(f"{self.path}: not UTF-8 near byte {self.read}")
            return False
        self.read += len(chunk)
        data = self.pending + chunk
        try:
            text, self.pending = data.decode(), b""
        except UnicodeDecodeError as exc:
            if exc.start < len(data) - 3:  # not a character cut by the chunk's end
                raise HistoryError(
                    f"{self.path}: not UTF-8 at byte {self.read - len(data) + exc.start}"
                ) from None
            text, self.pending = data[: exc.start].decode(), data[exc.start :]
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        if self.on_progress is not None:
            self.on_progress(self.read, self.total)
        return True

    def skip(self, extra: str = "") -> bool:
        """Past blanks (and `extra`); False at the end of the file."""
        while True:
            while self.pos < len(self.buf) and (self.buf[self.pos].isspace() or self.buf[self.pos] in extra):
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def decode(self, index: int) -> Any:
        while True:
            try:
                row, self.pos = _DECODER.raw_decode(self.buf, self.pos)
                return row
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_ROW or not self.more():
                    raise HistoryError(f"{self.path}: row {index}: not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise HistoryError(f"{self.path}: row {index}: nested too deeply") from None


def iter_rows(path: Path, on_progress: Progress | None = None) -> Iterator[tuple[int, Any]]:
    """(index, decoded row) for each element of the file's top-level array (or each JSON line)."""
    try:
        total = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        text = _Stream(path, fh, total, on_progress)
        if not text.skip("\ufeff"):
            return  # an empty file: no rows
        array = text.buf[text.pos] == "["
        text.pos += int(array)
        index = 0
        while True:
            if not text.skip(","):
                if array:
                    raise HistoryError(f"{path}: row {index}: the file ends before the array closes")
                return
            if array and text.buf[text.pos] == "]":
                text.pos += 1
                if text.skip():
                    raise HistoryError(f"{path}: data after the closing ']'")
                return
            yield index, text.decode(index)
            index += 1


def _where(path: Path, index: int) -> str:
    return f"{path}: row {index}"


def _num(row: dict[str, Any], key: str, where: str) -> Decimal:
    if key not in row or row[key] is None:
        raise HistoryError(f"{where}: no {key}")
    value = row[key]
    if isinstance(value, bool):
        raise HistoryError(f"{where}: {key} {value!r} is not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise HistoryError(f"{where}: {key} {str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise HistoryError(f"{where}: {key} {value!r} is not a finite number")
    return number


def _text(row: dict[str, Any], key: str, where: str, pattern: re.Pattern[str]) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise HistoryError(f"{where}: {key} {str(value)[:70]!r} is not a valid {key}")
    return value.lower()


def _timestamp(row: dict[str, Any], key: str, where: str) -> int:
    ts = _num(row, key, where)
    if ts <= 0 or ts != ts.to_integral_value():
        raise HistoryError(f"{where}: {key} {ts} is not a time in epoch seconds")
    seconds = int(ts)
    return seconds // 1000 if seconds > 10**11 else seconds  # milliseconds (RTDS, the CLOB) to seconds


def _fill(row: dict[str, Any], where: str) -> HistoryFill:
    side = str(row.get("side", "")).upper()
    if side not in ("BUY", "SELL"):
        raise HistoryError(f"{where}: side {row.get('side')!r} is not BUY or SELL")
    size = _num(row, "size", where)
    price = _num(row, "price", where)
    if size <= 0:
        raise HistoryError(f"{where}: size {size} must be above 0")
    if not 0 < price < 1:
        raise HistoryError(f"{where}: price {price} must be between 0 and 1")
    fee = _num(row, "fee", where) if row.get("fee") is not None else Decimal(0)
    if fee < 0:
        raise HistoryError(f"{where}: fee {fee} must be 0 or more")
    tx = row.get("transactionHash")
    return HistoryFill(  # the ids repeat on every fill of a market: one string each (sys.intern)
        leader=sys.intern(_text(row, "proxyWallet", where, _ADDRESS)),
        asset=sys.intern(_text(row, "asset", where, _TOKEN)),
        condition_id=sys.intern(_text(row, "conditionId", where, _CONDITION)),
        side=Side(side),
        size=size,
        price=price,
        timestamp=_timestamp(row, "timestamp", where),
        tx_hash=str(tx).lower() if isinstance(tx, str) else "",
        fee=fee,
        slug=sys.intern(str(row.get("slug") or "")),
        outcome=sys.intern(str(row.get("outcome") or "")),
    )


class _Reader:
    def __init__(self, path: Path, leaders: set[str] | None) -> None:
        self.path = path
        self.leaders = leaders
        self.history = History()
        self.tokens: dict[str, dict[int, str]] = {}  # condition id -> outcome index -> token

    def ignore(self, kind: str) -> None:
        self.history.ignored[kind] = self.history.ignored.get(kind, 0) + 1

    def resolve(self, asset: str, cid: str, payout: Decimal, ts: int | None, where: str) -> None:
        if not 0 <= payout <= 1:
            raise HistoryError(f"{where}: payout {payout.normalize():f} per share is not between 0 and 1")
        self.history.resolutions[asset] = Resolution(asset, cid, payout, ts)

    def token(self, row: dict[str, Any], cid: str, asset: str) -> None:
        index = row.get("outcomeIndex")
        if isinstance(index, int) and index in (0, 1):
            self.tokens.setdefault(cid, {})[index] = asset

    def row(self, index: int, item: Any) -> None:
        where = _where(self.path, index)
        if isinstance(item, dict) and "topic" in item and isinstance(item.get("payload"), dict):
            item = item["payload"]
        if not isinstance(item, dict):
            raise HistoryError(f"{where}: expected an object (a trade, activity, position or resolution row)")
        if item.get("event_type") == "market_resolved":
            self.market_resolved(item, where)
        elif "redeemable" in item and "curPrice" in item:
            self.position(item, where)
        elif "type" in item and item.get("type") != "TRADE":
            self.activity(item, where)
        else:
            fill = _fill(item, where)
            self.token(item, fill.condition_id, fill.asset)
            if self.leaders is None or fill.leader in self.leaders:
                self.history.fills.append(fill)

    def market_resolved(self, item: dict[str, Any], where: str) -> None:
        cid = _text(item, "market", where, _CONDITION)
        winner = _text(item, "winning_asset_id", where, _TOKEN)
        assets = item.get("assets_ids")
        if not isinstance(assets, list) or winner not in assets:
            raise HistoryError(f"{where}: assets_ids must list the winning_asset_id")
        ts = _timestamp(item, "timestamp", where)
        for asset in assets:
            self.resolve(str(asset), cid, Decimal(1 if asset == winner else 0), ts, where)

    def position(self, item: dict[str, Any], where: str) -> None:
        asset = _text(item, "asset", where, _TOKEN)
        cid = _text(item, "conditionId", where, _CONDITION)
        price = _num(item, "curPrice", where)
        if not 0 <= price <= 1:
            raise HistoryError(f"{where}: curPrice {price} must be between 0 and 1")
        self.token(item, cid, asset)
        if item.get("redeemable") is True:
            if asset not in self.history.resolutions:
                self.resolve(asset, cid, price, None, where)
        else:
            self.history.marks[asset] = price

    def activity(self, item: dict[str, Any], where: str) -> None:
        kind = str(item.get("type"))
        if kind != "REDEEM":
            self.ignore(kind)
            return
        asset = item.get("asset")
        size = _num(item, "size", where)
        if not asset or size <= 0:
            self.ignore("REDEEM without a token")
            return
        asset = _text(item, "asset", where, _TOKEN)
        cid = _text(item, "conditionId", where, _CONDITION)
        payout = _num(item, "usdcSize", where) / size
        ts = _timestamp(item, "timestamp", where)
        self.resolve(asset, cid, payout.quantize(Decimal("0.000001")), ts, where)

    def finish(self) -> History:
        """Time order (stable), and a binary market's other token resolved at one minus the payout."""
        h = self.history
        h.fills.sort(key=lambda f: f.timestamp)
        for cid, tokens in self.tokens.items():
            if len(tokens) != 2:
                continue
            a, b = tokens[0], tokens[1]
            for known, other in ((a, b), (b, a)):
                res = h.resolutions.get(known)
                if res is not None and other not in h.resolutions:
                    h.resolutions[other] = Resolution(other, cid, 1 - res.payout, res.timestamp)
        return h


def read_history(path: Path, leaders: set[str] | None = None, on_progress: Progress | None = None) -> History:
    """The history in `path`; with `leaders`, only their fills are kept (resolutions and marks all)."""
    reader = _Reader(path, {x.lower() for x in leaders} if leaders else None)
    for index, item in iter_rows(path, on_progress):
        reader.row(index, item)
    return reader.finish()
