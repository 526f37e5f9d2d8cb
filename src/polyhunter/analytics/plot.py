"""The equity curve of each backtested follower as a PNG (matplotlib's Agg backend: no display)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from polyhunter.domain.backtest import FollowerRun

MAX_POINTS = 5_000  # per follower: a longer curve is thinned evenly (its last point kept)
DAY_S = 86_400


def _thin(curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(curve) <= MAX_POINTS:
        return curve
    step = len(curve) / MAX_POINTS
    return [curve[int(i * step)] for i in range(MAX_POINTS)] + [curve[-1]]


def plot_equity(runs: list[FollowerRun], path: Path, title: str = "Copy backtest: equity curve") -> None:
    """Each follower's equity less its starting cash (USDC), against time since the first fill, in
    hours (or days past three days)."""
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache notice is not ours to print
    import matplotlib  # noqa: PLC0415 - loaded only when a plot is asked for (it is slow to import)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    curves = {
        r.plan.name: _thin([(ts, float(e - r.ledger.starting)) for ts, e in r.ledger.curve]) for r in runs
    }
    starts = [c[0][0] for c in curves.values() if c]
    ends = [c[-1][0] for c in curves.values() if c]
    t0 = min(starts) if starts else 0
    span = (max(ends) - t0) if ends else 0
    scale, unit = (DAY_S, "days") if span > 3 * DAY_S else (3600, "hours")
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for name, curve in curves.items():
        if curve:
            ax.step([(ts - t0) / scale for ts, _ in curve], [e for _, e in curve], where="post", label=name)
    since = datetime.fromtimestamp(t0, UTC).strftime("%Y-%m-%d %H:%M UTC")
    ax.set_title(title)
    ax.set_xlabel(f"{unit} since {since}")
    ax.set_ylabel("equity - starting cash (USDC)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.grid(visible=True, alpha=0.3)
    if starts:
        ax.legend(loc="best")
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
