"""Throughput of the simulator's matching engine on one core (orders/s).

    uv run --frozen python benchmarks/bench_matching.py [--quick] [--json]

Workload (deterministic, seeded): 4 binary markets, 20 funded wallets, a book pre-seeded with
resting orders on both outcome tokens, then a mixed stream of

* 55 % resting GTC orders a few ticks away from the touch (both tokens, both sides),
* 30 % crossing orders (GTC, FAK, FOK) that sweep one or more levels, including MINT/MERGE legs,
* 15 % cancels of random resting orders.

Orders are built before timing; the timed loop is ``engine.submit`` / ``engine.cancel`` only.
Reported for the best of several rounds: ``orders_per_s`` (orders submitted per wall-clock second:
the matching engine's throughput), ``ops_per_s`` (orders and cancels per second; kept for the
``polyhunter bench`` table) and ``submits_per_s`` (the same figure as ``orders_per_s``, its older
name), operations per CPU second of this process (less sensitive to other load on a shared
machine), per-call latency percentiles (µs), and what the stream did (trades, fills, rejections).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from decimal import Decimal
from typing import Any

from polyhunter.domain.signal import Side
from polyhunter.log import configure_logging
from polyhunter.sim.events import TradeEvent
from polyhunter.sim.exchange import SimExchange
from polyhunter.sim.markets import Market, make_market
from polyhunter.sim.orders import OrderRequest, OrderType

M = 1_000_000
WALLETS = [f"0x{i:040x}" for i in range(1, 21)]
TICK = Decimal("0.01")

Op = tuple[str, OrderRequest | str]


class _Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


def _engine() -> tuple[SimExchange, list[Market]]:
    engine = SimExchange(_Clock(), seed="bench")
    markets = [engine.add_market(make_market("bench", i)) for i in range(4)]
    for w in WALLETS:
        engine.deposit(w, 10_000_000 * M)
        for m in markets:
            engine.split(w, m.condition_id, 1_000_000 * M)
    return engine, markets


def _order(rng: random.Random, n: int, market: Market, crossing: bool) -> OrderRequest:
    outcome = rng.randrange(2)
    side = rng.choice((Side.BUY, Side.SELL))
    mid = 50  # both tokens trade around 0.50, so crossing orders meet NORMAL, MINT and MERGE liquidity
    if crossing:
        ticks = mid + rng.randint(2, 10) if side is Side.BUY else mid - rng.randint(2, 10)
        order_type = rng.choice((OrderType.GTC, OrderType.FAK, OrderType.FAK, OrderType.FOK))
        shares = rng.randint(5, 60)
    else:
        ticks = mid - rng.randint(1, 15) if side is Side.BUY else mid + rng.randint(1, 15)
        order_type = OrderType.GTC
        shares = rng.randint(5, 40)
    return OrderRequest(
        order_id=f"0x{n:064x}",
        owner=rng.choice(WALLETS),
        token_id=market.tokens[outcome],
        side=side,
        price=TICK * ticks,
        size=shares * M,
        order_type=order_type,
    )


def _stream(n_ops: int, markets: list[Market], seed: int) -> tuple[list[OrderRequest], list[Op]]:
    rng = random.Random(seed)
    seed_orders = [_order(rng, i, markets[i % len(markets)], crossing=False) for i in range(2_000)]
    ops: list[Op] = []
    live_ids = [o.order_id for o in seed_orders]
    for i in range(n_ops):
        roll = rng.random()
        market = markets[rng.randrange(len(markets))]
        if roll < 0.15 and live_ids:
            ops.append(("cancel", live_ids.pop(rng.randrange(len(live_ids)))))
        else:
            order = _order(rng, 10_000_000 + i, market, crossing=roll >= 0.70)
            ops.append(("submit", order))
            if order.order_type is OrderType.GTC:
                live_ids.append(order.order_id)
    return seed_orders, ops


def _round(n_ops: int, seed: int) -> dict[str, Any]:
    engine, markets = _engine()
    seed_orders, ops = _stream(n_ops, markets, seed)
    for order in seed_orders:
        engine.submit(order)
    submits = trades = fills = rejected = 0
    lat: list[int] = []
    perf = time.perf_counter_ns
    cpu0 = time.process_time()
    t0 = perf()
    for kind, arg in ops:
        s = perf()
        if kind == "submit":
            assert isinstance(arg, OrderRequest)
            res = engine.submit(arg)
            submits += 1
            if not res.success:
                rejected += 1
            for ev in res.events:
                if isinstance(ev, TradeEvent):
                    trades += 1
                    fills += len(ev.makers)
        else:
            assert isinstance(arg, str)
            engine.cancel(arg)
        lat.append(perf() - s)
    elapsed = (perf() - t0) / 1e9
    cpu = time.process_time() - cpu0
    lat.sort()
    assert engine.ledger.collateral_total() == engine.ledger.deposited
    return {
        "ops": len(ops),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "orders_per_s": submits / elapsed,
        "ops_per_s": len(ops) / elapsed,
        "ops_per_cpu_s": len(ops) / cpu,
        "submits_per_s": submits / elapsed,
        "latency_us": {
            "p50": lat[len(lat) // 2] / 1000,
            "p99": lat[int(len(lat) * 0.99)] / 1000,
            "max": lat[-1] / 1000,
        },
        "submits": submits,
        "trades": trades,
        "maker_fills": fills,
        "rejected": rejected,
        "resting_after": len(engine.open_orders()),
    }


def run(quick: bool) -> dict[str, Any]:
    n_ops, rounds = (5_000, 2) if quick else (50_000, 3)
    results = [_round(n_ops, seed=7) for _ in range(rounds)]
    best = max(results, key=lambda r: r["ops_per_s"])
    return {
        "benchmark": "sim_matching",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": rounds,
        **best,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small run (seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # logs to stderr: stdout is the figures
    result = run(args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lat = result["latency_us"]
    print(f"matching engine, {result['ops']} ops (best of {result['rounds']} rounds, one core)")
    print(
        f"  orders/s     {result['orders_per_s']:>12,.0f}   (every submitted order: matched, rested or rejected)"
    )
    print(
        f"  ops/s        {result['ops_per_s']:>12,.0f}   (orders + cancels; per CPU second: {result['ops_per_cpu_s']:,.0f})"
    )
    print(f"  latency µs   p50 {lat['p50']:.1f}  p99 {lat['p99']:.1f}  max {lat['max']:.1f}")
    print(
        f"  stream       {result['submits']} submits, {result['trades']} trades, "
        f"{result['maker_fills']} maker fills, {result['rejected']} rejected, {result['resting_after']} resting"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
