"""`polyhunter bench` runs each benchmark script in its own interpreter and reads one JSON document;
a failing script is reported with its last error line, and an unknown --only name is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from polyhunter.commands.bench import _run_isolated, bench


def script(tmp_path: Path, body: str) -> Path:
    (tmp_path / "benchmarks").mkdir(exist_ok=True)
    path = tmp_path / "benchmarks" / "bench_example.py"
    path.write_text(body)
    return path


def test_a_script_s_json_document_is_its_result(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "import json, sys\nprint(json.dumps({'quick': '--quick' in sys.argv, 'json': '--json' in sys.argv}))\n",
    )
    assert _run_isolated(path, quick=True) == {"quick": True, "json": True}
    assert _run_isolated(path, quick=False) == {"quick": False, "json": True}


def test_a_failing_script_is_reported(tmp_path: Path) -> None:
    path = script(tmp_path, "raise SystemExit('database unreachable')\n")
    assert _run_isolated(path, quick=True) == {"error": "exit 1: database unreachable"}
    path = script(tmp_path, "print('not json')\n")
    assert _run_isolated(path, quick=True)["error"].startswith("not one JSON document")


def test_unknown_benchmark_is_named() -> None:
    with pytest.raises(typer.BadParameter, match="unknown benchmark bench_nope; choose from bench_signing"):
        bench(quick=True, as_json=True, only=["bench_nope"])
