"""Recorded-history files for the analytics and backtest tests: Data API ``/activity`` rows (TRADE,
REDEEM) of one or more leaders, deterministic for a seed, written as the Data API lists them (newest
first). Prices are on the 0.01 tick; a market's winner is drawn, and each leader redeems what it holds
at the market's end."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

T0 = 1_790_000_000


def condition(n: int) -> str:
    return "0x" + f"{n:064x}"


def token(n: int, i: int) -> str:
    return str(10**70 + n * 10 + i)


def trade_row(
    leader: str, n: int, i: int, side: str, size: str, price: str, ts: int, tx: str | None = None
) -> dict[str, Any]:
    return {
        "proxyWallet": leader,
        "timestamp": ts,
        "conditionId": condition(n),
        "type": "TRADE",
        "size": size,
        "usdcSize": str(round(float(size) * float(price), 6)),
        "transactionHash": tx or "0x" + f"{ts:032x}{n:016x}{i:08x}{len(side):08x}",
        "price": price,
        "asset": token(n, i),
        "side": side,
        "outcomeIndex": i,
        "title": f"Synthetic market {n}",
        "slug": f"synthetic-market-{n}",
        "eventSlug": f"synthetic-event-{n}",
        "outcome": "Yes" if i == 0 else "No",
        "name": "",
        "pseudonym": "",
    }


def synthetic_rows(
    leaders: list[str], markets: int, trades_per_market: int, seed: int = 1, gap_s: int = 600
) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - test data
    rows: list[dict[str, Any]] = []
    ts = T0
    for n in range(markets):
        fair = rng.randint(20, 80)
        winner = 0 if rng.random() * 100 < fair else 1
        held: dict[tuple[str, int], float] = {}
        for _ in range(trades_per_market):
            leader = rng.choice(leaders)
            i = rng.randrange(2)
            fair = min(95, max(5, fair + rng.randint(-4, 4)))
            price = fair if i == 0 else 100 - fair
            have = held.get((leader, i), 0.0)
            side = "SELL" if have > 20 and rng.random() < 0.3 else "BUY"
            size = (
                round(have * rng.choice([0.25, 0.5, 1.0]), 2)
                if side == "SELL"
                else round(rng.uniform(20, 400), 2)
            )
            held[(leader, i)] = have + (size if side == "BUY" else -size)
            ts += rng.randint(1, gap_s)
            rows.append(trade_row(leader, n, i, side, f"{size:.2f}", f"{price / 100:.2f}", ts))
        ts += gap_s
        for (leader, i), shares in held.items():
            if shares > 0:
                rows.append(
                    {
                        "proxyWallet": leader,
                        "timestamp": ts,
                        "conditionId": condition(n),
                        "type": "REDEEM",
                        "size": f"{shares:.2f}",
                        "usdcSize": f"{shares:.2f}" if i == winner else "0",
                        "transactionHash": "0x" + f"{ts:048x}{n:016x}",
                        "price": "0",
                        "asset": token(n, i),
                        "side": "",
                        "outcomeIndex": i,
                    }
                )
    return sorted(rows, key=lambda r: -int(r["timestamp"]))


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows))
    return path
