"""Build the configured Coordinator; fall back to memory (with a warning) when Redis is unreachable.

Redis keys are prefixed ``<coord.key_prefix>:<deployment id>``: the id comes from the deployment's
database (store/deployment.py), so every process of one deployment shares its keys and two
deployments on one Redis never see each other's.
"""

from __future__ import annotations

from polyhunter.coord.memory import MemoryCoordinator
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.log import get_logger
from polyhunter.ports.coordinator import Coordinator
from polyhunter.settings import CoordSettings

log = get_logger(__name__)


def redis_key_prefix(settings: CoordSettings, deployment_id: str) -> str:
    return f"{settings.key_prefix}:{deployment_id}" if deployment_id else settings.key_prefix


async def make_coordinator(
    settings: CoordSettings, *, deployment_id: str = "", allow_fallback: bool = False
) -> Coordinator:
    if settings.backend == "memory":
        return MemoryCoordinator()
    coord = RedisCoordinator(settings.redis_url, redis_key_prefix(settings, deployment_id))
    try:
        await coord.ping()
    except OSError as exc:
        await coord.close()
        if not allow_fallback:
            raise
        log.warning("redis unreachable, using in-memory coordination", error=str(exc))
        return MemoryCoordinator()
    return coord
