"""One config's failure stays with that config (issue 13 item 2): planning a config's copy isolated
from the others, and pausing a config with the reason of an operator-needed error.

The engine branches on the error's kind (domain/errors.py), never on its text. While planning: a
`RetryableError` is retried with bounded backoff, then the copy is SKIPPED `PLANNING_UNAVAILABLE` (not
paused); anything else pauses the config and its copy is SKIPPED `CONFIG_PAUSED`. A paused config's
copies are SKIPPED `CONFIG_PAUSED` (planning.py) until an operator resumes it in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from polyhunter.domain.copy_config import CopyConfig, MarketRef
from polyhunter.domain.errors import RetryableError, pause_reason
from polyhunter.domain.signal import Signal
from polyhunter.domain.sizing import SizeDecision
from polyhunter.engine.copy_records import EngineStats
from polyhunter.engine.db_retry import with_backoff
from polyhunter.engine.planning import CONFIG_PAUSED, Planner, skipped_copy
from polyhunter.log import get_logger
from polyhunter.ports.store import CopyStore, NewCopy, StoredConfig

log = get_logger(__name__)

PLAN_ATTEMPTS = 3  # a config whose planning meets a retryable error is planned this often
PLANNING_UNAVAILABLE = "PLANNING_UNAVAILABLE"  # its retries ran out: the copy is SKIPPED, not paused

Plan = tuple[StoredConfig, NewCopy, SizeDecision]


class ConfigPauses:
    """Pauses configs in the store and remembers the paused configs this engine read or paused (what
    status shows)."""

    def __init__(self, store: CopyStore, stats: EngineStats, reread: Callable[[str], None]) -> None:
        self._store = store
        self._stats = stats
        self._reread = reread  # drop a leader's cached configs: the next signal reads them again
        self.paused: dict[int, tuple[str, str]] = {}  # config id -> (leader, reason)

    def note(self, leader: str, found: list[StoredConfig]) -> None:
        """Keep `paused` in step with the configs just read for `leader`."""
        for config_id in [i for i, (lead, _) in self.paused.items() if lead == leader]:
            del self.paused[config_id]
        for stored in found:
            if stored.paused_reason is not None:
                self.paused[stored.config.id] = (leader, stored.paused_reason)

    async def pause(self, cfg: CopyConfig, exc: BaseException) -> None:
        """Pause `cfg` with the reason of `exc` (operator-needed); its leader's configs are read again."""
        reason = pause_reason(exc)
        self._stats.paused += 1
        self.paused[cfg.id] = (cfg.leader, reason)
        log.error("config paused", config=cfg.id, user=cfg.user_id, leader=cfg.leader, reason=reason)
        try:
            await with_backoff(lambda: self._store.pause_config(cfg.id, reason, datetime.now(UTC)), "pause")
        except Exception:  # noqa: BLE001 - the copy already failed; the next error pauses it again
            log.exception("could not record the pause", config=cfg.id)
        self._reread(cfg.leader)


async def plan_all(
    planner: Planner,
    pauses: ConfigPauses,
    signal: Signal,
    configs: list[StoredConfig],
    leader_before: Decimal | None,
    market: MarketRef | None,
) -> list[Plan]:
    """Every config's copy of `signal`, each planned isolated from the others. Once one config's
    retries ran out, the rest of the signal is tried once each (the signal waits for one backoff, not
    one per config)."""
    plans: list[Plan] = []
    attempts = PLAN_ATTEMPTS
    for stored in configs:
        plan = await _plan_one(planner, pauses, signal, stored, leader_before, market, attempts)
        if plan[1].reason == PLANNING_UNAVAILABLE:
            attempts = 1
        plans.append(plan)
    return plans


async def _plan_one(
    planner: Planner,
    pauses: ConfigPauses,
    signal: Signal,
    stored: StoredConfig,
    leader_before: Decimal | None,
    market: MarketRef | None,
    attempts: int,
) -> Plan:
    try:
        return await with_backoff(
            lambda: planner.plan(signal, stored, leader_before, market), "plan", attempts=attempts
        )
    except RetryableError as exc:
        log.warning("planning unavailable", signal=signal.key, config=stored.config.id, error=str(exc))
        reason = PLANNING_UNAVAILABLE
    except Exception as exc:  # noqa: BLE001 - one config's poison must not sink the signal
        log.exception("planning failed; pausing the config", signal=signal.key, config=stored.config.id)
        await pauses.pause(stored.config, exc)
        reason = CONFIG_PAUSED
    return stored, skipped_copy(signal, stored, reason), SizeDecision(Decimal(0), Decimal(0))
