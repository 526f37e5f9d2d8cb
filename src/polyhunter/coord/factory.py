"""Build the configured Coordinator; fall back to memory (with a warning) when Redis is unreachable.

Redis keys are prefixed ``<coord.key_prefix>:<deployment id>``: the id comes from the deployment's
database (store/deployment.py), so every process of one deployment shares its keys and two
deployments on one Redis never see each other's.

The Redis pool is sized together with the engine (`redis_pool_size`): every copy executing at once
(`signals_in_flight` signals x `fanout_concurrency` copies each) may want a connection for its
guardrail counters, and every background hand-off of the ingest mux one for the shared dedup. Past
`REDIS_POOL_CAP` more connections only load Redis: the pool blocks (callers wait their turn, FIFO) and
the engine's bounded intake bounds how many wait.
"""

from __future__ import annotations

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.coord.redis_coord import DEFAULT_MAX_CONNECTIONS, RedisCoordinator
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.settings import CoordSettings, Settings

log = get_logger(__name__)


REDIS_POOL_CAP = 512
MUX_HAND_OFFS = 256  # the ingest mux's background hand-offs (ingest/mux.py background_limit)
HOUSEKEEPING = 4  # /health's PING, the PENDING sweep's refunds, seeding at start


def redis_pool_size(settings: Settings) -> int:
    """`coord.redis_max_connections`, or (0) the connections the engine and the mux can use at once,
    capped at REDIS_POOL_CAP."""
    if settings.coord.redis_max_connections:
        return settings.coord.redis_max_connections
    e = settings.engine
    demand = e.signals_in_flight * e.fanout_concurrency + MUX_HAND_OFFS + HOUSEKEEPING
    return min(demand, REDIS_POOL_CAP)


def redis_key_prefix(settings: CoordSettings, deployment_id: str) -> str:
    return f"{settings.key_prefix}:{deployment_id}" if deployment_id else settings.key_prefix


async def make_coordinator(
    settings: CoordSettings,
    *,
    deployment_id: str = "",
    allow_fallback: bool = False,
    max_connections: int | None = None,
) -> Coordinator:
    """`max_connections`: the Redis pool's size (`redis_pool_size` of the whole settings); default
    `coord.redis_max_connections`, or 64 if that is 0 (sized from the engine)."""
    if settings.backend == "memory":
        return MemoryCoordinator()
    size = max_connections or settings.redis_max_connections or DEFAULT_MAX_CONNECTIONS
    coord = RedisCoordinator(
        settings.redis_url,
        redis_key_prefix(settings, deployment_id),
        max_connections=size,
        pool_timeout_s=settings.redis_pool_timeout_s,
    )
    try:
        await coord.ping()
    except OSError as exc:
        await coord.close()
        if not allow_fallback:
            raise
        log.warning("redis unreachable, using in-memory coordination", error=str(exc))
        return MemoryCoordinator()
    return coord
