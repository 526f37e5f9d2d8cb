"""The dashboard in Debian's Chromium (Playwright, `/usr/bin/chromium`), against `polyhunter serve`'s
supervisor on the simulator and PostgreSQL: sign up, add a follower, a leader and a config, see
copies arrive live (over the event stream, no reload), stop everything. Each page is screenshotted
at desktop and phone widths into the test artifacts directory (`test-artifacts/dashboard/`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright, expect

from polyhunter.runtime.supervisor import Supervisor
from polyhunter.settings import DbSettings
from polyhunter.sim.server_app import SimServer
from tests.support.browser import DESKTOP, PHONE, artifacts_dir, chromium_or_skip
from tests.support.pg_databases import create_pg_database, drop_pg_database, pg_settings
from tests.support.sim_stack import admin, sim_settings

pytestmark = pytest.mark.integration

LIVE_TIMEOUT_MS = 20_000


@pytest.fixture
def fresh_pg() -> Iterator[DbSettings]:
    name = create_pg_database()
    try:
        yield pg_settings(name)
    finally:
        drop_pg_database(name)


async def _shots(page: Page, out: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def _max_copy_id(page: Page) -> int:
    ids = await page.eval_on_selector_all(
        "#copies-table tbody tr", "rows => rows.map(r => Number(r.dataset.copy))"
    )
    return max(ids, default=0)


async def test_dashboard_flow(tmp_path: Path, fresh_pg: DbSettings) -> None:
    chromium = chromium_or_skip()
    out = artifacts_dir("dashboard")
    async with SimServer("leaders", 43, 0, leaders=1, markets=3, rate=4) as sim:
        async with aiohttp.ClientSession() as http:
            scenario = await admin(http, sim.urls["admin"], "GET", "/scenario")
        leader = scenario["leaders"][0]["address"].lower()
        settings = sim_settings(
            sim.urls, tmp_path / "unused.db", db={"url": fresh_pg.url}, api={"sync_interval_ms": 200}
        )
        sup = Supervisor(settings, None)
        await sup.start()
        running = asyncio.create_task(sup.run(stop_after=False))
        try:
            assert sup.api is not None
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = await browser.new_page(viewport=DESKTOP)
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(sup.api.url + "/")
                await expect(page.locator("#view-signin")).to_be_visible()
                await _shots(page, out, "signin")

                # sign up (a refused password is shown by its field first)
                await page.fill("input[name=username]", "alice")
                await page.fill("input[name=password]", "short")
                await page.click("button[value=register]")
                await expect(page.locator('#signin-form [data-error="password"]')).not_to_be_empty()
                await page.fill("input[name=password]", "a long enough password")
                await page.click("button[value=register]")
                await expect(page.locator("#view-copies")).to_be_visible()
                await expect(page.locator("#who")).to_have_text("alice")

                await page.click("a[href='#followers']")
                await page.fill("#follower-form input[name=name]", "paper")
                await page.click("#follower-form button[type=submit]")
                await expect(page.locator("#followers-table tbody tr")).to_have_count(1)
                await _shots(page, out, "followers")

                await page.click("a[href='#leaders']")
                await page.fill("#leader-form input[name=address]", "0x12")
                await page.click("#leader-form button[type=submit]")
                await expect(page.locator('#leader-form [data-error="address"]')).not_to_be_empty()
                await page.fill("#leader-form input[name=address]", leader)
                await page.fill("#leader-form input[name=label]", "sim leader")
                await page.click("#leader-form button[type=submit]")
                await expect(page.locator("#leaders-table tbody tr")).to_have_count(1)
                await _shots(page, out, "leaders")

                await page.click("a[href='#configs']")
                await expect(page.locator("#config-form input[name=leader]")).to_have_value(leader)
                await page.fill("#config-form input[name=sizing_value]", "3")
                await page.click("#config-form button[type=submit]")
                await expect(page.locator("#configs-table tbody tr")).to_have_count(1)
                await _shots(page, out, "configs")

                # copies arrive live: rows with ids above what the page loaded, without a reload
                await page.click("a[href='#copies']")
                await expect(page.locator("#view-copies")).to_be_visible()
                loaded = await _max_copy_id(page)
                await page.wait_for_function(
                    "n => [...document.querySelectorAll('#copies-table tbody tr')].some(r => Number(r.dataset.copy) > n)",
                    arg=loaded,
                    timeout=LIVE_TIMEOUT_MS,
                )
                await _shots(page, out, "copies")

                # stop everything: the config pauses, copies after it are skipped CONFIG_PAUSED
                await page.click("#stop-all")
                await expect(page.locator("#flash")).to_contain_text("1 config(s) paused")
                await expect(
                    page.locator("#copies-table tbody td", has_text="CONFIG_PAUSED").first
                ).to_be_visible(timeout=LIVE_TIMEOUT_MS)
                await _shots(page, out, "stopped")
                await page.click("a[href='#configs']")
                await expect(page.locator("#configs-table tbody tr").first).to_contain_text(
                    "STOPPED_BY_OWNER"
                )
                assert errors == []
                await browser.close()
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await sup.stop()
    assert len(list(out.glob("*.png"))) == 12  # six pages, two widths
