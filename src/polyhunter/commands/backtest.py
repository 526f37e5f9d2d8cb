"""`polyhunter backtest --history FILE --config run.toml`: what copying would have done, offline."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.analytics.backtest_setup import backtest_rules
from polyhunter.analytics.history_file import HistoryError, read_history
from polyhunter.analytics.progress import ProgressLine
from polyhunter.analytics.report import backtest_text, follower_json, utc_seconds
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.backtest import run_backtest
from polyhunter.domain.history import within
from polyhunter.runtime.backtest_plans import follower_plans
from polyhunter.runtime.run_file import load_run_file
from polyhunter.settings import SettingsError

REPLAY_PROGRESS_FROM = 50_000  # fills: a replay this long shows its progress


def _fee_rates(values: list[str] | None) -> dict[str, Decimal]:
    rates = {}
    for item in values or ():
        cid, sep, raw = item.partition("=")
        try:
            rate = Decimal(raw)
        except InvalidOperation:
            rate = Decimal(-1)
        if not sep or not cid.startswith("0x") or not rate.is_finite() or not 0 <= rate <= 1:
            raise SettingsError(
                f"--fee-rate {item!r}: expected CONDITION_ID=RATE with a rate between 0 and 1"
            )
        rates[cid.lower()] = rate
    return rates


def backtest(
    history_file: Annotated[
        Path, typer.Option("--history", help="Recorded history: a JSON array of Data API rows.")
    ],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Run file: the followers and their copy configs.")
    ],
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the equity curves to this PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    slippage_ticks: Annotated[
        int,
        typer.Option("--slippage-ticks", min=0, max=100, help="Ticks a copy pays past the leader's price."),
    ] = 1,
    fee_rate: Annotated[
        list[str] | None,
        typer.Option(
            "--fee-rate", metavar="CONDITION_ID=RATE", help="A market's taker fee rate (repeatable)."
        ),
    ] = None,
    default_fee_rate: Annotated[
        str, typer.Option("--default-fee-rate", help="Fee rate of markets without a recorded or given one.")
    ] = "0",
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress on stderr (default: long work).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Only fills from this UTC date or time (2026-09-01 or ISO 8601)."),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Only fills before this UTC date or time.")] = None,
    with_copies: Annotated[
        bool, typer.Option("--copies", help="With --json: every copy made (signal key, side, shares, price).")
    ] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Replay a leader's recorded fills through the copy engine's filters, sizing, guardrails and
    aggregation, and report per follower: copies, skips by reason, invested, PnL and drawdown."""
    settings = settings_or_exit(settings_file, None, set_flags)
    try:
        run = load_run_file(config)
        rates = _fee_rates(fee_rate)
        default_rate = _fee_rates([f"0x={default_fee_rate}"])["0x"]
        plans = follower_plans(run)
        leaders = {c.leader.lower() for p in plans for c in p.configs}
        window = (utc_seconds("--from", start), utc_seconds("--to", end))
        with ProgressLine.for_file("reading history", history_file, progress) as bar:
            history = within(read_history(history_file, leaders, bar.update), *window)
    except (SettingsError, HistoryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rules = backtest_rules(
        settings,
        history,
        slippage_ticks=slippage_ticks,
        fee_rates=rates,
        default_fee_rate=default_rate,
        keep_copies=with_copies,
    )
    show = progress if progress is not None else len(history.fills) >= REPLAY_PROGRESS_FROM
    replay = ProgressLine("replaying fills", show, unit="fills")
    runs = run_backtest(history.fills, history.resolutions, history.marks, rules, plans, replay.update)
    notes = [
        f"{len(history.fills)} fills of the followed leaders, {len(history.resolutions)} resolved tokens",
        "offline: copies priced at the recorded fill price"
        f" {slippage_ticks} tick(s) against the follower (no book or price history), filled in full",
    ]
    if start or end:
        notes.append(f"fills from {start or 'the start'} to {end or 'the end'} (UTC)")
    if not history.fills:
        notes.append("the history holds no fill of a followed leader")
    if history.ignored:
        notes.append("rows left out: " + ", ".join(f"{k} {v}" for k, v in sorted(history.ignored.items())))
    if plot is not None:
        from polyhunter.analytics.plot import plot_equity  # noqa: PLC0415 - matplotlib only when plotting

        try:
            plot_equity(runs, plot)
        except OSError as exc:
            typer.echo(f"error: cannot write {plot}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        notes.append(f"equity curves written to {plot}")
    if as_json:
        followers = [follower_json(r, with_copies=with_copies) for r in runs]
        typer.echo(json.dumps({"followers": followers, "notes": notes}))
    else:
        typer.echo(backtest_text(runs, notes))
