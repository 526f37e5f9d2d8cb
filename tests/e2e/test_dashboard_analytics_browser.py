"""The dashboard's analytics view in Debian's Chromium (Playwright), against `polyhunter serve`'s
supervisor on the simulator and PostgreSQL: a paper follower copies a leader; the view shows its daily
PnL from the series the supervisor writes (today's row, as the API gives it) and ranks the watched
leader from the simulator's Data API (as `GET /api/v1/leaders/rank` gives it); a bad address is refused
in the form. Screenshots at desktop and phone widths in `test-artifacts/dashboard-analytics/`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.support.browser import DESKTOP, PHONE, artifacts_dir, chromium_or_skip
from tests.support.serve_stack import serve_on_sim

pytestmark = pytest.mark.integration

LIVE_TIMEOUT_MS = 30_000
FETCH_JSON = "path => fetch('/api/v1' + path, {credentials: 'same-origin'}).then(r => r.json())"


async def _shots(page: Page, out: Path, name: str) -> None:
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def test_dashboard_analytics(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    out = artifacts_dir("dashboard-analytics")
    async with serve_on_sim(tmp_path, seed=47, leaders=1, engine={"pnl_daily_interval_s": 0.5}) as served:
        leader = served.leaders[0]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport=DESKTOP)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(served.api_url + "/")
            await page.fill("input[name=username]", "dana")
            await page.fill("input[name=password]", "a long enough password")
            await page.click("button[value=register]")
            await expect(page.locator("#view-copies")).to_be_visible()
            await page.click("a[href='#followers']")
            await page.fill("#follower-form input[name=name]", "paper")
            await page.click("#follower-form button[type=submit]")
            await expect(page.locator("#followers-table tbody tr")).to_have_count(1)
            await page.click("a[href='#leaders']")
            await page.fill("#leader-form input[name=address]", leader)
            await page.click("#leader-form button[type=submit]")
            await expect(page.locator("#leaders-table tbody tr")).to_have_count(1)
            await page.click("a[href='#configs']")
            await expect(page.locator("#config-form input[name=leader]")).to_have_value(leader)
            await page.fill("#config-form input[name=sizing_value]", "3")
            await page.click("#config-form button[type=submit]")
            await expect(page.locator("#configs-table tbody tr")).to_have_count(1)
            await page.click("a[href='#copies']")
            await expect(page.locator("#copies-table td.EXECUTED").first).to_be_visible(
                timeout=LIVE_TIMEOUT_MS
            )

            # daily PnL: today's row appears once the supervisor's series has it (written every 0.5 s)
            await page.click("a[href='#analytics']")
            await expect(page.locator("#view-analytics")).to_be_visible()
            today = datetime.now(UTC).date().isoformat()
            row = page.locator(f'#pnl-table tbody tr[data-day="{today}"]')
            for _ in range(60):
                if await row.count():
                    break
                await page.click("#pnl-form button[type=submit]")
                await page.wait_for_timeout(500)
            await expect(row).to_have_count(1)
            follower_id = await page.eval_on_selector("#pnl-form select[name=follower_id]", "s => s.value")
            days: list[dict[str, Any]] = await page.evaluate(
                FETCH_JSON, f"/followers/{follower_id}/pnl/daily"
            )
            assert [d["day"] for d in days] == [today]
            assert Decimal(days[0]["fees_usdc"]) >= 0
            await expect(row.locator("td").nth(0)).to_have_text(today)

            # leader ranking: the watched leader is filled in; ranked as the API ranks it
            await expect(page.locator("#rank-form input[name=addresses]")).to_have_value(leader)
            await page.click("#rank-form button[type=submit]")
            await expect(page.locator("#rank-table tbody tr")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
            await expect(page.locator("#rank-table tbody tr").first).to_have_attribute("data-leader", leader)
            ranked = await page.evaluate(FETCH_JSON, f"/leaders/rank?address={leader}")
            (stats,) = ranked["leaders"]
            assert stats["fills"] > 0
            await expect(page.locator("#rank-table tbody tr td").nth(2)).to_have_text(stats["total_pnl"])
            await _shots(page, out, "analytics")

            await page.fill("#rank-form input[name=addresses]", "0x12")
            await page.click("#rank-form button[type=submit]")
            await expect(page.locator('#rank-form [data-error="addresses"]')).to_contain_text(
                "not a leader address"
            )
            assert errors == []
            await browser.close()
    assert len(list(out.glob("*.png"))) == 2
