"""Debian's Chromium for the browser tests (never a downloaded browser), and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


def chromium_or_skip() -> str:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed and `make chromium` could not install it (not root, no sudo)"
        )
    return str(CHROMIUM)


def artifacts_dir(name: str) -> Path:
    """`$POLYHUNTER_TEST_ARTIFACTS/<name>` (default `test-artifacts/` in the repository, gitignored)."""
    root = Path(os.environ.get("POLYHUNTER_TEST_ARTIFACTS", REPO / "test-artifacts"))
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    return out
