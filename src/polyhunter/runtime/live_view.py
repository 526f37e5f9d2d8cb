"""What a running supervisor shows its operator, shared by `polyhunter run` and `polyhunter demo`.

On a terminal: a live view (the most recent copies, each follower's PnL) redrawn four times a second;
otherwise (systemd, CI, a pipe): one `progress` log line every `LOG_EVERY_S`. When it stops (after the
drain): a summary (copies by state and reason, PnL per follower, signal-to-submit p50 / p99), as text
or as JSON. Everything is read through the `Queries` facade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import sys
import time
from array import array
from collections import Counter, deque
from collections.abc import Awaitable, Coroutine, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from polyhunter.engine.copy_records import CopyRecord
from polyhunter.log import get_logger
from polyhunter.queries import Queries

log = get_logger(__name__)

# Latency and slippage percentiles of the summary are over the most recent copies.
SUMMARY_WINDOW = 10_000
PNL_REFRESH_S = 2.0
LOG_EVERY_S = 10.0
FRAME_S = 0.25
REFRESH_LIMIT_S = 5.0  # a refresh of the counts and PnL (venue balances for own wallets), at most


class FloatWindow:
    """The last `size` values, in preallocated doubles (a long run's memory stays flat from the start)."""

    __slots__ = ("_count", "_values")

    def __init__(self, size: int) -> None:
        self._values = array("d", bytes(8 * size))
        self._count = 0

    def append(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._values))

    def __iter__(self) -> Iterator[float]:
        return iter(self._values[: len(self)])


@dataclass(slots=True)
class LiveLog:
    """What the view shows: fed by the engine's `on_copy` and refreshed from `Queries`."""

    title: str = "PolyHunter"
    intro: str = ""  # one line above the table (the demo says who its followers are)
    starting_cash: Decimal | None = None  # PnL base for every follower (None: each one's own)
    recent: deque[CopyRecord] = field(default_factory=lambda: deque(maxlen=15))
    slippage_ticks: FloatWindow = field(default_factory=lambda: FloatWindow(SUMMARY_WINDOW))
    names: dict[int, str] = field(default_factory=dict)
    leaders: dict[int, str] = field(default_factory=dict)  # by config id
    pnl: dict[str, Decimal] = field(default_factory=dict)  # by follower name, refreshed by the live loop
    custody: dict[str, str] = field(default_factory=dict)  # by follower name: its custody type's label
    signals: int = 0
    copies: int = 0  # stored copies, the count the summary gives

    def add(self, record: CopyRecord) -> None:
        self.recent.append(record)
        if record.slippage_ticks is not None:
            self.slippage_ticks.append(float(record.slippage_ticks))

    def bind(self, queries: Queries) -> None:
        """Names of the followers and the leaders of their configs (once the supervisor started)."""
        self.names = queries.follower_names()
        self.custody = queries.follower_custody()
        self.leaders = queries.config_leaders()


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def reason_class(reason: str) -> str:
    """A copy's reason without the id it may carry (`AGGREGATED_INTO_108` counts as
    `AGGREGATED_INTO`), so the summary counts kinds of outcome, not single copies."""
    head, sep, tail = reason.rpartition("_")
    return head if sep and tail.isdigit() else reason


async def refresh(queries: Queries, view: LiveLog) -> None:
    """The header's counts (copies as stored, the summary's count) and each follower's PnL."""
    view.signals = queries.totals()[0]
    view.copies = sum(row.count for row in await queries.copy_counts())
    view.pnl = await queries.pnl_per_follower(view.starting_cash)


SUMMARY_BUDGET_S = 10.0  # what the summary may take reading the venue and the database, in all


class _Reads:
    """The summary's reads within one shared budget: a part that fails or finds the budget spent gives
    its fallback and a note (the venue or the database away when the run stops must not turn its exit
    into a traceback or hold it past the drain's grace)."""

    def __init__(self) -> None:
        self.deadline = asyncio.get_running_loop().time() + SUMMARY_BUDGET_S
        self.notes: dict[str, str] = {}

    async def part(self, name: str, work: Coroutine[Any, Any, Any], fallback: Any) -> Any:
        try:
            async with asyncio.timeout_at(self.deadline):
                return await work
        except Exception as exc:  # noqa: BLE001 - the summary says what it could not read
            reason = f"no answer within {SUMMARY_BUDGET_S:g} s" if isinstance(exc, TimeoutError) else str(exc)
            self.notes[name] = f"{type(exc).__name__}: " + " ".join(reason.split())[:200]
            log.warning("summary part unavailable", part=name, error=self.notes[name])
            return fallback


async def summary(queries: Queries, view: LiveLog, started: float) -> dict[str, Any]:
    by_state: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    reads = _Reads()
    for row in await reads.part("copies", queries.copy_counts(), []):
        by_state[row.state] += row.count
        if row.reason:
            by_reason[f"{row.state}:{reason_class(row.reason)}"] += row.count
    stage = queries.stage("signal_to_submit")
    # the venue's balances and positions: the view's last figures when it does not answer
    pnl = await reads.part("pnl_usdc", queries.pnl_per_follower(view.starting_cash), dict(view.pnl))
    view.signals, view.copies, view.pnl = queries.totals()[0], sum(by_state.values()), pnl
    slip = view.slippage_ticks
    out = {
        "duration_s": round(time.monotonic() - started, 1),
        "signals": view.signals,
        "signals_recorded": queries.signals_recorded(),
        "copies": dict(by_state),
        "copies_by_reason": dict(by_reason),
        "signal_to_submit_ms": {
            "count": stage.count if stage else 0,
            "p50": round(stage.p50_ms, 3) if stage else None,
            "p99": round(stage.p99_ms, 3) if stage else None,
        },
        "mean_slippage_ticks": float(statistics.fmean(slip)) if slip else None,
        "pnl_usdc": {name: str(value) for name, value in pnl.items()},
        # fees, resolved markets, realized PnL
        "realized_usdc": await reads.part("realized_usdc", queries.realized_per_follower(), {}),
        # today's row of the daily PnL series
        "pnl_today_usdc": await reads.part("pnl_today_usdc", queries.pnl_today_per_follower(), {}),
        "followers": dict(view.custody),  # who they are: name -> custody (`paper`, `own wallet`)
        # PROXY followers: settled copies, ledger, debt
        "proxy": await reads.part("proxy", queries.proxy_ledgers(), {}),
        "ingest": queries.ingest(),
    }
    if reads.notes:
        out["unavailable"] = reads.notes
    return out


def summary_text(result: dict[str, Any]) -> str:
    """The summary for a person (at most 80 columns for the usual names)."""
    copies = result["copies"]
    lines = [
        f"stopped after {result['duration_s']} s: {result['signals']} signals, {sum(copies.values())} copies",
        "copies: " + (", ".join(f"{state} {n}" for state, n in sorted(copies.items())) or "none"),
    ]
    lines += [f"  {key} {n}" for key, n in sorted(result["copies_by_reason"].items())]
    lat = result["signal_to_submit_ms"]
    if lat["count"]:
        lines.append(f"signal→submit: p50 {lat['p50']} ms, p99 {lat['p99']} ms ({lat['count']} orders)")
    else:
        lines.append("signal→submit: no orders sent")
    for part, why in sorted(result.get("unavailable", {}).items()):
        lines.append(f"not read at stop: {part} ({why})")
    lines.append("PnL (USDC):")
    lines += [f"  {name} {Decimal(v):+.4f}" for name, v in sorted(result["pnl_usdc"].items())]
    today = result.get("pnl_today_usdc", {})
    if today:
        lines.append("today's PnL (USDC, daily series: realized net of fees + unrealized):")
        lines += [
            f"  {name} {Decimal(d['total']):+.4f} (realized {Decimal(d['realized']):+.4f},"
            f" fees {Decimal(d['fees']):.4f}, unrealized {Decimal(d['unrealized']):+.4f})"
            for name, d in sorted(today.items())
        ]
    realized = result.get("realized_usdc", {})
    if realized:
        lines.append("fees and resolved markets (USDC):")
        lines += [
            f"  {name} fees {Decimal(r['fees']):.4f}, {r['redeemed_markets']} redeemed"
            + (f" ({r['pending_markets']} pending)" if r["pending_markets"] else "")
            + f", realized {Decimal(r['realized_pnl']):+.4f}"
            for name, r in sorted(realized.items())
        ]
    proxies = result.get("proxy", {})
    if proxies:
        lines.append("PROXY settlement and ledger (USDC):")
        for name, p in sorted(proxies.items()):
            if p.get("mode") == "DIRECT":
                lines.append(
                    f"  {name} {short_address(p['proxy'])}: DIRECT (the exchange settles its orders)"
                )
                lines.append(
                    f"    {p.get('copies', 0)} copies, commission {Decimal(p['commission']):.4f} "
                    f"({p['settled']} paid, {p['pending']} pending), open debt {Decimal(p['open_debt']):.4f}"
                )
                continue
            lines.append(
                f"  {name} {short_address(p['proxy'])}: {p['settled']} settled, {p['pending']} pending, "
                f"open debt {Decimal(p['open_debt']):.4f}"
            )
            lines.append(
                f"    reimbursed {Decimal(p['reimbursed']):.4f}, proceeds {Decimal(p['proceeds']):.4f}, "
                f"commission {Decimal(p['commission']):.4f}"
            )
    if result.get("proxy_note"):
        lines.append(f"PROXY follower: {result['proxy_note']}")
    return "\n".join(lines)


def summary_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, default=str)


def render(view: LiveLog) -> Any:
    """The live view: the most recent copies (with signal-to-submit latency: from the leader's fill
    reaching us to our order's submit) and each follower's PnL; fits 80 columns."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{view.title} — signals {view.signals}, copies {view.copies}",
        caption="ms: signal→submit ms (leader's fill seen → our order sent); slip: ticks",
        box=None,  # no rules between columns: 80 columns hold every cell whole
        header_style="bold underline",
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for col in ("time", "follower", "leader", "order", "slip", "ms"):
        table.add_column(col, no_wrap=True, justify="right" if col in ("slip", "ms") else "left")
    table.add_column("state", overflow="fold", min_width=19)  # BELOW_VENUE_MINIMUM, whole
    for r in list(view.recent)[::-1]:
        table.add_row(
            r.at.strftime("%H:%M:%S"),
            view.names.get(r.user_id, str(r.user_id)),
            short_address(view.leaders.get(r.config_id, f"config {r.config_id}")),
            f"{r.side} {r.shares:.2f}" + (f"@{r.price:.3f}" if r.price else ""),
            f"{r.slippage_ticks:.1f}" if r.slippage_ticks is not None else "",
            f"{r.signal_to_submit_ms:.1f}" if r.signal_to_submit_ms is not None else "",
            str(r.state) + (f"\n{r.reason}" if r.reason and str(r.state) != "EXECUTED" else ""),
        )
    pnl = Table(title="PnL per follower (USDC)")
    pnl.add_column("follower")
    pnl.add_column("custody")
    pnl.add_column("PnL", justify="right")
    for name in sorted(view.pnl):
        pnl.add_row(name, view.custody.get(name, ""), f"{view.pnl[name]:+.4f}")
    parts: list[Any] = [Text(view.intro)] if view.intro else []
    return Group(*parts, table, pnl)


async def watch(queries: Queries, view: LiveLog, running: Awaitable[None], *, live: bool) -> None:
    """Show `view` while `running` runs (a live view on a terminal, else progress log lines), then
    re-raise what `running` raised."""
    runner = asyncio.ensure_future(running)
    try:
        if live:
            await _live(queries, view, runner)
        else:
            await _log_lines(queries, view, runner)
    finally:
        if not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    runner.result()


async def _refresh_quietly(
    queries: Queries, view: LiveLog, runner: asyncio.Future[None] | None = None
) -> None:
    """`refresh` within `REFRESH_LIMIT_S`, given up when `runner` ends first (a stop never waits for a
    venue that does not answer); the view keeps the last figures it had."""
    work = asyncio.ensure_future(refresh(queries, view))
    try:
        waiting: set[asyncio.Future[Any]] = {work} if runner is None else {work, runner}
        await asyncio.wait(waiting, timeout=REFRESH_LIMIT_S, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():
            work.cancel()
            await asyncio.wait({work}, timeout=1.0)
    if not work.done() or work.cancelled():
        if runner is None or not runner.done():
            log.warning("view refresh failed", error=f"no answer within {REFRESH_LIMIT_S:g} s")
        return
    if (exc := work.exception()) is not None:
        log.warning("view refresh failed", error=str(exc))


async def _live(queries: Queries, view: LiveLog, runner: asyncio.Future[None]) -> None:
    from rich.console import Console
    from rich.live import Live

    next_refresh = 0.0
    with (
        Live(render(view), console=Console(), refresh_per_second=4) as screen,
        _logs_above(sys.stderr),  # rich's stand-in for stderr prints above the view, not through it
    ):
        while not runner.done():
            if time.monotonic() >= next_refresh:  # counts, marks, positions: every 2 s, not every frame
                next_refresh = time.monotonic() + PNL_REFRESH_S
                await _refresh_quietly(queries, view, runner)
            view.signals = queries.totals()[0]
            screen.update(render(view))
            await asyncio.wait({runner}, timeout=FRAME_S)
        await _refresh_quietly(queries, view)
        screen.update(render(view))


@contextlib.contextmanager
def _logs_above(stream: IO[str]) -> Iterator[None]:
    """Log handlers writing to the real stderr write to `stream` (the live view's) meanwhile."""
    moved = [
        (h, h.setStream(stream))
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is sys.__stderr__ and stream is not h.stream
    ]
    try:
        yield
    finally:
        for handler, previous in moved:
            if previous is not None:
                handler.setStream(previous)


async def _log_lines(queries: Queries, view: LiveLog, runner: asyncio.Future[None]) -> None:
    while not runner.done():
        await asyncio.wait({runner}, timeout=LOG_EVERY_S)
        if runner.done():
            return
        await _refresh_quietly(queries, view, runner)
        if runner.done():
            return
        log.info(
            "progress",
            signals=view.signals,
            copies=view.copies,
            pnl_usdc={name: str(v) for name, v in sorted(view.pnl.items())},
        )
