"""The run file the README shows is one `polyhunter run` accepts (the docs cannot drift from the code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polyhunter.runtime.run_file import load_run_file

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_run_file_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"## Run file.*?```toml\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "README has no Run file example"
    path = tmp_path / "run.toml"
    path.write_text(block.group(1))
    monkeypatch.setenv("BOB_KEY", "0x" + "11" * 32)
    run = load_run_file(path)
    assert [f.name for f in run.followers] == ["alice", "bob"]
    assert run.followers[0].limits.daily_cap_usdc is not None
    assert run.followers[1].key() == "0x" + "11" * 32
