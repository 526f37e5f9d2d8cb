"""benchmarks/bench_matching.py reports the matching engine's throughput as orders/s."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_matching.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_json_reports_orders_per_second_next_to_the_older_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["orders_per_s"] == pytest.approx(result["submits"] / result["seconds"])
    assert result["submits_per_s"] == result["orders_per_s"]
    assert result["ops_per_s"] == pytest.approx(
        result["ops"] / result["seconds"]
    )  # polyhunter bench reads it
    assert 0 < result["submits"] < result["ops"]  # the stream also cancels


def test_human_form_prints_the_orders_per_second_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bench().main(["--quick"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"^  orders/s +([\d,]+) ", out, re.MULTILINE)
    assert match is not None, out
    assert int(match.group(1).replace(",", "")) > 0
