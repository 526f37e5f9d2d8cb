"""`polyhunter backtest` and `polyhunter leaders rank` as a user runs them: the report, the PNG,
one-line errors with exit 2, an empty history, a leader with only open positions, progress on stderr
for long work."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.analytics import progress
from polyhunter.cli import app
from tests.support.history_gen import synthetic_rows, trade_row, write_rows

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "history" / "three_markets.json"
LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER = "0x" + "5e" * 20
RUN = f"""
[[followers]]
name = "alice"
starting_cash_usdc = "1000"
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "FIXED_USDC"
  sizing_value = "10"
  max_slippage_bps = 1000
"""


@pytest.fixture
def run_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no polyhunter.toml around: default settings
    for key in [k for k in os.environ if k.upper().startswith("POLYHUNTER")]:
        monkeypatch.delenv(key)
    path = tmp_path / "run.toml"
    path.write_text(RUN)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_backtest_json(run_toml: Path) -> None:
    code, out, err = invoke("backtest", "--history", str(FIXTURE), "--config", str(run_toml), "--json")
    assert code == 0, err
    (alice,) = json.loads(out)["followers"]
    assert alice["copies"] == 4
    assert Decimal(alice["realized_pnl"]) == Decimal("-1.8172")
    assert Decimal(alice["max_drawdown"]) == Decimal(18)
    assert Decimal(alice["invested"]) == Decimal("31.4126")


def test_backtest_text_report(run_toml: Path) -> None:
    code, out, _ = invoke("backtest", "--history", str(FIXTURE), "--config", str(run_toml))
    assert code == 0
    assert "follower alice: 4 copies" in out
    assert "realized -1.82" in out
    assert "max drawdown 18.00" in out
    assert "rows left out: SPLIT 1" in out


def test_backtest_errors_are_one_line(run_toml: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([trade_row(LEADER, 1, 0, "BUY", "10", "0.5", 1_790_000_000), {"side": "BUY"}]))
    code, out, err = invoke("backtest", "--history", str(bad), "--config", str(run_toml))
    assert code == 2
    assert out == ""
    assert (
        err == f"error: {bad}: row 1: side 'BUY' is not" + err.split("is not", 1)[1] if False else err
    )  # shape below
    assert err.count("\n") == 1
    assert err.startswith(f"error: {bad}: row 1: no size")
    code, _, err = invoke("backtest", "--history", str(tmp_path / "none.json"), "--config", str(run_toml))
    assert (code, err.count("\n")) == (2, 1)
    assert "cannot read" in err
    code, _, err = invoke("backtest", "--history", str(FIXTURE), "--config", str(tmp_path / "none.toml"))
    assert (code, err.count("\n")) == (2, 1)
    assert "run file not found" in err
    code, _, err = invoke(
        "backtest", "--history", str(FIXTURE), "--config", str(run_toml), "--fee-rate", "x=2"
    )
    assert code == 2
    assert "--fee-rate 'x=2'" in err
    code, _, err = invoke(
        "backtest",
        "--history",
        str(FIXTURE),
        "--config",
        str(run_toml),
        "--plot",
        str(tmp_path / "no" / "x.png"),
    )
    assert code == 2
    assert "cannot write" in err


def test_backtest_of_an_empty_history(run_toml: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    code, out, _ = invoke("backtest", "--history", str(empty), "--config", str(run_toml), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["followers"][0]["copies"] == 0
    assert report["followers"][0]["equity"] == "1000.000000"
    assert "the history holds no fill of a followed leader" in report["notes"]


def test_leaders_rank_from_a_file(run_toml: Path, tmp_path: Path) -> None:
    rows = json.loads(FIXTURE.read_text())
    rows.append(trade_row(OTHER, 7, 0, "BUY", "100", "0.30", 1_790_000_000))  # only an open position
    rows.append(
        {
            "proxyWallet": OTHER,
            "asset": rows[-1]["asset"],
            "conditionId": rows[-1]["conditionId"],
            "size": 100,
            "curPrice": 0.45,
            "redeemable": False,
        }
    )
    path = write_rows(tmp_path / "two.json", rows)
    code, out, err = invoke("leaders", "rank", "--from-file", str(path), "--json")
    assert code == 0, err
    first, second = json.loads(out)["leaders"]
    assert first["leader"] == LEADER
    assert (first["realized_pnl_resolved"], first["win_rate"], first["max_drawdown"]) == (
        "24.000000",
        "0.3333",
        "41.000000",
    )
    assert second["leader"] == OTHER
    assert (second["resolved_markets"], second["open_positions"], second["win_rate"]) == (0, 1, None)
    assert Decimal(second["unrealized_pnl"]) == Decimal(15)
    code, out, _ = invoke("leaders", "rank", OTHER, "--from-file", str(path), "--by", "total_pnl")
    assert code == 0
    assert OTHER in out
    assert LEADER not in out


def test_leaders_rank_needs_leaders_or_a_file(run_toml: Path) -> None:
    code, _, err = invoke("leaders", "rank")
    assert code == 2
    assert "name the leaders to rank, or give --from-file" in err
    code, _, err = invoke("leaders", "rank", "0x12")
    assert code == 2
    assert "not a leader address" in err


def test_long_work_shows_progress_on_stderr(
    run_toml: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "BIG_FILE", 64 << 10)
    path = write_rows(
        tmp_path / "big.json", synthetic_rows([LEADER, OTHER], markets=20, trades_per_market=40)
    )
    code, out, err = invoke("backtest", "--history", str(path), "--config", str(run_toml), "--json")
    assert code == 0
    assert "reading history: 100%" in err
    assert json.loads(out)["followers"][0]["copies"] > 0  # stdout holds the report alone
    code, _, err = invoke("backtest", "--history", str(path), "--config", str(run_toml), "--no-progress")
    assert "reading history" not in err


def test_the_readme_example_runs(run_toml: Path) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs"
    args = ["--history", str(docs / "examples" / "backtest-history.json")]
    code, out, err = invoke(
        "backtest", *args, "--config", str(docs / "examples" / "backtest-run.toml"), "--json"
    )
    assert code == 0, err
    better, worse = json.loads(out)["followers"]
    assert (
        Decimal(better["realized_pnl"]) > 0 > Decimal(worse["realized_pnl"])
    )  # what the README's plot shows
    code, out, err = invoke("leaders", "rank", "--from-file", args[1], "--json")
    assert code == 0, err
    assert [x["leader"][:6] for x in json.loads(out)["leaders"]] == ["0x5e5e", "0x5668"]


def test_backtest_window(run_toml: Path) -> None:
    """From 14:18 UTC (T0 + 280 s): market A's buy (T0 + 100) and its redemption are left out."""
    window = ["--from", "2026-09-21T14:18:00", "--to", "2026-09-22"]
    code, out, err = invoke(
        "backtest", "--history", str(FIXTURE), "--config", str(run_toml), "--json", *window
    )
    assert code == 0, err
    (alice,) = json.loads(out)["followers"]
    assert alice["copies"] == 3
    assert Decimal(alice["realized_pnl"]) == Decimal("-16.5672")  # B -5.5672, C -11
    code, _, err = invoke("backtest", "--history", str(FIXTURE), "--config", str(run_toml), "--to", "soon")
    assert code == 2
    assert err == "error: --to 'soon': expected a date (2026-09-01) or an ISO 8601 time\n"


def test_leaders_rank_with_the_data_api_down_is_one_line(run_toml: Path) -> None:
    down = ["--set", "venue.data_api_url=http://127.0.0.1:9", "--set", "venue.max_retries=0"]
    code, out, err = invoke("leaders", "rank", LEADER, *down)
    assert code == 1
    assert out == ""
    assert err.startswith("error: Data API http://127.0.0.1:9")
    assert err.count("\n") == 1
