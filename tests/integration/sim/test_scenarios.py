"""Scenarios: determinism by seed, leaders' fills are real matches, replay reproduces recorded rows."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from polyhunter.domain.signal import Side
from polyhunter.sim.orders import OrderType
from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_leaders_take_liquidity_deterministically(http: aiohttp.ClientSession) -> None:
    flows = []
    for _ in range(2):
        async with SimServer(scenario="leaders", seed=21, port=0, leaders=2, markets=2, rate=0) as sim:
            tokens = [t for i in sim.state.catalog for t in i.market.tokens]
            moves = []
            for _ in range(12):  # synchronous: no maker refresh can run in between
                before = [(b.bids, b.asks) for b in map(sim.state.engine.book, tokens)]
                fills_before = sim.runner.fills
                sim.runner.leader_trade()
                after = [(b.bids, b.asks) for b in map(sim.state.engine.book, tokens)]
                if sim.runner.fills > fills_before:
                    moves.append(after != before)
            await sim.state.settle()
            scenario = await _get(http, sim.urls["admin"] + "/scenario")
            trades = await _get(http, sim.urls["data_api"] + "/trades")
            flows.append((scenario, [(r["proxyWallet"], r["asset"], r["side"], r["size"]) for r in trades]))
            leaders = {x["address"] for x in scenario["leaders"]}
            assert moves
            assert all(moves)  # every leader fill moved a book that followers read
            assert trades
            assert {r["proxyWallet"] for r in trades} <= leaders  # takerOnly default: leaders' rows
            everyone = await _get(http, sim.urls["data_api"] + "/trades", takerOnly="false")
            assert len(everyone) > len(trades)  # the makers' legs
    assert flows[0] == flows[1]


async def test_replay_reproduces_recorded_rows(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    rows = json.loads((FIXTURES / "http" / "data_api_trades_mixed.json").read_text())
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(rows))
    config = ScenarioConfig(name="replay", seed=3, replay_file=replay, speed=1000.0)
    async with SimServer(config, port=0, mined_delay_s=0.01, confirmed_delay_s=0.01) as sim:
        async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
            await ws.send_str(
                json.dumps({"action": "subscribe", "subscriptions": [{"topic": "activity", "type": "*"}]})
            )
            for _ in range(100):
                if sim.runner.fills + sim.runner.skipped >= len(rows):
                    break
                await asyncio.sleep(0.05)
            await sim.state.settle()
            frame = json.loads((await ws.receive(timeout=5)).data)
        assert frame["topic"] == "activity"
        got = await _get(http, sim.urls["data_api"] + "/trades", limit="100")
        recorded = {(r["proxyWallet"].lower(), r["asset"], r["side"], Decimal(str(r["size"]))) for r in rows}
        replayed = {(r["proxyWallet"], r["asset"], r["side"], Decimal(str(r["size"]))) for r in got}
        assert sim.runner.skipped == 0
        assert sim.runner.fills == len(rows) == len(got)
        assert replayed <= recorded
        assert len(replayed) >= len(recorded) - sim.runner.skipped
        by_key = {(r["proxyWallet"].lower(), r["asset"], r["side"]): r for r in rows}
        for row in got:
            source = by_key[(row["proxyWallet"], row["asset"], row["side"])]
            assert Decimal(str(row["price"])) == Decimal(str(source["price"]))
            assert row["title"] == source["title"]
            assert row["eventSlug"] == source["eventSlug"]
        user = got[0]["proxyWallet"]
        activity = await _get(http, sim.urls["data_api"] + "/activity", user=user)
        assert activity
        assert all(a["proxyWallet"] == user for a in activity)


def sweep(sim: SimServer, legs: int) -> tuple[str, str]:
    """One taker order sweeping ``legs`` resting orders of one maker (distinct sizes, so every fill row
    differs) plus the scenario's asks below them; returns (maker, taker). The rows reach the Data API
    once the trade is mined (``settle``)."""
    token = sim.state.catalog[0].market.tokens[0]
    agents = sim.runner.agents
    maker, taker = "0x" + "8a" * 20, "0x" + "8b" * 20
    price = Decimal("0.9")  # above every scenario ask, below the 0.96 tick refinement
    sizes = [5_000_000 + 10_000 * i for i in range(legs)]
    agents.ensure_shares(maker, token, sum(sizes))
    for size in sizes:
        assert agents.submit(maker, token, Side.SELL, price, size, OrderType.GTC).success
    agents.ensure_cash(taker, int(price * (sum(sizes) + 10_000_000_000)) + 1_000_000)
    result = agents.submit(taker, token, Side.BUY, price, sum(sizes) + 10_000_000_000, OrderType.FAK)
    assert result.status == "matched"
    assert not sim.state.engine.open_orders(owner=maker)  # every leg filled
    return maker, taker


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in ("transactionHash", "proxyWallet", "asset", "side", "size", "price"))


async def test_data_api_limits_and_errors(sim: SimServer, http: aiohttp.ClientSession) -> None:
    maker, _ = sweep(sim, 10_050)
    await sim.state.settle()
    base = sim.urls["data_api"]
    everyone = {"takerOnly": "false"}
    assert len(await _get(http, base + "/trades", **everyone, limit="100000")) == 10_000  # clamped
    assert len(await _get(http, base + "/trades", **everyone, limit="10000")) == 10_000
    assert len(await _get(http, base + "/trades", **everyone)) == 100  # the default
    assert len(await _get(http, base + "/trades", **everyone, limit="0")) == 0
    assert len(await _get(http, base + "/activity", user=maker, limit="100000")) == 500  # clamped
    assert len(await _get(http, base + "/activity", user=maker, limit="500")) == 500
    assert len(await _get(http, base + "/activity", user=maker)) == 100
    cases = {
        "/trades?offset=10001": 400,
        "/trades?limit=-1": 400,
        "/trades?filterType=CASH": 400,
        "/trades?market=0x" + "a" * 64 + "&eventId=1": 400,
        "/activity": 400,  # user is required
        "/activity?user=0x" + "1" * 40 + "&offset=5001": 400,
        "/positions?user=0x" + "1" * 40 + "&offset=10001": 400,
        "/positions?user=nope": 400,
    }
    for path, status in cases.items():
        async with http.get(base + path) as resp:
            assert resp.status == status, path
            assert "error" in await resp.json()


async def test_data_api_offset_pages_have_no_overlap_and_no_gap(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    maker, taker = sweep(sim, 95)
    await sim.state.settle()
    base = sim.urls["data_api"]
    for path, params in (
        ("/trades", {"takerOnly": "false"}),
        ("/activity", {"user": maker}),
        ("/activity", {"user": maker, "sortDirection": "ASC"}),
    ):
        whole = await _get(http, base + path, **params, limit="500")
        assert len(whole) >= 95, (path, params)
        pages = []
        for offset in range(0, len(whole) + 7, 7):
            page = await _get(http, base + path, **params, limit="7", offset=str(offset))
            assert len(page) == min(7, max(0, len(whole) - offset)), (path, params, offset)
            pages.extend(page)
        assert [row_key(r) for r in pages] == [row_key(r) for r in whole], (path, params)
        assert len({row_key(r) for r in pages}) == len(whole)  # distinct rows: nothing repeated
    trades = await _get(http, base + "/trades", takerOnly="false", limit="500")
    assert {r["proxyWallet"] for r in trades} >= {maker, taker}


async def test_rtds_filters_and_rejections(sim: SimServer, http: aiohttp.ClientSession) -> None:
    first, second = sim.state.catalog[0], sim.state.catalog[1]
    agents = sim.runner.agents
    wallet = "0x" + "3c" * 20
    agents.ensure_cash(wallet, 100_000_000)
    async with http.ws_connect(sim.urls["rtds_ws"]) as ws:
        await ws.send_str(
            json.dumps({"action": "subscribe", "subscriptions": [{"topic": "nope", "type": "x"}]})
        )
        assert json.loads((await ws.receive(timeout=5)).data)["statusCode"] == 401
        await ws.send_str(json.dumps({"action": "subscribe", "subscriptions": [{"topic": "activity"}]}))
        assert json.loads((await ws.receive(timeout=5)).data) == {"message": "Invalid request body"}
        filters = json.dumps({"market_slug": second.slug})
        sub = {"topic": "activity", "type": "trades", "filters": filters}
        await ws.send_str(json.dumps({"action": "subscribe", "subscriptions": [sub]}))
        for info in (first, second):
            token = info.market.tokens[0]
            _, ask = sim.state.engine.best_bid_ask(token)
            assert ask is not None
            agents.submit(wallet, token, Side.BUY, ask, 10_000_000, OrderType.FAK)
        frames = [json.loads((await ws.receive(timeout=5)).data) for _ in range(2)]
        assert {f["payload"]["slug"] for f in frames} == {second.slug}


async def test_resolve_positions_and_market_resolved(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = sim.state.catalog[0]
    token, other = info.market.tokens
    wallet = "0x" + "4d" * 20
    sim.runner.agents.ensure_cash(wallet, 100_000_000)
    _, ask = sim.state.engine.best_bid_ask(token)
    assert ask is not None
    sim.runner.agents.submit(wallet, token, Side.BUY, ask, 20_000_000, OrderType.FAK)
    await sim.state.settle()
    positions = await _get(http, sim.urls["data_api"] + "/positions", user=wallet)
    assert [(p["asset"], p["size"], p["redeemable"]) for p in positions] == [(token, 20, False)]
    assert positions[0]["negativeRisk"] is False
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(
            json.dumps({"assets_ids": [token], "type": "market", "custom_feature_enabled": True})
        )
        await ws.receive(timeout=5)
        await ws.send_str(json.dumps({"operation": "unsubscribe", "assets_ids": [token]}))
        await ws.send_str(json.dumps({"operation": "subscribe", "assets_ids": [other]}))
        assert json.loads((await ws.receive(timeout=5)).data)[0]["asset_id"] == other
        async with http.post(
            sim.urls["admin"] + "/resolve",
            json={"condition_id": info.condition_id, "winning_outcome": info.market.outcomes[0]},
        ) as resp:
            resolved = await resp.json()
        assert resp.status == 200
        assert {"address": wallet, "collateral": "20000000"} in resolved["payouts"]
        frames: list[dict[str, Any]] = []
        while not any(f.get("event_type") == "market_resolved" for f in frames):
            data = json.loads((await ws.receive(timeout=5)).data)
            frames.extend(data if isinstance(data, list) else [data])
    event = next(f for f in frames if f["event_type"] == "market_resolved")
    assert event["winning_asset_id"] == token
    markets = await _get(http, sim.urls["gamma"] + "/markets", condition_ids=info.condition_id)
    assert markets[0]["closed"] is True
    async with http.get(sim.urls["clob"] + "/markets/" + info.condition_id) as resp:
        clob = await resp.json()
    assert [t["winner"] for t in clob["tokens"]] == [True, False]


async def test_funded_shares_show_as_mergeable_positions(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = sim.state.catalog[1]
    wallet = "0x" + "5f" * 20
    body = {"address": wallet, "token_id": info.market.tokens[0], "shares": "12.5"}
    async with http.post(sim.urls["admin"] + "/fund", json=body) as resp:
        assert resp.status == 200
    positions = await _get(http, sim.urls["data_api"] + "/positions", user=wallet)
    assert sorted((p["asset"], p["size"], p["mergeable"]) for p in positions) == sorted(
        (t, 12.5, True) for t in info.market.tokens
    )
    assert all(p["avgPrice"] == 0.5 for p in positions)  # a split's cost basis
    assert await _get(http, sim.urls["data_api"] + "/positions", user=wallet, sizeThreshold="20") == []


async def test_trading_past_096_refines_the_tick(sim: SimServer, http: aiohttp.ClientSession) -> None:
    info = sim.state.catalog[0]
    token = info.market.tokens[0]
    maker, taker = "0x" + "6a" * 20, "0x" + "6b" * 20
    agents = sim.runner.agents
    agents.ensure_shares(maker, token, 10_000_000)
    agents.ensure_cash(taker, 100_000_000)
    async with http.ws_connect(sim.urls["clob_ws"] + "/market") as ws:
        await ws.send_str(json.dumps({"assets_ids": [token], "type": "market"}))
        await ws.receive(timeout=5)
        sim.runner.makers[info.condition_id].clear()
        assert agents.submit(maker, token, Side.SELL, Decimal("0.97"), 10_000_000, OrderType.GTC).success
        assert (
            agents.submit(taker, token, Side.BUY, Decimal("0.97"), 5_000_000, OrderType.FAK).status
            == "matched"
        )
        frames: list[dict[str, Any]] = []
        while not any(f["event_type"] == "tick_size_change" for f in frames):
            frames.append(json.loads((await ws.receive(timeout=5)).data))
    change = next(f for f in frames if f["event_type"] == "tick_size_change")
    assert (change["old_tick_size"], change["new_tick_size"]) == ("0.01", "0.001")
    tick = await _get(http, sim.urls["clob"] + "/tick-size", token_id=token)
    assert tick == {"minimum_tick_size": 0.001}


async def test_data_api_market_and_event_filters(sim: SimServer, http: aiohttp.ClientSession) -> None:
    first, second = sim.state.catalog[0], sim.state.catalog[1]
    wallet = "0x" + "7e" * 20
    sim.runner.agents.ensure_cash(wallet, 100_000_000)
    for info in (first, second):
        token = info.market.tokens[0]
        _, ask = sim.state.engine.best_bid_ask(token)
        assert ask is not None
        sim.runner.agents.submit(wallet, token, Side.BUY, ask, 10_000_000, OrderType.FAK)
    await sim.state.settle()
    base = sim.urls["data_api"]
    by_market = await _get(http, base + "/trades", user=wallet, market=second.condition_id)
    by_event = await _get(http, base + "/trades", user=wallet, eventId=str(first.event_id))
    both = await _get(
        http, base + "/activity", user=wallet, market=f"{first.condition_id},{second.condition_id}"
    )
    assert [r["conditionId"] for r in by_market] == [second.condition_id]
    assert [r["conditionId"] for r in by_event] == [first.condition_id]
    assert len(both) == 2
    asc = await _get(http, base + "/activity", user=wallet, sortDirection="ASC")
    assert [r["conditionId"] for r in asc] == [first.condition_id, second.condition_id]
    cash = await _get(http, base + "/trades", user=wallet, filterType="CASH", filterAmount="1000")
    assert cash == []
