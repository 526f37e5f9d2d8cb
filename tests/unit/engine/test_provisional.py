"""Which configs copy a fill seen pending now, which wait for its block, and what a retraction leaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.copy_config import ActOn, CopyConfig, SizingMode
from polyhunter.domain.signal import Side, Signal, SourceKind
from polyhunter.engine.provisional import ProvisionalFills
from polyhunter.ports.store import StoredConfig

LEADER = "0x" + "1e" * 20


def _config(config_id: int, act_on: ActOn) -> StoredConfig:
    cfg = CopyConfig(config_id, 1, config_id, LEADER, SizingMode.FIXED_USDC, Decimal(5), act_on=act_on)
    return StoredConfig(cfg, None, True)


def _signal(key: str, source: SourceKind) -> Signal:
    now = datetime.now(UTC)
    return Signal(
        key, LEADER, "7", "", Side.BUY, Decimal(10), Decimal("0.5"), "0x" + "ab" * 32, now, now, source
    )


CONFIGS = [_config(1, ActOn.PENDING), _config(2, ActOn.CONFIRMED), _config(3, ActOn.CONFIRMED)]


def _ids(configs: list[StoredConfig]) -> list[int]:
    return [c.config.id for c in configs]


def test_a_mined_fill_goes_to_every_config() -> None:
    fills = ProvisionalFills()
    assert _ids(fills.plan_now(_signal("k", SourceKind.WS), CONFIGS)) == [1, 2, 3]
    assert fills.stats.waiting == 0


def test_a_pending_fill_goes_to_pending_configs_and_the_rest_wait_for_the_block() -> None:
    fills = ProvisionalFills()
    pending = _signal("k", SourceKind.MEMPOOL)
    assert _ids(fills.plan_now(pending, CONFIGS)) == [1]
    assert fills.stats.waiting == 1
    held = fills.take("k")
    assert held == pending
    assert fills.confirming(pending)
    assert _ids(fills.plan_now(pending, CONFIGS)) == [2, 3]  # confirmation: the waiting ones only
    fills.done("k")
    assert fills.take("k") is None  # confirmed once
    assert (fills.stats.confirmed, fills.stats.waiting) == (1, 0)


def test_a_retracted_fill_is_never_planned_for_confirmed_configs_unless_seen_mined_after_all() -> None:
    fills = ProvisionalFills()
    fills.plan_now(_signal("k", SourceKind.MEMPOOL), CONFIGS)
    assert fills.retract("k")
    assert fills.stats.waiting == 0
    assert not fills.retract("k")
    assert fills.take("k") is not None  # mined after all (another node mined it): confirmed then
    fills.done("k")


def test_only_pending_configs_nothing_waits_and_the_wait_is_bounded() -> None:
    fills = ProvisionalFills(limit=2)
    eager = [_config(1, ActOn.PENDING)]
    assert _ids(fills.plan_now(_signal("k", SourceKind.MEMPOOL), eager)) == [1]
    assert fills.stats.waiting == 0
    for n in range(3):
        fills.plan_now(_signal(f"k{n}", SourceKind.MEMPOOL), CONFIGS)
    assert (fills.stats.waiting, fills.stats.evicted) == (2, 1)
    assert fills.take("k0") is None  # the oldest was given up


def test_act_on_defaults_to_confirmed() -> None:
    assert CopyConfig(9, 1, 9, LEADER, SizingMode.FIXED_USDC, Decimal(5)).act_on is ActOn.CONFIRMED
    assert replace(CONFIGS[0].config, act_on=ActOn.CONFIRMED).act_on is ActOn.CONFIRMED
