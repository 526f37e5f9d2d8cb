"""`polyhunter bench` as a user runs it: the machine and the figures, as one JSON document on stdout
(logs go to stderr) or as a table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polyhunter.cli", "bench", "--quick", "--only", "bench_ingest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_json_document_carries_machine_and_figures() -> None:
    done = bench("--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # nothing else on stdout
    assert doc["quick"] is True
    assert doc["machine"]["cores"] >= 1
    assert doc["machine"]["python"].startswith("3.11")
    ingest = doc["bench_ingest"]
    assert "error" not in ingest
    assert ingest["pipeline_frames_per_s"] > 0
    assert isinstance(ingest["target_met"], bool)
    assert ingest["target_met"] is (ingest["pipeline_frames_per_s"] >= ingest["target_pipeline_per_s"])
    assert "bench_signing" not in doc  # --only


def test_table_names_machine_and_figure() -> None:
    done = bench()
    assert done.returncode == 0, done.stderr
    assert "machine:" in done.stdout
    line = next(row for row in done.stdout.splitlines() if row.startswith("| ingest mux + dedup"))
    assert "RTDS frames/s" in line
    assert "(target 200,000: met)" in line or "(target 200,000: NOT met)" in line


def test_bench_ingest_says_whether_the_target_is_met() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_ingest.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rate = int(
        next(r for r in done.stdout.splitlines() if r.strip().startswith("pipeline "))
        .split()[1]
        .replace(",", "")
    )
    target = next(r for r in done.stdout.splitlines() if r.strip().startswith("target:"))
    assert target.endswith(f"{'met' if rate >= 200_000 else 'NOT met'} ({rate:,} frames/s)")


def test_bench_prints_settlement_throughput_and_gas_per_copy() -> None:
    """`polyhunter bench --only bench_settlement`: batched vs one per transaction, copies/s and gas per copy."""
    done = subprocess.run(
        [sys.executable, "-m", "polyhunter.cli", "bench", "--quick", "--only", "bench_settlement"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "settlement batched (40 copies, 1 tx)" in done.stdout
    assert "settlement one per transaction (20 copies, 20 tx)" in done.stdout
    batched = next(line for line in done.stdout.splitlines() if "settlement batched" in line)
    single = next(line for line in done.stdout.splitlines() if "settlement one per" in line)

    def gas(line: str) -> int:
        return int(line.split(" copies/s, ")[1].split(" gas")[0].replace(",", ""))

    assert gas(batched) < gas(single)  # batching spreads the transaction's base cost
