"""Market catalog of a simulator run: engine markets plus the display metadata the APIs serve.

The engine's :class:`~polyhunter.sim.markets.Market` holds what matching needs (tokens, tick, neg
risk). Data API rows, RTDS payloads and Gamma objects also carry a title, slugs, an icon, an event
and an end date; :class:`MarketInfo` keeps those next to the market. Everything is a pure function
of the seed, so two runs with the same seed serve the same ids and names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from polyhunter.sim.markets import Market, make_market

__all__ = ["MarketInfo", "build_catalog"]

_TEAMS = (
    ("Atlanta Braves", "atl"), ("Cincinnati Reds", "cin"), ("Boston Red Sox", "bos"), ("New York Mets", "nym"),
    ("Chicago Cubs", "chc"), ("Seattle Mariners", "sea"), ("Houston Astros", "hou"), ("Texas Rangers", "tex"),
    ("Miami Marlins", "mia"), ("San Diego Padres", "sd"), ("Detroit Tigers", "det"), ("Kansas City Royals", "kc"),
)  # fmt: skip
_TOPICS = (
    ("Will the Fed cut rates in {month}?", "fed-cut-{month}", "Economics"),
    ("Will BTC close above ${level}k on {day}?", "btc-above-{level}k-{day}", "Crypto"),
    ("Will it rain in London on {day}?", "london-rain-{day}", "Weather"),
    ("Will candidate {letter} win the {month} primary?", "candidate-{letter}-{month}-primary", "Politics"),
)
_ICON_BASE = "https://polymarket-upload.s3.us-east-2.amazonaws.com/sim"


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One market with what the Data API, RTDS and Gamma print about it."""

    market: Market
    gamma_id: int
    event_id: int
    event_slug: str
    event_title: str
    icon: str
    category: str
    end_date: datetime

    @property
    def condition_id(self) -> str:
        return self.market.condition_id

    @property
    def title(self) -> str:
        return self.market.question

    @property
    def slug(self) -> str:
        return self.market.slug


def _game_market(rng: random.Random, seed: str, index: int, day: datetime) -> MarketInfo:
    home, away = rng.sample(_TEAMS, 2)
    date = day.strftime("%Y-%m-%d")
    event_slug = f"mlb-{away[1]}-{home[1]}-{date}"
    market = make_market(
        seed,
        index,
        question=f"{away[0]} vs. {home[0]}",
        slug=event_slug if index % 2 == 0 else f"{event_slug}-{index}",
        outcomes=(away[0], home[0]),
        neg_risk=False,
    )
    return MarketInfo(
        market=market,
        gamma_id=500_000 + index,
        event_id=90_000 + index,
        event_slug=event_slug,
        event_title=f"{away[0]} vs. {home[0]}",
        icon=f"{_ICON_BASE}/league-icons/mlb.png",
        category="Sports",
        end_date=day + timedelta(hours=4),
    )


def _question_market(rng: random.Random, seed: str, index: int, day: datetime) -> MarketInfo:
    template, slug_template, category = _TOPICS[index % len(_TOPICS)]
    values = {
        "month": day.strftime("%B").lower(),
        "day": day.strftime("%Y-%m-%d"),
        "level": str(rng.randrange(60, 140, 5)),
        "letter": "abcdefgh"[rng.randrange(8)],
    }
    question = template.format(**{k: v.capitalize() if k == "month" else v for k, v in values.items()})
    slug = slug_template.format(**values)
    neg_risk = category == "Politics"
    market = make_market(
        seed,
        index,
        question=question,
        slug=slug,
        neg_risk=neg_risk,
        tick_size=Decimal("0.01"),
        taker_fee_rate=Decimal("0.04") if category in ("Politics", "Economics") else Decimal(0),
    )
    return MarketInfo(
        market=market,
        gamma_id=500_000 + index,
        event_id=90_000 + index,
        event_slug=f"{slug}-event" if neg_risk else slug,
        event_title=question,
        icon=f"{_ICON_BASE}/{category.lower()}.png",
        category=category,
        end_date=day + timedelta(days=1),
    )


def build_catalog(seed: int, count: int, start: datetime) -> list[MarketInfo]:
    """``count`` markets for ``seed``: even indexes are two-team games, odd ones yes/no questions."""
    if count < 1:
        raise ValueError("a scenario needs at least one market")
    rng = random.Random(f"catalog:{seed}")  # noqa: S311 - deterministic fixtures, not secrets
    seed_text = f"polyhunter-sim-{seed}"
    out: list[MarketInfo] = []
    for index in range(count):
        day = (start + timedelta(days=index // 4)).replace(hour=0, minute=0, second=0, microsecond=0)
        build = _game_market if index % 2 == 0 else _question_market
        out.append(build(rng, seed_text, index, day.astimezone(UTC)))
    return out
