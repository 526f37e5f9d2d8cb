"""The independent checks the end-to-end tests assert with: the expected copy set, sizes, slippage
and venue orders per copy.

Nothing here calls the engine's own decision code: the expected results are computed from the
configs and the recorded signals alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.sim_stack import rows

TERMINAL = frozenset({"EXECUTED", "SKIPPED", "FAILED", "EXPIRED"})


@dataclass(frozen=True, slots=True)
class ConfigView:
    """What the test itself knows about one config (from its own spec, not from the engine)."""

    config_id: int
    leader: str
    sides: frozenset[str]
    deny: frozenset[str]
    min_price: Decimal
    max_price: Decimal
    max_slippage_bps: int = 200  # the engine's default when the config has none
    sizing: str = ""  # FIXED_USDC | PERCENT_OF_LEADER | MULTIPLIER ("" = sizes not checked)
    sizing_value: Decimal = Decimal(0)
    min_trade: Decimal = Decimal(0)
    max_trade: Decimal | None = None


MICRO = Decimal(1_000_000)
SIZING_SKIPS = frozenset({"ZERO_SIZE", "BELOW_MIN_TRADE"})  # the BUY skips sizing decides
STEP = Decimal("0.01")  # shares: the venue takes 2 decimals


def expected_buy(cfg: ConfigView, leader_shares: Decimal, price: Decimal) -> tuple[Decimal, str | None]:
    """The shares a BUY copy requests under `cfg`, from the documented sizing rules (done here by hand,
    not by the engine's sizing code), and the sizing skip reason if there is one."""
    if cfg.sizing == "FIXED_USDC":
        notional = cfg.sizing_value
    elif cfg.sizing == "PERCENT_OF_LEADER":
        notional = leader_shares * price * cfg.sizing_value / 100
    elif cfg.sizing == "MULTIPLIER":
        notional = leader_shares * cfg.sizing_value * price
    else:
        raise AssertionError(f"no model for sizing {cfg.sizing!r}")
    if cfg.max_trade is not None:
        notional = min(notional, cfg.max_trade)
    shares = (notional / price // STEP) * STEP
    if shares <= 0:
        return Decimal(0), "ZERO_SIZE"
    if shares * price < cfg.min_trade:
        return shares, "BELOW_MIN_TRADE"
    return shares, None


def check_sizes(db_path: Path, configs: Iterable[ConfigView]) -> dict[str, int]:
    """Assert every copy past the filters requested the size the config's rules give: BUYs exactly (by the
    model above), SELLs never more than the config holds from its own earlier fills, and 'nothing to
    sell' only when it holds nothing ('below the share step' only when it holds some). Returns the counts checked."""
    views = {c.config_id: c for c in configs if c.sizing}
    copies = rows(
        db_path,
        "SELECT c.id, c.config_id, c.side, c.asset, c.state, c.reason, c.requested_size_micro, "
        "c.filled_size_micro, s.size_micro, s.price_micro, s.condition_id FROM copy_trades c "
        "JOIN signals s ON s.key = c.signal_key ORDER BY c.id",
    )
    held: Counter[tuple[int, str]] = Counter()
    wrong: list[tuple[dict[str, Any], str]] = []
    buys = sells = 0
    for c in copies:
        cfg = views.get(c["config_id"])
        price = Decimal(c["price_micro"]) / MICRO
        if cfg is None or expected_filter_reason(cfg, c["side"], price, c["condition_id"]) is not None:
            continue
        key = (c["config_id"], c["asset"])
        requested = Decimal(c["requested_size_micro"]) / MICRO
        if c["side"] == "BUY":
            buys += 1
            # The table keeps the leader's price in micro-units; the feed's own price may have more
            # decimals (an average over levels): the model is run at both ends of that rounding.
            leader_shares = Decimal(c["size_micro"]) / MICRO
            half = Decimal("0.0000005")
            outcomes = {expected_buy(cfg, leader_shares, p) for p in (price - half, price, price + half)}
            reasons = {reason for _, reason in outcomes}
            got = c["reason"] if c["reason"] in SIZING_SKIPS else None  # later skips keep their size
            if got not in reasons:
                wrong.append((c, f"expected {reasons} from sizing"))
            elif got is None and requested not in {n for n, r in outcomes if r is None}:
                wrong.append((c, f"expected {sorted(n for n, _ in outcomes)} shares"))
        else:
            sells += 1
            if c["reason"] == "NO_POSITION_TO_SELL":
                if held[key] > 0:
                    wrong.append((c, f"holds {held[key]} but sold nothing"))
            elif c["reason"] == "SELL_BELOW_SHARE_STEP":  # its fraction of the leader's sell is < 0.01
                if held[key] <= 0 or requested != 0:
                    wrong.append((c, f"holds {held[key]}: not a fraction below the share step"))
            elif requested > held[key] or requested <= 0:
                wrong.append((c, f"sells {requested} of {held[key]} held"))
        if c["state"] == "EXECUTED":
            filled = Decimal(c["filled_size_micro"]) / MICRO
            # typeshed types a Counter's counts as int; this one adds Decimal shares (fine at run time)
            held[key] += filled if c["side"] == "BUY" else -filled  # type: ignore[assignment]
    assert not wrong, f"{len(wrong)} copies with the wrong size, e.g. {wrong[:3]}"
    return {"buys": buys, "sells": sells}


def expected_filter_reason(cfg: ConfigView, side: str, price: Decimal, condition_id: str) -> str | None:
    """The skip reason a config's filters alone decide, in the documented order, or None."""
    if side not in cfg.sides:
        return "SIDE_FILTERED"
    if condition_id.lower() in cfg.deny:
        return "MARKET_DENIED"
    if not (cfg.min_price <= price <= cfg.max_price):
        return "PRICE_OUT_OF_BOUNDS"
    return None


def check_copy_set(db_path: Path, configs: Iterable[ConfigView]) -> dict[str, int]:
    """Assert: exactly one copy row per (signal, config of its leader); every row terminal; filter
    skips exactly where the config decides them. Returns counts by state."""
    by_leader: dict[str, list[ConfigView]] = {}
    for cfg in configs:
        by_leader.setdefault(cfg.leader, []).append(cfg)
    signals = rows(db_path, "SELECT key, leader, side, price_micro, condition_id FROM signals")
    expected: dict[tuple[str, int], str | None] = {}
    for s in signals:
        price = Decimal(s["price_micro"]) / Decimal(1_000_000)
        for cfg in by_leader.get(s["leader"], []):
            expected[(s["key"], cfg.config_id)] = expected_filter_reason(
                cfg, s["side"], price, s["condition_id"]
            )
    copies = rows(db_path, "SELECT signal_key, config_id, state, reason FROM copy_trades")
    got = Counter((c["signal_key"], c["config_id"]) for c in copies)
    duplicated = [k for k, n in got.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} (signal, config) pairs have several rows"
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    assert not missing, f"{len(missing)} expected copies have no row, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} copy rows nobody expected, e.g. {sorted(extra)[:3]}"
    not_terminal = [c for c in copies if c["state"] not in TERMINAL]
    assert not not_terminal, f"{len(not_terminal)} copies not terminal, e.g. {not_terminal[:3]}"
    wrong: list[tuple[dict[str, Any], str | None]] = []
    for c in copies:
        want = expected[(c["signal_key"], c["config_id"])]
        if want is not None and (c["state"], c["reason"]) != ("SKIPPED", want):
            wrong.append((c, want))
        if want is None and c["reason"] in ("SIDE_FILTERED", "MARKET_DENIED", "PRICE_OUT_OF_BOUNDS"):
            wrong.append((c, want))
    assert not wrong, f"{len(wrong)} copies with the wrong filter outcome, e.g. {wrong[:3]}"
    return dict(Counter(c["state"] for c in copies))


def check_venue_orders(
    received: list[dict[str, Any]], db_path: Path, makers: Iterable[str]
) -> dict[str, int]:
    """Assert on the simulator's record of every order it received from our followers: each maps (by
    order hash) to a copy trade through the `orders` table, no hash arrives twice, and no copy trade
    has more than one matched order. Returns counts."""
    ours = {m.lower() for m in makers}
    mine = [r for r in received if str(r["order"].get("maker", "")).lower() in ours]
    hashes = Counter(r["orderID"] for r in mine)
    assert all(hashes), "an order the simulator received has no hash (rejected before hashing)"
    resent = {h: n for h, n in hashes.items() if n > 1}
    assert not resent, f"orders received more than once: {resent}"
    recorded = rows(db_path, "SELECT venue_order_id, copy_trade_id, status FROM orders")
    copy_of = {r["venue_order_id"]: r["copy_trade_id"] for r in recorded}
    unmapped = [h for h in hashes if h not in copy_of]
    assert not unmapped, f"{len(unmapped)} venue orders were not recorded before they were sent"
    matched = Counter(copy_of[r["orderID"]] for r in mine if r["accepted"] and r["status"] == "matched")
    twice = {c: n for c, n in matched.items() if n > 1}
    assert not twice, f"copies with more than one matched order: {twice}"
    executed = rows(
        db_path,
        "SELECT c.id, c.venue_order_id FROM copy_trades c JOIN orders o ON o.copy_trade_id = c.id "
        "WHERE c.state = 'EXECUTED' GROUP BY c.id",
    )
    matched_ids = {r["orderID"] for r in mine if r["accepted"] and r["status"] == "matched"}
    unbacked = [r for r in executed if r["venue_order_id"] not in matched_ids]
    assert not unbacked, f"EXECUTED copies without a matched venue order: {unbacked[:3]}"
    status = {r["venue_order_id"]: r["status"] for r in recorded}
    wrong = {h: status[h] for h in hashes if (status[h] == "MATCHED") != (h in matched_ids)}
    assert not wrong, f"orders whose recorded status disagrees with the venue: {wrong}"
    open_rows = [h for h, st in status.items() if st == "SUBMITTING"]
    assert not open_rows, f"{len(open_rows)} orders still SUBMITTING after the run settled"
    state = {r["id"]: r["state"] for r in rows(db_path, "SELECT id, state FROM copy_trades")}
    unreconciled = {c: state[c] for c in matched if state[c] != "EXECUTED"}
    assert not unreconciled, f"copies whose order matched on the venue but are not EXECUTED: {unreconciled}"
    return {"orders": len(mine), "matched": len(matched), "copies_with_orders": len(set(copy_of.values()))}


def check_slippage(db_path: Path, configs: Iterable[ConfigView]) -> int:
    """Assert every EXECUTED copy filled within its config's slippage budget of its own leader's price
    (BUY at most price x (1 + bps), SELL at least price x (1 - bps)). Returns the copies checked."""
    budget = {c.config_id: Decimal(c.max_slippage_bps) / Decimal(10_000) for c in configs}
    executed = rows(
        db_path,
        "SELECT c.id, c.config_id, c.side, c.filled_price_micro, s.price_micro FROM copy_trades c "
        "JOIN signals s ON s.key = c.signal_key WHERE c.state = 'EXECUTED'",
    )
    over = []
    for r in executed:
        paid, leader = Decimal(r["filled_price_micro"]), Decimal(r["price_micro"])
        bps = budget[r["config_id"]]
        ok = paid <= leader * (1 + bps) if r["side"] == "BUY" else paid >= leader * (1 - bps)
        if not ok:
            over.append(r)
    assert not over, f"{len(over)} copies filled outside their slippage budget, e.g. {over[:3]}"
    return len(executed)
