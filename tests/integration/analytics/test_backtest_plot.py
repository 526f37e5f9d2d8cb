"""`polyhunter backtest --plot FILE.png` draws the equity curves (matplotlib takes seconds to import on a
loaded machine, so this one is not a unit test); a path that cannot be written is one line, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "history" / "three_markets.json"
RUN = """
[[followers]]
name = "alice"
  [[followers.copies]]
  leader = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
  sizing = "FIXED_USDC"
  sizing_value = "10"
  max_slippage_bps = 1000
"""


def test_plot_writes_a_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.upper().startswith("POLYHUNTER")]:
        monkeypatch.delenv(key)
    (tmp_path / "run.toml").write_text(RUN)
    png = tmp_path / "equity.png"
    args = ["backtest", "--history", str(FIXTURE), "--config", "run.toml"]
    result = CliRunner().invoke(app, [*args, "--plot", str(png)])
    assert result.exit_code == 0, result.stderr
    assert f"equity curves written to {png}" in result.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000  # a drawn figure, not an empty canvas
    result = CliRunner().invoke(app, [*args, "--plot", str(tmp_path / "absent" / "x.png")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write")
    assert result.stderr.count("\n") == 1
