"""A hostile venue against `polyhunter run` (issue 13, done-when): a loopback RTDS and a loopback Data API
send a followed leader's good fills, then every malformed message an adversary can think of, then good
fills again. The CLOB and Gamma are the simulator (`quiet` scenario), so a PAPER follower prices its
copies against real books.

What must hold: the run process stays up the whole time; the good fills before and after are copied
(EXECUTED); no malformed fill is stored as a signal or copied; the run's memory stays bounded after a
64 MB frame and a 64 MB Data API body; `polyhunter_ingest_rejected_total` counts the rejects.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runs import api_url, get_json, run_env, sim_process, start_run, wait_until
from tests.support.hostile_venue import BIG, HostileVenue, Misbehave
from tests.support.processes import stop_process
from tests.support.sim_stack import rows

pytestmark = pytest.mark.integration

LEADER = "0x" + "1eade7" * 6 + "beef"
OTHER = "0x" + "0a" * 20
BIG_BYTES = 64 << 20
RSS_GROWTH_KB = 50 * 1024
PEAK_GROWTH_KB = 50 * 1024  # at the worst moment too: no 64 MB frame or body is ever held whole
RUN_FILE = f"""
[[followers]]
name = "paper"
custody = "PAPER"
starting_cash_usdc = "100000"

[[followers.copies]]
leader = "{LEADER}"
sizing = "FIXED_USDC"
sizing_value = "5"
"""
_tx = itertools.count(1)


def _sim(tmp: Path) -> AbstractContextManager[dict[str, str]]:
    return sim_process(tmp, "--scenario", "quiet", "--seed", "7", "--markets", "2")


@contextmanager
def _venue() -> Iterator[HostileVenue]:
    venue = HostileVenue(big_bytes=BIG_BYTES)
    venue.start()
    try:
        yield venue
    finally:
        venue.stop()


@contextmanager
def _run(
    tmp: Path, sim: dict[str, str], venue: HostileVenue
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    urls = {**sim, "data_api": venue.data_api_url, "rtds_ws": venue.rtds_url}
    settings: dict[str, object] = {
        "venue.request_timeout_ms": 1500,
        "ingest.poll_interval_ms": 300,
        "ingest.poll_interval_degraded_ms": 300,
        "ingest.reconnect_backoff_initial_ms": 50,
        "ingest.reconnect_backoff_max_ms": 200,
        "engine.aggregation_window_ms": 0,
        "engine.max_slippage_bps": 2000,
        "secrets.master_key_file": tmp / "master.key",
        "logging.level": "INFO",
        "logging.format": "json",
    }
    run_file = tmp / "run.toml"
    run_file.write_text(RUN_FILE)
    log = tmp / "run.log"
    proc = start_run(["--config", str(run_file)], run_env(urls, tmp / "run.db", settings), log, cwd=tmp)
    try:
        yield proc, api_url(log)
    finally:
        stop_process(proc, timeout_s=30)


def _status_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def _rejected(api: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(api + "/metrics", timeout=10) as resp:  # noqa: S310 - the local run
        text = resp.read().decode()
    found: dict[tuple[str, str], float] = {}
    pattern = r"^polyhunter_ingest_rejected_total\{([^}]*)\} (\S+)$"
    for labels, value in re.findall(pattern, text, re.MULTILINE):
        tags = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        found[(tags["source"], tags["reason"])] = float(value)
    return found


def _hash() -> str:
    return f"0x{next(_tx):064x}"


def _payload(token: str, condition: str, fair: Decimal, **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "asset": token,
        "conditionId": condition,
        "eventSlug": "hostile",
        "outcome": "Yes",
        "outcomeIndex": 0,
        "price": float(fair),
        "proxyWallet": LEADER,
        "side": "BUY",
        "size": 10.0,
        "slug": "hostile",
        "timestamp": int(time.time()),
        "title": "Hostile",
        "transactionHash": _hash(),
    }
    payload.update(over)
    return payload


def _frame(payload: Any, connection_id: str = "h") -> str:
    return json.dumps(
        {
            "connection_id": connection_id,
            "payload": payload,
            "timestamp": int(time.time() * 1000),
            "topic": "activity",
            "type": "trades",
        },
        allow_nan=True,
    )


def _row(payload: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in payload.items() if k not in ("eventSlug", "title")}
    row["proxyWallet"] = str(row["proxyWallet"]).lower()
    row["type"] = "TRADE"
    row["usdcSize"] = 1.0
    return row


def _executed(db: Path, txs: set[str]) -> set[str]:
    """The transaction hashes among `txs` whose signal has an EXECUTED copy."""
    if not db.exists():
        return set()
    try:
        found = rows(
            db,
            "SELECT s.tx_hash AS tx FROM signals s JOIN copy_trades c ON c.signal_key = s.key "
            "WHERE c.state = 'EXECUTED'",
        )
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return set()
    return {r["tx"] for r in found} & txs


@pytest.mark.timeout(180)
def test_hostile_venue_cannot_crash_the_run_or_get_a_bad_fill_copied(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with _sim(tmp_path) as sim, _venue() as venue:
        market = get_json(sim["admin"] + "/scenario")["markets"][0]
        token, condition = str(market["tokens"][0]), str(market["condition_id"])
        book = get_json(f"{sim['clob']}/book?token_id={token}")
        price = min(Decimal(level["price"]) for level in book["asks"])

        def good(**over: Any) -> dict[str, Any]:
            return _payload(token, condition, price, **over)

        with _run(tmp_path, sim, venue) as (proc, api):
            # 1. Good fills (push and poll) are copied.
            before = [good(), good()]
            venue.push_frames(*(_frame(p) for p in before))
            polled = good()
            venue.add_rows(_row(polled))
            good_txs = {p["transactionHash"] for p in [*before, polled]}
            wait_until("the first good fills copied", lambda: _executed(db, good_txs) == good_txs, proc, 40)
            rss_before, peak_before = _status_kb(proc.pid, "VmRSS"), _status_kb(proc.pid, "VmHWM")

            # 2. Every malformed message.
            bad: list[dict[str, Any]] = [
                good(size="NaN"),
                good(size="Infinity"),
                good(size="-Infinity"),
                good(price="NaN"),
                good(timestamp=1e20),
                good(timestamp=10**30),
                good(size=-10),
                good(size=0),
                good(size=1e15),
                good(size=10**40),
                good(size="1e999999"),
                good(timestamp=32_503_680_000),  # year 3000
                good(timestamp=int(time.time() * 1000)),  # milliseconds, not seconds
                good(timestamp=int(time.time()) - 40 * 86_400),  # older than any replay
                good(timestamp=0),
                good(timestamp=-1),
                good(price=-0.5),
                good(price=0),
                good(price=1),
                good(price=1.5),
                good(price="1e-999999"),
                good(size={"a": 1}),
                good(price=[0.5]),
                good(side="HOLD"),
                good(side=None),
                good(outcomeIndex="zero"),
                good(asset=""),
                good(asset="0"),
                good(asset="12a"),
                good(asset="9" * 100),
                good(conditionId="0x1"),
                good(slug="s" * 10_000),
                good(outcome="o" * 1_000),
            ]
            bad_hashes = [good(transactionHash=h) for h in ("0x1", "", "0x" + "g" * 64, "0x" + "a" * 66)]
            bad_wallets = [good(proxyWallet=LEADER + "00"), good(proxyWallet=LEADER[:-2])]
            unicode_mess = good(
                title="\u202e\u0000\x07" + "e\u0301" * 2_000 + "\U0001f4a9",
                slug="\u0000\u001b[31m\u2028",
                outcome="\ufeff\u200b",
                name="\udbff",
            )
            missing = good()
            del missing["price"]
            deep = b'{"payload":{"proxyWallet":"' + LEADER.encode() + b'","x":' + b"[" * 200_000
            deep += b"]" * 200_000 + b'},"topic":"activity","type":"trades","timestamp":1}'
            deep_object = b'{"topic":"activity","a":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000
            deep_object += b',"proxyWallet":"' + LEADER.encode() + b'"}'
            frames: list[bytes | str | object] = [
                *(_frame(p) for p in [*bad, *bad_hashes, *bad_wallets, missing]),
                BIG,
                '{"payload": {"proxyWallet": "' + LEADER + '", "size": ',  # invalid JSON, cut off
                '{"topic":"activity","proxyWallet":"' + LEADER + '"',
                "[" + _frame(good()) + "]",  # an array of a good frame
                '["activity", {"proxyWallet": "' + LEADER + '"}]',
                "12345",
                "null",
                "true",
                '"proxyWallet"',
                deep,
                deep_object,
                _frame(good(size="10", price=str(price)))[:-1] + ',"payload":null}',  # duplicate key
                b"\xff\xfe" + _frame(good()).encode("utf-16-le"),
                b"\x00" * 1024 + b'"proxyWallet":"' + LEADER.encode() + b'"',
                _frame(None),
                _frame([good()]),
                _frame("x"),
                _frame({}),
                _frame(unicode_mess),
                _frame(good(proxyWallet=OTHER, size="NaN")),  # another wallet's garbage: just dropped
                # Fills already copied, sent again after the reconnect (a new connection id): never
                # copied twice. (The same frame twice on one connection is, by design, a second identical
                # leg of the transaction: see parse_signals.LegOrdinals.)
                *(_frame(p, connection_id="h-reconnected") for p in before),
                "ping",
                "",
            ]
            venue.push_frames(*frames)
            bad_rows = [
                _row(good(size=1e15)),
                _row(good(size=-10)),
                _row(good(price=1.5)),
                _row(good(price=0)),
                _row(good(transactionHash="0x1")),
                _row(good(timestamp=32_503_680_000)),
                {**_row(good()), "size": "NaN"},
                {**_row(good()), "side": 7},
                {**_row(good()), "asset": None},
                {"proxyWallet": LEADER.lower(), "timestamp": int(time.time())},
            ]
            venue.add_rows(*bad_rows, *(_row(p) for p in before))  # the pushed fills, polled too
            venue.push_misbehaviour(
                Misbehave(body=b'{"error": "not a list"}'),
                Misbehave(body=b"null"),
                Misbehave(body=b"42"),
                Misbehave(status=500, body=b'{"error": "boom"}'),
                Misbehave(status=429, body=b"slow down"),
                Misbehave(status=503, body=b"<html>"),
                Misbehave(hang_s=5.0, body=b"[]"),
                Misbehave(body=b"[" + b'{"a":' * 100_000),
                Misbehave(body=b"[" * 200_000 + b"]" * 200_000),
                Misbehave(body=b'[{"proxyWallet": "' + LEADER.encode() + b'", "size": 1e999999}'),
                Misbehave(body=b"[" + b"1," * (BIG_BYTES // 2) + b"1]"),  # 64 MB
                Misbehave(body=b"[" + b"1," * (3 << 19) + b"1]"),  # 3 MB: 1.5 million "rows"
                Misbehave(body=b"\xff\xfe\x00garbage"),
            )
            wait_until("the hostile frames sent", lambda: venue.frames_left() == 0, proc, 60)
            wait_until("the Data API misbehaviours served", lambda: venue.misbehaved >= 13, proc, 60)
            assert venue.big_sent == 1
            assert venue.rtds_connections >= 2, "the 64 MB frame drops the connection; the run reconnects"

            # 3. Good fills again: still copied.
            after = [good(), good(proxyWallet="0x" + LEADER[2:].upper())]  # mixed case, as RTDS sends
            venue.push_frames(*(_frame(p) for p in after))
            polled_after = good()
            venue.add_rows(_row(polled_after))
            later = {p["transactionHash"] for p in [*after, polled_after]}
            wait_until("the later good fills copied", lambda: _executed(db, later) == later, proc, 40)
            assert proc.poll() is None

            rss_after, peak_after = _status_kb(proc.pid, "VmRSS"), _status_kb(proc.pid, "VmHWM")
            print(f"VmRSS {rss_before} -> {rss_after} kB, VmHWM {peak_before} -> {peak_after} kB")
            assert rss_after - rss_before < RSS_GROWTH_KB, (rss_before, rss_after)
            assert peak_after - peak_before < PEAK_GROWTH_KB, (peak_before, peak_after)
            rejected = _rejected(api)

        # Nothing but the good fills became signals or copies.
        stored = {r["tx_hash"] for r in rows(db, "SELECT tx_hash FROM signals")}
        assert stored == good_txs | later, stored - (good_txs | later)
        copies = rows(
            db,
            "SELECT c.state AS state, s.tx_hash AS tx FROM copy_trades c "
            "JOIN signals s ON s.key = c.signal_key",
        )
        assert sorted(c["tx"] for c in copies) == sorted(good_txs | later), "one copy of each good fill"
        assert all(c["state"] == "EXECUTED" for c in copies), copies

        ws = {reason: n for (source, reason), n in rejected.items() if source == "ws"}
        poll = {reason: n for (source, reason), n in rejected.items() if source == "poll"}
        pushed_bad = len(bad) + len(bad_hashes) + 1  # (another wallet's fill is not a reject)
        assert sum(ws.values()) >= pushed_bad, ws
        for reason in (
            "size_not_finite",
            "size_out_of_range",
            "price_out_of_range",
            "timestamp_out_of_window",
            "bad_tx_hash",
            "schema",
        ):
            assert ws.get(reason), (reason, ws)
        assert sum(poll.values()) >= len(bad_rows), poll
