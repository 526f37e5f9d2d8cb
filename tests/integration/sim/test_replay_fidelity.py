"""Issue 14: the ``replay`` scenario publishes recorded rows as the venue showed them: the recorded
transaction hashes, a leader's legs and both counterparties of a match in one transaction, sizes to the
base unit, in time order whatever the file's order, with the recorded gaps (divided by ``speed``) after
``replay_delay_s``, on RTDS and the Data API alike; in chain mode one mined transaction per recorded one.

The rows are the REAL capture ``current-2026-09/rtds_activity_trades.json`` plus two rows derived from
it (a second leg of one leader in a recorded transaction, and a 6-decimal size seen live), written
newest first as the Data API lists them."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from polyhunter.adapters.chain.exchange_events import decode_order_filled
from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES

RECORDED = FIXTURES / "current-2026-09" / "rtds_activity_trades.json"
ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
SPEED = 100.0
GAP_S = 30  # recorded seconds between the three moments of the file
Row = tuple[str, str, str, Decimal, Decimal, str]


def _real_rows() -> list[dict[str, Any]]:
    return [frame["payload"] for frame in json.loads(RECORDED.read_text(), parse_float=Decimal)]


def _file_rows() -> list[dict[str, Any]]:
    """Three moments t0 < t1 < t2: the real rows at t1, a second leg of the first real row's leader in
    its transaction at t1, a 6-decimal size at t0 and the last real transaction moved to t2."""
    real = _real_rows()
    t1 = int(real[0]["timestamp"])
    t0, t2 = t1 - GAP_S, t1 + GAP_S
    second_leg = {**real[0], "size": Decimal("12.5"), "price": Decimal("0.04"), "fee": None}
    precise = {
        **real[2],
        "size": Decimal("7750.626924"),
        "timestamp": t0,
        "transactionHash": "0x" + "7e" * 32,
    }
    late = [{**r, "timestamp": t2} for r in real[3:]]
    rows = [precise, *real[:3], second_leg, *late]
    return sorted(rows, key=lambda r: -int(r["timestamp"]))  # newest first, as the Data API lists


def _key(r: dict[str, Any], wallet: str = "proxyWallet") -> Row:
    return (
        str(r[wallet]).lower(),
        str(r["asset"]),
        str(r["side"]),
        Decimal(str(r["size"])),
        Decimal(str(r["price"])),
        str(r["transactionHash"]).lower(),
    )


def _write(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "replay.json"
    path.write_text(json.dumps(rows, default=lambda d: format(d, "f")))
    return path


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return json.loads(await resp.text(), parse_float=Decimal)


async def test_replay_publishes_the_recorded_rows(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    rows = _file_rows()
    config = ScenarioConfig(
        name="replay", seed=7, replay_file=_write(tmp_path, rows), speed=SPEED, replay_delay_s=0.5
    )
    frames: list[tuple[float, dict[str, Any]]] = []
    async with SimServer(config, port=0) as sim:
        began = time.monotonic()
        async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
            subscribe = {"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "trades"}]}
            await ws.send_str(json.dumps(subscribe))
            while len(frames) < len(rows):
                data = (await ws.receive(timeout=10)).data
                frames.append((time.monotonic() - began, json.loads(data, parse_float=Decimal)["payload"]))
        base = sim.urls["data_api"]
        every = await _get(http, base + "/trades", takerOnly="false", limit="100")
        takers = await _get(http, base + "/trades", limit="100")
        leader = str(rows[-1]["proxyWallet"]).lower()  # newest first: the last row is the oldest
        activity = await _get(http, base + "/activity", user=str(_real_rows()[0]["proxyWallet"]).lower())
        assert (sim.runner.fills, sim.runner.skipped) == (len(rows), 0)

    recorded = Counter(_key(r) for r in rows)
    assert Counter(_key(p) for _, p in frames) == recorded  # same hashes, legs, sizes to 6 decimals
    assert Counter(_key(r) for r in every) == recorded
    assert Decimal("7750.626924") in {Decimal(str(r["size"])) for r in every}
    # time order whatever the file order, recorded gaps divided by SPEED, after the replay delay
    hashes_in_order = list(dict.fromkeys(str(p["transactionHash"]) for _, p in frames))
    by_time = sorted(rows, key=lambda r: int(r["timestamp"]))
    assert hashes_in_order == list(dict.fromkeys(str(r["transactionHash"]).lower() for r in by_time))
    assert frames[0][1]["proxyWallet"].lower() == leader
    first_seen: dict[int, float] = {}
    stamp = {str(r["transactionHash"]).lower(): int(r["timestamp"]) for r in rows}
    for at, p in frames:
        first_seen.setdefault(stamp[str(p["transactionHash"])], at)
    moments = sorted(first_seen)
    assert first_seen[moments[0]] >= 0.5
    gaps = [first_seen[b] - first_seen[a] for a, b in zip(moments, moments[1:], strict=False)]
    assert gaps == pytest.approx([GAP_S / SPEED] * 2, abs=0.1)
    # the fee-paying row of a transaction is its taker; /trades (takerOnly) leaves its makers out
    maker = _key(_real_rows()[1])
    assert maker in {_key(r) for r in every}
    assert maker not in {_key(r) for r in takers}
    # one leader's two legs of one transaction
    legs = [a for a in activity if a["transactionHash"] == str(_real_rows()[0]["transactionHash"]).lower()]
    assert sorted(Decimal(str(a["size"])) for a in legs) == [Decimal("12.5"), Decimal("1030.92")]


async def test_chain_mode_mines_one_transaction_per_recorded_one(
    tmp_path: Path, anvil_url: str, http: aiohttp.ClientSession
) -> None:
    rows = _file_rows()
    config = ScenarioConfig(name="replay", seed=8, replay_file=_write(tmp_path, rows), speed=SPEED)
    async with SimServer(config, port=0, chain_rpc=anvil_url) as sim:
        for _ in range(200):
            if sim.runner.fills + sim.runner.skipped >= len(rows):
                break
            await asyncio.sleep(0.05)
        every = await _get(http, sim.urls["data_api"] + "/trades", takerOnly="false", limit="100")
        assert (sim.runner.fills, sim.runner.skipped) == (len(rows), 0)
    recorded_tx = Counter(str(r["transactionHash"]).lower() for r in rows)
    chain_tx = Counter(str(r["transactionHash"]) for r in every)
    assert sorted(chain_tx.values()) == sorted(recorded_tx.values())  # same grouping
    assert not set(chain_tx) & set(recorded_tx)  # the chain's hashes, everywhere
    async with JsonRpcClient(anvil_url) as rpc:
        for tx_hash, count in chain_tx.items():
            receipt = await rpc.get_transaction_receipt(tx_hash)
            assert receipt is not None
            assert receipt["status"] == "0x1"
            fills = [
                decode_order_filled(log) for log in receipt["logs"] if log["topics"][0] == ORDER_FILLED_V2
            ]
            assert len(fills) == count
            published = Counter(
                (str(r["proxyWallet"]), str(r["asset"]), str(r["side"]), int(Decimal(str(r["size"])) * 10**6))
                for r in every
                if r["transactionHash"] == tx_hash
            )
            on_chain = Counter((f.maker, str(f.token_id), f.side.value, f.shares_micro) for f in fills)
            assert on_chain == published
