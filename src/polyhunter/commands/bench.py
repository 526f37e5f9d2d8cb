"""`polyhunter bench`: every benchmark under benchmarks/ in one run, as a table or one JSON document."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from polyhunter.log import configure_logging

# (module, label); each module under benchmarks/ has `run(quick) -> dict`.
SUITE = (
    ("bench_signing", "order signing"),
    ("bench_matching", "simulator matching engine"),
    ("bench_sim_rest", "simulator REST round trip"),
    ("bench_ingest", "ingest mux + dedup"),
    ("bench_engine", "copy latency and fan-out"),
    ("bench_detection", "detection per source: mempool, RTDS, chain, polling (live timing)"),
    ("bench_memory", "memory over a demo run"),
    ("bench_overload", "overload: backpressure, not failure"),
    ("bench_settlement", "PROXY settlement on anvil: batched vs one per tx"),
    ("bench_scale", "scale-out: 1, 2 and 3 workers, failover"),
)


def _benchmarks_dir() -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (base / "benchmarks" / "bench_signing.py").exists():
            return base / "benchmarks"
    raise typer.BadParameter("benchmarks/ not found: run from the project root")


def _run_isolated(path: Path, quick: bool) -> dict[str, Any]:
    """Run one benchmark script in its own interpreter (`--json`): a fresh heap and no state left by the
    benchmarks before it. Its stdout is one JSON document; a failure is reported, not raised."""
    cmd = [sys.executable, str(path), "--json", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=path.parent.parent, capture_output=True, text=True, check=False)  # noqa: S603 - our own scripts
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        return {"error": f"not one JSON document on stdout: {exc}"}
    return result


def machine() -> dict[str, Any]:
    mem = ""
    try:
        mem = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def _rows(name: str, r: dict[str, Any]) -> list[tuple[str, str]]:  # noqa: C901 - one case per benchmark
    rows: list[tuple[str, str]] = []
    if "error" in r:
        return [(name, f"failed: {r['error']}")]
    if name == "bench_signing":
        rows += [
            ("signing: ours", f"{r['ours_orders_per_s']:,} orders/s"),
            ("signing: official client", f"{r['official_orders_per_s']:,} orders/s"),
            ("signing: primitive floor", f"{r['floor_orders_per_s']:,} orders/s"),
        ]
    elif name == "bench_matching":
        rows.append(("matching engine", f"{round(r['orders_per_s']):,} orders/s"))
    elif name == "bench_sim_rest":
        for key, row in r.items():
            if isinstance(row, dict) and "p50_ms" in row:
                rows.append((f"sim REST {key}", f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms"))
    elif name == "bench_ingest":
        met = "met" if r.get("target_met") else "NOT met"
        rows.append(
            (
                "ingest mux + dedup",
                f"{r['pipeline_frames_per_s']:,} RTDS frames/s (target {r['target_pipeline_per_s']:,}: {met})",
            )
        )
    elif name == "bench_engine":
        for row in r["latency"]:
            s2s, venue = row["signal_to_submit_ms"] or {}, row["venue_round_trip_ms"] or {}
            rows.append(
                (
                    f"signal->submit, 1 follower, {row['custody']}, {row.get('db', 'sqlite')}",
                    f"p50 {s2s.get('p50_ms')} ms, p99 {s2s.get('p99_ms')} ms (venue round trip p50 {venue.get('p50_ms')} ms)",
                )
            )
        for row in r["fanout"]:
            rows.append(
                (
                    f"fan-out {row['configs']:,} configs, {row.get('custody', 'PAPER')}, {row['db']}",
                    f"{row['wall_s']} s ({row['copies_per_s']:,} copies/s)",
                )
            )
    elif name == "bench_detection":
        for source, m in r["sources"].items():
            block = f", vs its block p50 {m['vs_block_p50_ms']} ms" if "vs_block_p50_ms" in m else ""
            rows.append(
                (
                    f"detection {source} ({r['timing']['name']} timing)",
                    f"p50 {m.get('p50_ms')} ms, p99 {m.get('p99_ms')} ms ({m.get('count')} fills, "
                    f"{m['missed']} missed{block})",
                )
            )
    elif name == "bench_memory":
        rows.append(
            (
                f"RSS over a {r['duration_s'] / 60:.0f}-min demo",
                f"start {r['rss_start_mib']} MiB, peak {r['rss_peak_mib']} MiB, end {r['rss_end_mib']} MiB, "
                f"growth after min 2 {r['growth_after_2min_mib']} MiB",
            )
        )
    elif name == "bench_overload":
        bp, s2s = r["backpressure"], r["signal_to_submit_ms"]
        rows += [
            (
                f"overload {r['fill_rate_per_s']} fills/s x {r['configs']} configs",
                f"{r['fills_sent']} fills, lost {r['lost']}, FAILED internal {r['failed_internal']}",
            ),
            ("overload signal->submit", f"p50 {s2s['p50']} ms, p99 {s2s['p99']} ms"),
            (
                "overload backpressure",
                f"sources waited {bp['wait_s_total']} s, max occupancy {bp['max_occupancy']}/{bp['limit']}",
            ),
            ("overload RSS", _overload_rss(r["rss_mib"])),
        ]
    elif name == "bench_settlement":
        for mode, label in (("batched", "batched"), ("one_per_tx", "one per transaction")):
            m = r[mode]
            rows.append(
                (
                    f"settlement {label} ({m['copies']} copies, {m['transactions']} tx)",
                    f"{m['copies_per_s']} copies/s, {m['gas_per_copy']:,} gas per copy",
                )
            )
    elif name == "bench_scale":
        for run in r["runs"]:
            s2s, done = run["signal_to_submit_ms"], run["signal_to_done_ms"]
            failover = f", failover {run['failover_s']} s" if "failover_s" in run else ""
            rows.append(
                (
                    f"scale-out {run['workers']} worker(s), {r['followers']:,} followers / {r['leaders']} leaders",
                    f"{run['copies_per_s']} copies/s, signal->submit p50 {s2s['p50'] or '>10,000'} ms, "
                    f"p99 {s2s['p99'] or '>10,000'} ms, signal->done p50 {done['p50']} ms, p99 {done['p99']} ms"
                    f"{failover}",
                )
            )
    return rows


def _overload_rss(rss: dict[str, Any]) -> str:
    """RSS at the first minute's mark, at the end of the flow, and its slope after that minute."""
    mark = next((v for k, v in rss.items() if k.startswith("at_")), None)
    slope = next((v for k, v in rss.items() if k.startswith("slope_")), None)
    return f"{mark} MiB at minute 1, {rss.get('end_of_flow')} MiB at the end; {slope} MiB/min after minute 1"


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller runs (about 3 minutes in all).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document instead of a table.")] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these (e.g. bench_signing).")
    ] = None,
) -> None:
    """Run the benchmarks and print their figures with the machine they ran on."""
    configure_logging("WARNING")  # to stderr: stdout carries only the table or the JSON document
    known = [name for name, _ in SUITE]
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    directory = _benchmarks_dir()
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "at": datetime.now(UTC).isoformat()}
    for name, label in SUITE:
        if only and name not in only:
            continue
        if not as_json:
            typer.echo(f"running {label} ...", err=True)
        started = time.monotonic()
        results[name] = _run_isolated(directory / f"{name}.py", quick)
        results[name]["elapsed_s"] = round(time.monotonic() - started, 1)
    if as_json:
        typer.echo(json.dumps(results, indent=2, default=str))
        return
    m = results["machine"]
    typer.echo(f"\nmachine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Python {m['python']}\n")
    typer.echo(f"| {'figure':<45} | value |\n|{'-' * 47}|-------|")
    for name, _ in SUITE:
        if name in results:
            for label, value in _rows(name, results[name]):
                typer.echo(f"| {label:<45} | {value} |")
