"""Where the tests' recorded data lives: the Polymarket wire fixtures copied into the repository."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
