"""CLOB endpoints of the reference checklist (§8) with no recorded capture: ``/fee-rate``,
``/clob-markets/{cid}`` (V2 compact shape), ``/markets-by-token/{tid}`` and ``/balance-allowance/update``,
each compared with the exact answer §3.1/§3.4 give."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from polyhunter.sim.server_app import SimServer
from tests.support.sim_http import ANVIL_KEY_0, Trader, json_kind

NO_SUCH_TOKEN = "1" + "0" * 70


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with http.get(url, params=params) as resp:
        return resp.status, await resp.json()


async def test_fee_rate_is_base_fee_in_bps_as_a_number(sim: SimServer, http: aiohttp.ClientSession) -> None:
    base = sim.urls["clob"]
    rates = {i.market.taker_fee_rate for i in sim.state.catalog}
    assert Decimal(0) in rates  # the seed's catalog holds a free market and a charged one
    assert len(rates) > 1
    for info in sim.state.catalog:
        bps = int(info.market.taker_fee_rate * 10_000)
        for token in info.market.tokens:
            status, body = await _get(http, base + "/fee-rate", token_id=token)
            assert (status, body) == (200, {"base_fee": bps}), info.slug
            assert json_kind(body["base_fee"]) == "number"  # the SDK compares it with 0
    assert await _get(http, base + "/fee-rate") == (400, {"error": "Invalid token id"})
    status, body = await _get(http, base + "/fee-rate", token_id=NO_SUCH_TOKEN)
    assert status == 404
    assert set(body) == {"error"}


async def test_clob_markets_serves_the_compact_v2_shape(sim: SimServer, http: aiohttp.ClientSession) -> None:
    always = {"c", "t", "mts", "mbf", "tbf", "r", "ao", "mos", "sd", "cbos", "aot", "v"}
    for info in sim.state.catalog:
        m = info.market
        status, body = await _get(http, sim.urls["clob"] + f"/clob-markets/{info.condition_id}")
        assert status == 200
        optional = ({"nr"} if m.neg_risk else set()) | ({"fd"} if m.taker_fee_rate else set())
        assert set(body) == always | optional, info.slug  # nr / fd absent when false / free
        assert body["c"] == m.condition_id
        assert body["t"] == [{"t": t, "o": o} for t, o in zip(m.tokens, m.outcomes, strict=True)]
        assert (body["mts"], body["mos"]) == (float(m.tick_size), float(m.min_order_size))
        assert (body["mbf"], body["tbf"]) == (0, int(m.taker_fee_rate * 10_000))
        assert (body["ao"], body["sd"], body["cbos"], body["v"]) == (True, 0, False, "v1")
        assert body["r"] == {"rates": None, "min_size": 0, "max_spread": 0}
        assert body["aot"].endswith("Z")
        assert len(body["aot"]) == len("2026-02-27T23:33:23Z")
        if m.neg_risk:
            assert body["nr"] is True
        if m.taker_fee_rate:
            assert body["fd"] == {"r": float(m.taker_fee_rate), "e": 1, "to": True}
    assert {i.market.neg_risk for i in sim.state.catalog} == {True, False}  # both forms were seen
    status, body = await _get(http, sim.urls["clob"] + "/clob-markets/0x" + "0" * 64)
    assert (status, body) == (404, {"error": "market not found"})


async def test_markets_by_token_names_the_condition_and_both_tokens(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    for info in sim.state.catalog:
        primary, secondary = info.market.tokens
        for token in (primary, secondary):
            status, body = await _get(http, sim.urls["clob"] + f"/markets-by-token/{token}")
            assert status == 200
            assert body == {
                "condition_id": info.condition_id,
                "primary_token_id": primary,
                "secondary_token_id": secondary,
            }
    status, body = await _get(http, sim.urls["clob"] + f"/markets-by-token/{NO_SUCH_TOKEN}")
    assert (status, body) == (404, {"error": "market not found"})


async def test_balance_allowance_update_validates_and_needs_l2_auth(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    t = Trader(http, sim, ANVIL_KEY_0)
    await t.login()
    token = sim.state.catalog[0].market.tokens[0]
    collateral = "/balance-allowance?asset_type=COLLATERAL&signature_type=0"
    assert await t.request("GET", "/balance-allowance/update?asset_type=COLLATERAL&signature_type=0") == (
        200,
        "",
    )
    assert await t.request("GET", f"/balance-allowance/update?asset_type=CONDITIONAL&token_id={token}") == (
        200,
        "",
    )
    status, before = await t.request("GET", collateral)
    assert (status, before["balance"]) == (200, "0")
    await t.fund("25")
    assert await t.request("GET", "/balance-allowance/update?asset_type=COLLATERAL") == (200, "")
    status, after = await t.request("GET", collateral)
    assert (status, after["balance"]) == (200, "25000000")  # 6-decimal integer string
    assert await t.request("GET", "/balance-allowance/update?asset_type=CONDITIONAL") == (
        400,
        {"error": "Invalid token id"},
    )
    assert await t.request("GET", "/balance-allowance/update?asset_type=NOPE") == (
        400,
        {"error": "invalid asset_type"},
    )
    status, body = await _get(http, sim.urls["clob"] + "/balance-allowance/update", asset_type="COLLATERAL")
    assert (status, body) == (401, {"error": "Unauthorized/Invalid api key"})
