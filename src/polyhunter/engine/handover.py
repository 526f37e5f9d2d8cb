"""What the engine of a cluster worker keeps of a follower partition's followers, and what it does when
the partition moves (cluster/worker.py calls `take` before the partition's consumer hands on its first
signal, and `release` once its consumer stopped).

While a worker owns a partition its engine keeps, per follower, state that another worker may have
moved meanwhile: the configs' exposure per market and shares per token (`FollowerExposure`), the
cached funds (`FollowerFunds`), the circuit breakers (`SharedBreakers`) and what an executor keeps in
process (a paper account). On `release` the cached state is dropped; on `take` it is dropped too and
read again from where it lives: the exposure from the store's EXECUTED copies, the breakers from the
coordinator (at their next use; open ones the coordinator lost are rebuilt from the store's recent
FAILED copies), the funds from the venue (at their next use), the executor's state
from the store (`reload`: the paper accounts). The daily caps need nothing: they live in the
coordinator, rebuilt from the store when lost (guard.py). Holds of copies still running here are
released when those copies end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from polyhunter.engine.copy_engine import CopyEngine
from polyhunter.engine.exposure_seed import seed_exposure
from polyhunter.engine.intake import ConfigScope
from polyhunter.log import get_logger
from polyhunter.ports.store import CopyStore

log = get_logger(__name__)

Reload = Callable[[list[int]], Awaitable[None]]  # these followers' in-process executor state, re-read


class PartitionHandover:
    def __init__(
        self,
        engine: CopyEngine,
        store: CopyStore,
        followers: Callable[[], Iterable[int]],
        reloads: Sequence[Reload] = (),
    ) -> None:
        """`followers`: the user ids this process knows (a partition's are those its scope accepts)."""
        self._engine = engine
        self._store = store
        self._followers = followers
        self._reloads = tuple(reloads)
        self.takes = 0
        self.releases = 0

    def release(self, scope: ConfigScope) -> None:
        """Forget the partition's followers' cached state (another worker owns them now)."""
        self._drop(scope)
        self.releases += 1

    def _drop(self, scope: ConfigScope) -> None:
        engine = self._engine
        engine.exposure.drop_users(scope)
        engine.funds.forget_users(scope)
        engine.guard.breakers.forget(scope)

    async def take(self, scope: ConfigScope) -> None:
        """Read the partition's followers' state again from where it lives (raises if the store cannot
        be read: the consumer retries before it reads the stream)."""
        self._drop(scope)
        users = sorted(u for u in self._followers() if scope(u))
        await seed_exposure(self._engine.exposure, self._store, users)
        breakers = self._engine.guard.breakers
        now = datetime.now(UTC)
        since = now - timedelta(milliseconds=breakers.cooldown_ms)
        await breakers.rebuild(await self._store.failing_configs(users, since, breakers.threshold), now)
        for reload in self._reloads:
            await reload(users)
        self.takes += 1
        log.info("partition state read again", followers=len(users))
