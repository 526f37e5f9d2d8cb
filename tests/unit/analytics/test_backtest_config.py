"""`backtest --config FILE`: a run file, or ONE copy config table (the run file's copy keys)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from polyhunter.domain.copy_config import SizingMode
from polyhunter.runtime.backtest_plans import follower_plans, load_backtest_config
from polyhunter.settings import SettingsError

LEADER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
OTHER = "0x" + "5e" * 20


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_copy_table_is_one_follower(tmp_path: Path) -> None:
    path = _write(tmp_path, 'sizing = "FIXED_USDC"\nsizing_value = "10"\nstarting_cash_usdc = "250"\n')
    (plan,) = follower_plans(load_backtest_config(path, LEADER))
    (cfg,) = plan.configs
    assert (plan.starting_cash, cfg.leader, cfg.sizing, cfg.sizing_value) == (
        Decimal(250),
        LEADER,
        SizingMode.FIXED_USDC,
        Decimal(10),
    )
    with pytest.raises(SettingsError, match="needs a leader"):
        load_backtest_config(path)  # --history with a table: the table names its leader
    path = _write(tmp_path, f'leader = "{OTHER}"\nsizing = "FIXED_USDC"\nsizing_value = "10"\n')
    with pytest.raises(SettingsError, match="is not the --leader"):
        load_backtest_config(path, LEADER)
    assert follower_plans(load_backtest_config(path))[0].configs[0].leader == OTHER


def test_a_run_file_keeps_the_copies_of_the_leader(tmp_path: Path) -> None:
    run = f"""
[[followers]]
name = "alice"
  [[followers.copies]]
  leader = "{LEADER}"
  sizing = "FIXED_USDC"
  sizing_value = "10"
[[followers]]
name = "bob"
  [[followers.copies]]
  leader = "{OTHER}"
  sizing = "FIXED_USDC"
  sizing_value = "5"
"""
    path = _write(tmp_path, run)
    assert [p.name for p in follower_plans(load_backtest_config(path))] == ["alice", "bob"]
    assert [p.name for p in follower_plans(load_backtest_config(path, OTHER))] == ["bob"]
    with pytest.raises(SettingsError, match="no copy config copies the --leader"):
        load_backtest_config(path, "0x" + "12" * 20)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n', "expected a run file ([[followers]]"),
        ('sizing = "SOMETIMES"\n', "sizing: Input should be"),
        ('sizing = "FIXED_USDC"\nsizing_value = "-1"\n', "sizing_value: Input should be greater"),
        ('sizing = "FIXED_USDC"\ncolour = "red"\n', "colour: Extra inputs are not permitted"),
        ("sizing = \n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_backtest_config(_write(tmp_path, text), LEADER)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_readme_example_copy_table_loads() -> None:
    path = Path(__file__).resolve().parents[3] / "docs" / "examples" / "backtest-copy.toml"
    (plan,) = follower_plans(load_backtest_config(path, LEADER))
    assert (plan.starting_cash, plan.configs[0].sizing_value) == (Decimal(1000), Decimal(10))
