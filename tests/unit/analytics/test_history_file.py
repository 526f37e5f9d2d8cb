"""Reading recorded history files: every row kind, any order, JSON Lines and RTDS frames; malformed
rows stop the read with one line naming the row; large files are read in chunks with progress."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.analytics import history_file
from polyhunter.analytics.history_file import HistoryError, read_history
from polyhunter.domain.signal import Side
from tests.support.history_gen import synthetic_rows, trade_row, write_rows

HISTORY = Path(__file__).resolve().parents[2] / "fixtures" / "history" / "three_markets.json"
RTDS = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "polymarket"
    / "current-2026-09"
    / "rtds_activity_trades.json"
)
LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"


def test_the_three_market_file() -> None:
    h = read_history(HISTORY)
    assert [(f.side, f.size, f.price) for f in h.fills] == [
        (Side.BUY, Decimal(100), Decimal("0.4")),
        (Side.BUY, Decimal(50), Decimal("0.6")),
        (Side.SELL, Decimal(20), Decimal("0.7")),
        (Side.BUY, Decimal(200), Decimal("0.1")),
    ]  # newest first in the file, time order here
    payouts = {r.asset[-4:]: (r.payout, r.timestamp) for r in h.resolutions.values()}
    assert payouts["1000"] == (Decimal(1), 1790000200)  # REDEEM: usdcSize / size
    assert payouts["2000"] == (Decimal(0), 1790000500)  # market_resolved (ms -> s): the loser
    assert payouts["2001"] == (Decimal(1), 1790000500)
    assert payouts["3001"] == (Decimal(0), None)  # a redeemable position: no time
    assert "3000" not in payouts  # the file never names the market's other token
    assert h.ignored == {"SPLIT": 1}


def test_rtds_frames_and_json_lines(tmp_path: Path) -> None:
    frames = json.loads(RTDS.read_text())
    lines = tmp_path / "frames.jsonl"
    lines.write_text("\n".join(json.dumps(f) for f in frames) + "\n")
    h = read_history(lines)
    assert len(h.fills) == len(frames)
    assert h.fills[0].fee == Decimal("1.5309")  # the leader's recorded fee
    assert h.fills[0].leader == frames[0]["payload"]["proxyWallet"].lower()
    leader = h.fills[0].leader
    legs = [f for f in frames if f["payload"]["proxyWallet"].lower() == leader]
    assert len(read_history(lines, {leader}).fills) == len(legs)  # only that leader's rows


@pytest.mark.parametrize("text", ["", "  \n", "[]", " [ ] \n"])
def test_empty_histories(tmp_path: Path, text: str) -> None:
    h = read_history(write_text(tmp_path / "h.json", text))
    assert h.fills == []
    assert h.resolutions == {}


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD = trade_row(LEADER, 1, 0, "BUY", "10", "0.5", 1_790_000_000)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**GOOD, "price": "abc"}, "row 1: price 'abc' is not a number"),
        ({**GOOD, "price": 1.5}, "row 1: price 1.5 must be between 0 and 1"),
        ({**GOOD, "price": "NaN"}, "row 1: price 'NaN' is not a finite number"),
        ({**GOOD, "size": -3}, "row 1: size -3 must be above 0"),
        ({k: v for k, v in GOOD.items() if k != "size"}, "row 1: no size"),
        ({**GOOD, "side": "HOLD"}, "row 1: side 'HOLD' is not BUY or SELL"),
        ({**GOOD, "proxyWallet": "0x123"}, "row 1: proxyWallet '0x123' is not a valid proxyWallet"),
        ({**GOOD, "asset": "abc"}, "row 1: asset 'abc' is not a valid asset"),
        ({**GOOD, "timestamp": -5}, "row 1: timestamp -5 is not a time in epoch seconds"),
        ({**GOOD, "timestamp": True}, "row 1: timestamp True is not a number"),
        ([1, 2], "row 1: expected an object"),
        ("text", "row 1: expected an object"),
    ],
)
def test_a_malformed_row_is_one_line_naming_it(tmp_path: Path, row: object, message: str) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps([GOOD, row, GOOD]))
    with pytest.raises(HistoryError) as err:
        read_history(path)
    assert str(err.value).startswith(f"{path}: {message}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" + json.dumps(GOOD) + ', {"b": ', "row 1: not valid JSON"),
        ("[" + json.dumps(GOOD) + ', {"b" 2}]', "row 1: not valid JSON"),
        ("[" + json.dumps(GOOD), "row 1: the file ends before the array closes"),
        ("[" + json.dumps(GOOD) + "] x", "data after the closing ']'"),
        ("{" * 100_000, "row 0:"),
    ],
)
def test_broken_json(tmp_path: Path, text: str, message: str) -> None:
    path = write_text(tmp_path / "h.json", text)
    with pytest.raises(HistoryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_history(path)


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_bytes(b'[{"slug": "\xff\xfe"}]')
    with pytest.raises(HistoryError, match="not UTF-8 at byte 11"):
        read_history(path)
    with pytest.raises(HistoryError, match="cannot read"):
        read_history(tmp_path / "absent.json")


def test_a_resolution_row_with_a_bad_payout(tmp_path: Path) -> None:
    redeem = {**GOOD, "type": "REDEEM", "size": "10", "usdcSize": "30"}
    with pytest.raises(HistoryError, match="row 0: payout 3 per share is not between 0 and 1"):
        read_history(write_rows(tmp_path / "h.json", [redeem]))


def test_a_large_file_is_streamed_with_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 64 KiB here (1 MiB in use): the reader never holds the file's text; a multi-byte
    character cut by a chunk's end is put back together."""
    monkeypatch.setattr(history_file, "CHUNK", 64 << 10)
    rows = synthetic_rows([LEADER], markets=40, trades_per_market=50)
    rows[0]["title"] = "Ölpreis über 80 $? " * 3000  # a row bigger than a chunk, with multi-byte text
    path = write_rows(tmp_path / "big.json", rows)
    seen: list[tuple[int, int]] = []
    h = read_history(path, on_progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert len(seen) >= size // (64 << 10)
    assert seen[-1] == (size, size)
    assert len(h.fills) == sum(1 for r in rows if r["type"] == "TRADE")
    assert [f.timestamp for f in h.fills] == sorted(f.timestamp for f in h.fills)
