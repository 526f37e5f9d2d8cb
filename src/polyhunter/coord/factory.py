"""Build the configured Coordinator; fall back to memory (with a warning) when Redis is unreachable."""

from __future__ import annotations

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.settings import CoordSettings

log = get_logger(__name__)


async def make_coordinator(settings: CoordSettings, *, allow_fallback: bool = False) -> Coordinator:
    if settings.backend == "memory":
        return MemoryCoordinator()
    coord = RedisCoordinator(settings.redis_url, settings.key_prefix)
    try:
        await coord.ping()
    except OSError as exc:
        await coord.close()
        if not allow_fallback:
            raise
        log.warning("redis unreachable, using in-memory coordination", error=str(exc))
        return MemoryCoordinator()
    return coord
