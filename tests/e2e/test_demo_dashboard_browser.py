"""`polyhunter demo` (what `make demo` runs) prints its dashboard's URL, signed in as the demo
account; opened in Debian's Chromium, the page shows the demo followers' copies, arriving live."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.support.browser import DESKTOP, PHONE, artifacts_dir, chromium_or_skip
from tests.support.processes import stop_async_process

pytestmark = pytest.mark.integration

LINK = re.compile(r"Dashboard: (http://127\.0\.0\.1:\d+/#token=[A-Za-z0-9_\-]+)")


async def _link(proc: asyncio.subprocess.Process, timeout_s: float) -> str:
    assert proc.stderr is not None
    async with asyncio.timeout(timeout_s):
        while True:
            line = (await proc.stderr.readline()).decode()
            assert line, "demo ended before printing its dashboard URL"
            found = LINK.search(line)
            if found:
                return found.group(1)


async def test_demo_prints_a_live_dashboard(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    out = artifacts_dir("demo")
    env = {**os.environ, "POLYHUNTER__LOGGING__LEVEL": "WARNING"}
    env.pop("POLYHUNTER_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyhunter.cli", "demo", "--duration", "120", "--json",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        link = await _link(proc, 90)
        assert proc.stderr is not None
        drain = asyncio.create_task(proc.stderr.read())  # the pipe must never fill and block the demo
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport=DESKTOP)
            await page.goto(link)
            await expect(page.locator("#view-copies")).to_be_visible()
            await expect(page.locator("#who")).to_have_text("demo")
            assert "token" not in page.url  # the link's token is traded for a session and dropped
            rows = page.locator("#copies-table tbody tr")
            await expect(rows.first).to_be_visible(timeout=30_000)
            first = await page.eval_on_selector_all(
                "#copies-table tbody tr", "rs => Math.max(...rs.map(r => Number(r.dataset.copy)))"
            )
            await page.wait_for_function(
                "n => [...document.querySelectorAll('#copies-table tbody tr')].some(r => Number(r.dataset.copy) > n)",
                arg=first,
                timeout=30_000,
            )
            text = await page.locator("#copies-table tbody").inner_text()
            assert "demo-paper" in text or "demo-wallet" in text
            for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                await page.set_viewport_size(size)
                await page.screenshot(path=str(out / f"demo-copies-{label}.png"), full_page=True)
            await browser.close()
        assert await stop_async_process(proc) == 0
        await drain
    finally:
        await stop_async_process(proc)
