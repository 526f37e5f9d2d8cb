"""What `backtest --leader` reads from the venue: the leader's history (Data API, `live_history`), and
for each market it traded in the window its tick and outcome (CLOB ``/markets/{cid}``), its taker fee
rate (``/fee-rate``) and each traded token's price history (``/prices-history``, a point a minute, in
windows of at most `WINDOW_S`) from a minute before the first fill to a minute past the last fill
plus the latency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.adapters.polymarket.clob_market_data import ClobMarketData
from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryPolicy
from polyhunter.analytics.live_history import fetch_history
from polyhunter.domain.fill_model import PricePoint, price_at
from polyhunter.domain.history import History, Resolution, market_ticks, within
from polyhunter.settings import Settings

WINDOW_S = 14 * 86_400  # one /prices-history request spans at most this (the venue caps fine windows)
MARGIN_S = 60  # one fidelity step either side
FIDELITY_MIN = 1


class UnknownLeader(ValueError):
    """The Data API has no trade of this wallet at all."""


@dataclass(slots=True)
class LiveInputs:
    history: History
    prices: dict[str, list[PricePoint]] = field(default_factory=dict)  # by token
    fee_rates: dict[str, Decimal] = field(default_factory=dict)  # by condition id
    ticks: dict[str, Decimal] = field(default_factory=dict)  # by condition id
    resolved_markets: int = 0
    all_fills: int = 0  # the leader's fills in the Data API, before the window


async def _prices(clob: ClobMarketData, token: str, lo: int, hi: int) -> list[PricePoint]:
    points: list[PricePoint] = []
    start = lo
    while start <= hi:
        end = min(hi, start + WINDOW_S)
        points += await clob.prices_history(token, start_ts=start, end_ts=end, fidelity=FIDELITY_MIN)
        start = end + 1
    points.sort(key=lambda pt: pt.t)
    return points


async def _market(clob: ClobMarketData, out: LiveInputs, cid: str, token: str, tick: Decimal) -> None:
    """A market's fee rate, tick (the finer of the venue's and the one its prices show) and outcome."""
    history = out.history
    state = await clob.market_state(cid)
    out.fee_rates[cid] = await clob.fee_rate(token)
    if state is not None:
        if state.tick_size is not None and state.tick_size > 0:
            tick = min(tick, state.tick_size)
        if state.winning_token is not None:
            out.resolved_markets += 1
            for t in state.tokens:
                payout = Decimal(1 if t == state.winning_token else 0)
                history.resolutions.setdefault(t, Resolution(t, cid, payout))
    out.ticks[cid] = tick


async def fetch_live_inputs(
    settings: Settings,
    leader: str,
    start: int | None,
    end: int | None,
    latency_ms: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> LiveInputs:
    v = settings.venue
    policy = RetryPolicy(max_retries=v.max_retries)
    data = DataApiClient(
        v.data_api_url, v.request_timeout_ms, policy, positions_max_pages=v.positions_max_pages
    )
    clob = ClobMarketData(HttpClient(v.clob_url, v.request_timeout_ms, policy))
    try:
        full = await fetch_history(data, leader)
        if not full.fills:
            raise UnknownLeader(f"leader {leader}: the Data API has no trade of this wallet")
        history = within(full, start, end)
        out = LiveInputs(history=history, all_fills=len(full.fills))
        markets: dict[str, str] = {}  # condition id -> a token of it
        spans: dict[str, tuple[int, int]] = {}  # token -> first, last fill time
        for f in history.fills:
            markets.setdefault(f.condition_id, f.asset)
            lo, hi = spans.get(f.asset, (f.timestamp, f.timestamp))
            spans[f.asset] = (min(lo, f.timestamp), max(hi, f.timestamp))
        total = len(markets) + len(spans)
        done = 0
        inferred = market_ticks(history.fills)
        for cid, token in markets.items():
            await _market(clob, out, cid, token, inferred.get(cid, Decimal("0.01")))
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        lag_s = -(-latency_ms // 1000)
        for token, (lo, hi) in spans.items():
            out.prices[token] = await _prices(clob, token, lo - MARGIN_S, hi + lag_s + MARGIN_S)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        for token, points in out.prices.items():  # open positions valued at the window's last price
            last = price_at(points, end if end is not None else float("inf"))
            if last is not None and token not in history.resolutions:
                history.marks[token] = last
        return out
    finally:
        await data.close()
        await clob.close()
