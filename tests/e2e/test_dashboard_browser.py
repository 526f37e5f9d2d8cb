"""The dashboard in Debian's Chromium (Playwright, `/usr/bin/chromium`), against `polyhunter serve`'s
supervisor on the simulator and PostgreSQL: sign up, add a follower, a leader and a config, see
copies arrive live (over the event stream, no reload), stop everything. Each page is screenshotted
at desktop and phone widths into the test artifacts directory (`test-artifacts/dashboard/`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.support.browser import DESKTOP, PHONE, artifacts_dir, chromium_or_skip
from tests.support.serve_stack import serve_on_sim

pytestmark = pytest.mark.integration

LIVE_TIMEOUT_MS = 20_000


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


async def test_dashboard_flow(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    out = artifacts_dir("dashboard")
    async with serve_on_sim(tmp_path, seed=43, leaders=1) as served:
        leader = served.leaders[0]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport=DESKTOP)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(served.api_url + "/")
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
            await expect(page.locator("#configs-table tbody tr").first).to_contain_text("STOPPED_BY_OWNER")
            assert errors == []
            await browser.close()
    assert len(list(out.glob("*.png"))) == 12  # six pages, two widths
