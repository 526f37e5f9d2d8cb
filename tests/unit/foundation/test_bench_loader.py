"""`polyhunter bench` loads each benchmark script by path: a script defining dataclasses must load
(they look their module up in sys.modules), and an unknown --only name is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from polyhunter.commands.bench import _load, bench


def test_a_script_with_dataclasses_loads(tmp_path: Path) -> None:
    script = tmp_path / "bench_example.py"
    script.write_text(
        "import dataclasses\n\n@dataclasses.dataclass(frozen=True)\nclass Sim:\n    url: str\n\n"
        "def run(quick: bool) -> dict[str, str]:\n    return {'url': Sim('x').url}\n"
    )
    module = _load(script)
    assert module.run(True) == {"url": "x"}


def test_unknown_benchmark_is_named() -> None:
    with pytest.raises(typer.BadParameter, match="unknown benchmark bench_nope; choose from bench_signing"):
        bench(quick=True, as_json=True, only=["bench_nope"])
