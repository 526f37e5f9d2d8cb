"""`polyhunter backtest`: what copying would have done. `--history FILE`: offline, on a recorded history;
`--leader ADDRESS`: the leader's history from the venue, each copy priced at the market's price history
at the fill time plus the latency (`analytics.live_backtest`, `domain.fill_model`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from polyhunter.adapters.polymarket.wire_validation import InvalidMessage
from polyhunter.analytics.backtest_setup import backtest_rules
from polyhunter.analytics.history_file import HistoryError, read_history
from polyhunter.analytics.live_backtest import LiveInputs, UnknownLeader, fetch_live_inputs
from polyhunter.analytics.progress import ProgressLine
from polyhunter.analytics.report import backtest_text, follower_json, utc_seconds
from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.domain.backtest import BacktestRules, FollowerRun, run_backtest
from polyhunter.domain.errors import PolyHunterError
from polyhunter.domain.fill_model import DEFAULT_DEPTH_SHARES, HistoryPricer
from polyhunter.domain.history import History, within
from polyhunter.runtime.backtest_plans import follower_plans, load_backtest_config
from polyhunter.runtime.identity_checks import parse_address
from polyhunter.settings import Settings, SettingsError

REPLAY_PROGRESS_FROM = 50_000  # fills: a replay this long shows its progress
FETCH_PROGRESS_FROM = 20  # venue requests: a fetch this long shows its progress
MAX_LATENCY_MS = 86_400_000


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


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
    config: Annotated[
        Path,
        typer.Option(
            "--config", "-c", help="A run file (followers and their copies), or ONE copy config table."
        ),
    ],
    history_file: Annotated[
        Path | None,
        typer.Option("--history", help="Offline: a recorded history (a JSON array of Data API rows)."),
    ] = None,
    leader: Annotated[
        str | None,
        typer.Option("--leader", help="The leader's history from the Data API, priced at the venue's."),
    ] = None,
    latency: Annotated[
        int, typer.Option("--latency", help="With --leader: ms from the leader's fill to the copy's order.")
    ] = 1000,
    depth_shares: Annotated[
        str, typer.Option("--depth-shares", help="With --leader: shares per tick of the modelled book.")
    ] = str(DEFAULT_DEPTH_SHARES),
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the equity curves to this PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    slippage_ticks: Annotated[
        int,
        typer.Option(
            "--slippage-ticks", min=0, max=100, help="Offline: ticks a copy pays past the leader's price."
        ),
    ] = 1,
    fee_rate: Annotated[
        list[str] | None,
        typer.Option(
            "--fee-rate",
            metavar="CONDITION_ID=RATE",
            help="Offline: a market's taker fee rate (repeatable).",
        ),
    ] = None,
    default_fee_rate: Annotated[
        str,
        typer.Option(
            "--default-fee-rate", help="Offline: the rate of markets without a recorded or given one."
        ),
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
    """Replay a leader's fills through the copy engine's filters, sizing, guardrails and aggregation,
    and report per follower: copies, skips by reason, invested, fees, PnL, drawdown and slippage
    against the leader. --history FILE runs offline on recorded rows; --leader ADDRESS reads the
    leader's history, each market's fee rate, outcome and price history from the venue."""
    if (history_file is None) == (leader is None):
        raise _fail("give either --history FILE (offline) or --leader ADDRESS (from the venue)")
    settings = settings_or_exit(settings_file, None, set_flags)
    try:
        window = (utc_seconds("--from", start), utc_seconds("--to", end))
        if window[0] is not None and window[1] is not None and window[0] >= window[1]:
            raise SettingsError(f"--from {start} is not before --to {end}")
        depth = _depth(depth_shares)
        if leader is not None:
            leader = _leader(leader, latency)
        plans = follower_plans(load_backtest_config(config, leader))
        if history_file is not None:
            rates = _fee_rates(fee_rate)
            default_rate = _fee_rates([f"0x={default_fee_rate}"])["0x"]
            leaders = {c.leader.lower() for p in plans for c in p.configs}
            with ProgressLine.for_file("reading history", history_file, progress) as bar:
                history = within(read_history(history_file, leaders, bar.update), *window)
    except (SettingsError, HistoryError) as exc:
        raise _fail(str(exc)) from None
    if leader is not None:
        history, rules, notes, pricer = _live(settings, leader, window, latency, depth, progress)
        rules = dataclasses.replace(rules, keep_copies=with_copies)
    else:
        rules = backtest_rules(
            settings,
            history,
            slippage_ticks=slippage_ticks,
            fee_rates=rates,
            default_fee_rate=default_rate,
            keep_copies=with_copies,
        )
        notes = [
            f"{len(history.fills)} fills of the followed leaders, {len(history.resolutions)} resolved tokens",
            "offline: copies priced at the recorded fill price"
            f" {slippage_ticks} tick(s) against the follower (no book or price history), filled in full",
        ]
        pricer = None
    show = progress if progress is not None else len(history.fills) >= REPLAY_PROGRESS_FROM
    replay = ProgressLine("replaying fills", show, unit="fills")
    runs = run_backtest(history.fills, history.resolutions, history.marks, rules, plans, replay.update)
    if pricer is not None:
        notes.append(
            f"price look-ups: {pricer.priced_from_history} from the price history,"
            f" {pricer.priced_from_print} at the leader's print (no history point that early)"
        )
    if start or end:
        notes.append(f"fills from {start or 'the start'} to {end or 'the end'} (UTC)")
    if not history.fills:
        notes.append("the history holds no fill of a followed leader")
    if history.ignored:
        notes.append("rows left out: " + ", ".join(f"{k} {v}" for k, v in sorted(history.ignored.items())))
    _report(runs, notes, plot, as_json, with_copies, {"mode": "live" if leader else "offline"})


def _leader(leader: str, latency: int) -> str:
    try:
        address = parse_address(leader)
    except ValueError as exc:
        raise SettingsError(f"--leader {leader[:50]!r}: {exc}") from None
    if not 0 <= latency <= MAX_LATENCY_MS:
        raise SettingsError(f"--latency {latency}: expected milliseconds from 0 to {MAX_LATENCY_MS}")
    return address


def _depth(raw: str) -> Decimal:
    try:
        depth = Decimal(raw)
    except InvalidOperation:
        depth = Decimal(-1)
    if not depth.is_finite() or not 0 < depth <= 10**9:
        raise SettingsError(f"--depth-shares {raw[:40]!r}: expected a number of shares above 0")
    return depth


def _live(
    settings: Settings,
    leader: str,
    window: tuple[int | None, int | None],
    latency: int,
    depth: Decimal,
    progress: bool | None,
) -> tuple[History, BacktestRules, list[str], HistoryPricer]:
    bar = ProgressLine("fetching markets", bool(progress), unit="requests")

    def step(done: int, total: int) -> None:
        bar.enabled = progress if progress is not None else total >= FETCH_PROGRESS_FROM
        bar.update(done, total)

    try:
        inputs: LiveInputs = asyncio.run(fetch_live_inputs(settings, leader, *window, latency, step))
    except UnknownLeader as exc:
        raise _fail(str(exc)) from None
    except (PolyHunterError, msgspec.ValidationError, msgspec.DecodeError, InvalidMessage) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise _fail(
            f"venue ({settings.venue.clob_url}, {settings.venue.data_api_url}): {detail}", 1
        ) from None
    history = inputs.history
    pricer = HistoryPricer(inputs.prices, latency, depth)
    rules = backtest_rules(settings, history, fee_rates=inputs.fee_rates)
    rules = dataclasses.replace(rules, ticks={**rules.ticks, **inputs.ticks}, pricer=pricer)
    markets = len({f.condition_id for f in history.fills})
    notes = [
        f"{len(history.fills)} fills of {leader} in the window ({inputs.all_fills} in the Data API),"
        f" {markets} markets, {inputs.resolved_markets} resolved at their outcome",
        f"copies priced at the price history {latency} ms after each fill (the worse of it and the"
        f" leader's price), walked against a modelled book of {depth.normalize():f} shares a tick;"
        " fees at each market's /fee-rate",
    ]
    return history, rules, notes, pricer


def _report(
    runs: list[FollowerRun],
    notes: list[str],
    plot: Path | None,
    as_json: bool,
    with_copies: bool,
    extra: dict[str, str],
) -> None:
    if plot is not None:
        from polyhunter.analytics.plot import plot_equity  # noqa: PLC0415 - matplotlib only when plotting

        try:
            plot_equity(runs, plot)
        except OSError as exc:
            raise _fail(f"cannot write {plot}: {exc.strerror or exc}") from None
        notes.append(f"equity curves written to {plot}")
    if as_json:
        followers = [follower_json(r, with_copies=with_copies) for r in runs]
        typer.echo(json.dumps({**extra, "followers": followers, "notes": notes}))
    else:
        typer.echo(backtest_text(runs, notes))
