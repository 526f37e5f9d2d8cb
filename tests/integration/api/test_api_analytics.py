"""The analytics API over real HTTP (uvicorn on PostgreSQL): the leader ranking from the simulator's
Data API (after it replayed a recorded file) equals `leaders rank --json` on the file, is cached (one
Data API read per leader however often the dashboard asks), and refuses bad requests with a clear 400;
an account's daily PnL series per follower, config and leader, which nobody else can read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from polyhunter.analytics.history_file import read_history
from polyhunter.analytics.ranking import ranking_json
from polyhunter.domain.copy_config import CopyConfig
from polyhunter.domain.leader_stats import RankBy
from polyhunter.domain.signal import Side
from polyhunter.settings import DbSettings
from polyhunter.sim.scenarios import ScenarioConfig
from polyhunter.sim.server_app import SimServer
from polyhunter.store.database import unit_of_work
from polyhunter.store.pnl_daily import SqlDailyPnl
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from tests.support.api_stack import api_stack, sign_up
from tests.support.history_gen import synthetic_rows, write_rows
from tests.support.pnl_fills import executed_copy

pytestmark = pytest.mark.integration

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER = "0x" + "5e" * 20
FILL_WAIT_S = 60


async def test_leader_ranking_over_http_from_the_simulator(fresh_pg: DbSettings, tmp_path: Path) -> None:
    rows = [
        r
        for r in synthetic_rows([LEADER, OTHER], markets=3, trades_per_market=6, gap_s=5)
        if r["type"] == "TRADE"
    ]
    history_file = write_rows(tmp_path / "history.json", rows)
    config = ScenarioConfig(name="replay", seed=3, replay_file=history_file, speed=1000.0)
    async with SimServer(config, port=0) as sim:
        deadline = asyncio.get_running_loop().time() + FILL_WAIT_S
        while sim.runner.fills < len(rows):
            assert asyncio.get_running_loop().time() < deadline, f"{sim.runner.fills} of {len(rows)} replayed"
            await asyncio.sleep(0.05)
        async with (
            api_stack(fresh_pg, data_api_url=sim.urls["data_api"]) as stack,
            aiohttp.ClientSession() as http,
        ):
            alice = await sign_up(http, stack.url, "alice")
            path = (
                f"/api/v1/leaders/rank?address={LEADER}&address={OTHER.upper().replace('0X', '0x')}&by=volume"
            )
            status, ranked = await alice.call("GET", path)
            assert status == 200, ranked
            recorded = ranking_json(read_history(history_file), [LEADER, OTHER], RankBy.VOLUME)
            same = ("leader", "fills", "markets", "volume", "bought", "realized_pnl", "open_positions")
            assert [{k: s[k] for k in same} for s in ranked["leaders"]] == [
                {k: s[k] for k in same} for s in recorded["leaders"]
            ]
            assert ranked["by"] == "volume"
            assert {s["leader"] for s in ranked["leaders"]} == {LEADER, OTHER}
            # cached: asked again (and all at once), the Data API is read once per leader
            assert stack.rankings is not None
            assert stack.rankings.fetches == 2
            again = await asyncio.gather(*(alice.call("GET", path) for _ in range(5)))
            assert all(a == (200, ranked) for a in again)
            one = await alice.call("GET", f"/api/v1/leaders/rank?address={LEADER}")
            assert one[0] == 200
            assert [s["leader"] for s in one[1]["leaders"]] == [LEADER]
            assert stack.rankings.fetches == 2

            # clear refusals: 400 naming what is wrong; 401 without credentials
            for query, says in (
                ("", "name the leaders"),
                ("?address=0x12", "'0x12'"),
                (f"?address={LEADER}&address=nope", "'nope'"),
                ("".join(f"&address=0x{n:040x}" for n in range(11)).replace("&", "?", 1), "at most 10"),
            ):
                status, body = await alice.call("GET", "/api/v1/leaders/rank" + query)
                assert status == 400, (query, body)
                assert says in body["detail"], body
            status, _ = await alice.call("GET", f"/api/v1/leaders/rank?address={LEADER}&by=luck")
            assert status == 422
            alice.token, token = None, alice.token
            assert (await alice.call("GET", path))[0] == 401
            alice.token = token
            assert stack.rankings.fetches == 2


async def test_daily_pnl_series_is_the_owners_only(fresh_pg: DbSettings) -> None:
    async with api_stack(fresh_pg) as stack, aiohttp.ClientSession() as http:
        alice = await sign_up(http, stack.url, "alice")
        bob = await sign_up(http, stack.url, "bob")
        follower = (await alice.call("POST", "/api/v1/followers", {"name": "main"}))[1]
        leader = (await alice.call("POST", "/api/v1/leaders", {"address": LEADER}))[1]
        body = {"follower_id": follower["id"], "leader": LEADER, "sizing": "FIXED_USDC", "sizing_value": "5"}
        status, config = await alice.call("POST", "/api/v1/configs", body)
        assert status == 201, config
        async with unit_of_work(stack.sessions) as session:
            stored = await CopyConfigRepository(session).get(config["id"])
        assert stored is not None
        cfg: CopyConfig = stored.config
        now = datetime.now(UTC)
        yesterday = now - timedelta(days=1)
        market, token = "0x" + "ab" * 32, "4242"
        # yesterday: 10 shares for 4.00 (fee 0.05); today: 4 sold for 2.40 (fee 0.02)
        await executed_copy(
            stack.sessions, cfg, 1, market, token, Side.BUY, 10_000_000, 400_000, None, 50_000, yesterday
        )
        await executed_copy(
            stack.sessions, cfg, 2, market, token, Side.SELL, 4_000_000, 600_000, None, 20_000, now
        )
        await SqlDailyPnl(stack.sessions).write(now)

        days = [
            {
                "day": yesterday.date().isoformat(),
                "realized_pnl_usdc": "-0.05",
                "fees_usdc": "0.05",
                "unrealized_pnl_usdc": "0",  # marked at its only fill
                "invested_usdc": "4",
                "total_pnl_usdc": "-0.05",
            },
            {
                "day": now.date().isoformat(),
                "realized_pnl_usdc": "0.78",  # 4 x (0.60 - 0.40) - 0.02
                "fees_usdc": "0.02",
                "unrealized_pnl_usdc": "1.2",  # 6 x 0.60 - 2.40
                "invested_usdc": "2.4",
                "total_pnl_usdc": "1.98",
            },
        ]
        for path in (
            f"/api/v1/followers/{follower['id']}/pnl/daily",
            f"/api/v1/configs/{config['id']}/pnl/daily",
            f"/api/v1/leaders/{leader['id']}/pnl/daily",
        ):
            assert await alice.call("GET", path) == (200, days), path
            assert (await bob.call("GET", path))[0] == 404, path
        since = now.date().isoformat()
        path = f"/api/v1/followers/{follower['id']}/pnl/daily?since={since}"
        assert await alice.call("GET", path) == (200, days[1:])
        status, body = await alice.call("GET", path + f"&until={yesterday.date().isoformat()}")
        assert status == 400
        assert body["detail"] == "since is after until"
        status, body = await alice.call("GET", path.replace(since, "2020-01-01"))
        assert status == 400
        assert "366" in body["detail"]
