"""``GET /prices-history`` on the simulator over real HTTP: the documented shape (the repo's fixture),
a real match recorded at its price, the fidelity grid, the "now" point, the interval forms and the 400s;
and the adapter's typed client reading it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.http import VenueError
from polyhunter.adapters.polymarket.wire_base import decode
from polyhunter.adapters.polymarket.wire_clob_rest import PricesHistory
from polyhunter.domain.fill_model import PricePoint
from polyhunter.domain.signal import Side
from polyhunter.sim.price_history import PriceHistory
from polyhunter.sim.price_history import PricePoint as SimPoint
from polyhunter.sim.server_app import SimServer
from tests.support.paths import FIXTURES
from tests.support.sim_http import ANVIL_KEY_0, Trader, assert_same_shape

FIXTURE = FIXTURES / "http" / "prices_history.json"


async def _get(http: aiohttp.ClientSession, sim: SimServer, **query: Any) -> tuple[int, Any]:
    params = {k: str(v) for k, v in query.items()}
    async with http.get(sim.urls["clob"] + "/prices-history", params=params) as resp:
        return resp.status, await resp.json()


async def test_a_match_is_in_the_history_with_a_now_point(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    t = Trader(http, sim, ANVIL_KEY_0)
    await t.login()
    await t.fund("500")
    token = next(i for i in sim.state.catalog if not i.market.neg_risk).market.tokens[0]
    _, ask = sim.state.engine.best_bid_ask(token)
    assert ask is not None
    status, body = await t.order(token, Side.BUY, str(ask), "10", "FOK")
    assert status == 200, body
    now = sim.state.now_s()
    status, body = await _get(http, sim, market=token, interval="1h")
    assert status == 200, body
    assert_same_shape(json.loads(FIXTURE.read_text()), body)
    decode(json.dumps(body), PricesHistory)
    *points, last = body["history"]
    assert [Decimal(str(p["p"])) for p in points] == [ask]  # the match, on the grid from now - 1h
    assert points[0]["t"] >= now - 3600
    assert (points[0]["t"] - (now - 3600)) % 60 == 0
    assert now <= last["t"] <= now + 5  # the "now" point: the midpoint
    assert Decimal(str(last["p"])) == sim.state.current_price(token)
    # a window that ends before the match has neither the match nor a "now" point
    status, body = await _get(http, sim, market=token, startTs=now - 600, endTs=now - 300)
    assert (status, body) == (200, {"history": []})
    # a token the simulator does not list
    status, body = await _get(http, sim, market="12345", interval="1d")
    assert (status, body) == (200, {"history": []})


async def test_fidelity_grid_and_the_client(sim: SimServer, http: aiohttp.ClientSession) -> None:
    token = sim.state.catalog[0].market.tokens[0]
    now = sim.state.now_s()
    t0 = now - 3600
    history = sim.state.price_history
    for offset, price in ((-30, "0.40"), (10, "0.41"), (20, "0.42"), (70, "0.43"), (700, "0.47")):
        history.record(token, (t0 + offset) * 1000, Decimal(price))
    status, body = await _get(http, sim, market=token, startTs=t0, endTs=t0 + 900, fidelity=1)
    assert status == 200
    # the price known at the start, then per minute step the last price of the step; quiet steps left out
    assert body["history"] == [
        {"t": t0, "p": 0.40},
        {"t": t0 + 60, "p": 0.42},
        {"t": t0 + 120, "p": 0.43},
        {"t": t0 + 720, "p": 0.47},
    ]
    status, body = await _get(http, sim, market=token, startTs=t0, endTs=t0 + 900, fidelity=10)
    assert body["history"] == [{"t": t0, "p": 0.40}, {"t": t0 + 600, "p": 0.43}]  # 0.47: past the end
    clob = ClobMarketData.connect(sim.urls["clob"])
    try:
        points = await clob.prices_history(token, start_ts=t0, end_ts=t0 + 900)
        assert points[:2] == [PricePoint(t0, Decimal("0.4")), PricePoint(t0 + 60, Decimal("0.42"))]
        recent = await clob.prices_history(token, interval="1m", fidelity=10)
        assert recent[-1].t >= now  # the "now" point
        with pytest.raises(VenueError) as err:
            await clob.prices_history(token, interval="1m", fidelity=5)
        assert err.value.status == 400
        with pytest.raises(ValueError, match="mutually exclusive"):
            await clob.prices_history(token, interval="1d", start_ts=t0)
    finally:
        await clob.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "market must be a token id"),
        ({"market": "abc", "interval": "1d"}, "market must be a token id"),
        ({"market": "T"}, "give an 'interval' or 'startTs'/'endTs'"),
        ({"market": "T", "interval": "2d"}, "interval '2d' is not one of"),
        ({"market": "T", "interval": "1d", "startTs": "1"}, "mutually exclusive"),
        ({"market": "T", "startTs": "200", "endTs": "100"}, "'startTs' is after 'endTs'"),
        ({"market": "T", "startTs": "soon"}, "startTs 'soon' is not a unix timestamp"),
        ({"market": "T", "interval": "1m"}, "minimum 'fidelity' for '1m' range is 10"),
        ({"market": "T", "interval": "1d", "fidelity": "0"}, "fidelity must be between"),
        ({"market": "T", "interval": "1d", "fidelity": "x"}, "fidelity 'x' is not a number"),
    ],
)
async def test_bad_input_is_a_400(
    sim: SimServer, http: aiohttp.ClientSession, query: dict[str, str], message: str
) -> None:
    token = sim.state.catalog[0].market.tokens[0]
    status, body = await _get(http, sim, **{k: (token if v == "T" else v) for k, v in query.items()})
    assert status == 400
    assert set(body) == {"error"}
    assert message in body["error"]


def test_pruning_keeps_the_price_the_window_starts_at() -> None:
    history = PriceHistory()
    for ts_s, price in ((100, "0.40"), (130, "0.41"), (200, "0.45")):
        history.record("1", ts_s * 1000, Decimal(price))
    history.record("1", 150_000, Decimal(0))  # not a price: left out
    assert history.prune(160_000) == 1  # 0.40 goes; 0.41 stays: the price at 160
    assert history.window("1", 160, 300, 60) == [
        SimPoint(160, Decimal("0.41")),
        SimPoint(220, Decimal("0.45")),
    ]
