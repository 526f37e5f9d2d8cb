"""Memory of a demo run: RSS of `polyhunter demo` sampled every few seconds (start, peak, end, growth).

    uv run --frozen python benchmarks/bench_memory.py [--quick] [--json] [--minutes M]

The full run lasts 10 minutes; "growth" compares the RSS at minute 2 with the RSS at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polyhunter.log import configure_logging


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run(quick: bool = False, minutes: float | None = None) -> dict[str, Any]:
    duration = 60.0 * (minutes if minutes is not None else (1 if quick else 10))
    interval = 2.0 if quick else 5.0
    samples: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "POLYHUNTER__LOGGING__LEVEL": "WARNING"}
        cmd = [
            sys.executable,
            "-m",
            "polyhunter.cli",
            "demo",
            "--duration",
            str(duration),
            "--json",
            "--rate",
            "4",
        ]
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )  # noqa: S603
        started = time.monotonic()
        while proc.poll() is None:
            value = rss_kib(proc.pid)
            if value is not None and value > 1024:  # skip the exec moment
                samples.append((time.monotonic() - started, value))
            time.sleep(interval)
        out = proc.stdout.read() if proc.stdout else ""
    summary = json.loads(out[out.index("{") :]) if "{" in out else {}
    if not samples:
        return {"error": "no samples", "returncode": proc.returncode}
    at_2min = next((v for t, v in samples if t >= min(120.0, duration / 5)), samples[0][1])
    end = samples[-1][1]
    return {
        "duration_s": duration,
        "samples": len(samples),
        "rss_start_mib": round(samples[0][1] / 1024, 1),
        "rss_peak_mib": round(max(v for _, v in samples) / 1024, 1),
        "rss_end_mib": round(end / 1024, 1),
        "rss_at_2min_mib": round(at_2min / 1024, 1),
        "growth_after_2min_mib": round((end - at_2min) / 1024, 1),
        "demo_signals": summary.get("signals"),
        "demo_copies": summary.get("copies"),
        "returncode": proc.returncode,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one minute instead of ten")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick, args.minutes)
    print(json.dumps(result, indent=2) if args.json else " ".join(f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
