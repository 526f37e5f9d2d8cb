"""The admin API's refusals: each names what is wrong (an unknown market 404, a bad value 400 naming its
field, a bad fault or address 400); GET routes answer HEAD too."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from polyhunter.sim.server_app import SimServer


async def _post(http: aiohttp.ClientSession, sim: SimServer, path: str, body: Any) -> tuple[int, str]:
    async with http.post(sim.urls["admin"] + path, json=body) as resp:
        return resp.status, await resp.text()


async def test_refusals_name_the_problem(sim: SimServer, http: aiohttp.ClientSession) -> None:
    cid = sim.state.catalog[0].condition_id
    for path in ("/tick-size", "/fee-rate", "/resolve"):
        status, text = await _post(http, sim, path, {"condition_id": "0x" + "00" * 32})
        assert (status, "unknown condition_id" in text) == (404, True), (path, text)
    status, text = await _post(http, sim, "/tick-size", {"condition_id": cid, "tick_size": "0.5"})
    assert (status, "tick_size: unsupported tick size 0.5" in text) == (400, True), text
    status, text = await _post(http, sim, "/tick-size", {"condition_id": cid})
    assert (status, "tick_size: " in text) == (400, True), text
    status, text = await _post(http, sim, "/fee-rate", {"condition_id": cid, "taker_fee_rate": "2"})
    assert (status, "taker_fee_rate: must be within [0, 1]" in text) == (400, True), text
    status, text = await _post(http, sim, "/fee-rate", {"condition_id": cid, "taker_fee_rate": "0.03"})
    assert (status, json.loads(text)) == (200, {"condition_id": cid, "taker_fee_rate": "0.03"})
    status, text = await _post(http, sim, "/resolve", {"condition_id": cid, "winning_token": "nope"})
    assert (status, "winning_token (or winning_outcome)" in text) == (400, True), text
    for path, body in (("/fund", {"address": "0x12", "collateral": "1"}), ("/allowance", {"address": ""})):
        status, text = await _post(http, sim, path, body)
        assert (status, "address must be a 0x address" in text) == (400, True), (path, text)
    status, text = await _post(http, sim, "/faults", {"no_such_fault": 1})
    assert status == 400, text
    status, text = await _post(http, sim, "/version", {"version": "x"})
    assert status == 400, text
    async with http.head(sim.urls["admin"] + "/health") as resp:
        assert resp.status == 200
