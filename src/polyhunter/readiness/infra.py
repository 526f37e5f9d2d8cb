"""The database (reachable, at the newest migration), Redis (PING, the deployment's key prefix) and
the chain's JSON-RPC node (the chain id of the settings, a head that advances)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError
from polyhunter.coord.factory import redis_key_prefix
from polyhunter.coord.redis_coord import RedisCoordinator
from polyhunter.health import CheckStatus, database_check
from polyhunter.readiness.checks import CheckResult, Status, failed, one_line, passed, skipped
from polyhunter.secretbox import MasterKeyMissingError, secret_box_from_settings
from polyhunter.settings import DbSettings, Settings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine
from polyhunter.store.master_key import holds_encrypted_secrets
from polyhunter.store.models import Deployment

HEAD_WAIT_S = 5.0  # Polygon makes a block every ~2 s: a head that has not moved in 5 s is stuck
HEAD_POLL_S = 0.5


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _exists(path: Path) -> bool:
    return path.exists()


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL that does not exist yet (connecting would create it)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else path


async def check_database(db: DbSettings, *, need_head: bool = True) -> CheckResult:
    """Reachable and (with `need_head`) at the newest migration; `polyhunter run` migrates on start, so
    its pre-start check only needs the database to answer."""
    name = "database"
    where = _where(db.url)
    missing = _missing_sqlite_file(db.url)
    if missing is not None:
        if need_head:
            return failed(
                name, f"no database at {missing} yet", "run `polyhunter db upgrade` (or set db.url)"
            )
        return passed(name, f"{missing} does not exist yet: it is created and migrated on start")
    if not need_head:
        return await _answers(db, where)
    try:
        heads = await migrate.current(db)
    except (SQLAlchemyError, OSError) as exc:
        return failed(name, f"unreachable ({where}: {one_line(exc)})", "start the database or set db.url")
    head = migrate.head_revision()
    at = ", ".join(heads) or "base (never migrated)"
    if heads == (head,):
        return passed(name, f"{where} at {at}")
    if head in heads or not heads or _known(heads):
        return failed(name, f"{where} at {at}, newest is {head}", "run `polyhunter db upgrade`")
    return failed(
        name,
        f"{where} at {at}, a revision this code does not ship",
        "run the code that migrated this database",
    )


async def _answers(db: DbSettings, where: str) -> CheckResult:
    """The database answers `SELECT 1` (the /health probe)."""
    engine = create_engine(db, pooled=False)
    try:
        result = await database_check(engine).result()
    finally:
        await engine.dispose()
    if result.status is CheckStatus.DOWN:
        return failed(
            "database", f"unreachable ({where}: {result.detail})", "start the database or set db.url"
        )
    return passed("database", f"{where} answers ({result.detail})")


def _known(heads: tuple[str, ...]) -> bool:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    try:
        return all(script.get_revision(h) is not None for h in heads)
    except CommandError:  # an unknown revision id
        return False


async def _deployment_id(db: DbSettings) -> str:
    """This deployment's id if the database has one (read only: never created here)."""
    if _missing_sqlite_file(db.url) is not None:
        return ""
    engine = create_engine(db, pooled=False)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(select(Deployment.deployment_id).where(Deployment.id == 1))
    except (SQLAlchemyError, OSError):
        return ""
    finally:
        await engine.dispose()
    return str(found) if found else ""


async def check_redis(settings: Settings) -> CheckResult:
    name = "coord.redis"
    coord = settings.coord
    if coord.backend != "redis":
        return skipped(name, f"coord.backend = {coord.backend}: no Redis to check")
    where = _where(coord.redis_url)
    deployment = await _deployment_id(settings.db)
    prefix = redis_key_prefix(coord, deployment)
    client = RedisCoordinator(coord.redis_url, prefix)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - redis-py's errors are not all OSError
        return failed(name, f"unreachable ({where}: {one_line(exc)})", "start Redis or set coord.redis_url")
    finally:
        await client.close()
    note = "" if deployment else " (no deployment id yet: the database is not migrated)"
    return passed(name, f"PONG from {where}, keys under {prefix}:{note}")


def chain_used(settings: Settings) -> bool:
    """The chain is checked when a node is set (`venue.chain_rpc_url` / `chain_rpc_urls`): the chain
    source reads it then (HYBRID with `ingest.chain_in_hybrid`, CHAIN_ONLY), and a node set on purpose
    is checked whatever the mode."""
    return bool(settings.venue.rpc_urls)


async def check_chain(settings: Settings, timeout_s: float) -> CheckResult:
    """Every node the settings name answers for the right chain with a moving head; the first that does
    not fails the check (the client fails over between them at run time)."""
    name = "venue.chain_rpc"
    if not chain_used(settings):
        return skipped(name, "no chain node set (venue.chain_rpc_url): the chain source does not run")
    results = await asyncio.gather(
        *(_check_node(settings, url, timeout_s) for url in settings.venue.rpc_urls)
    )
    failed_one = next((r for r in results if r.status is not Status.PASS), None)
    if failed_one is not None:
        return failed_one
    return passed(name, "; ".join(r.reason for r in results))


async def _check_node(settings: Settings, url: str, timeout_s: float) -> CheckResult:
    name = "venue.chain_rpc"
    venue = settings.venue
    fix = "start the node or set venue.chain_rpc_url"
    timeout_ms = max(100, int(timeout_s * 1000))
    async with JsonRpcClient(url, timeout_ms=timeout_ms, max_retries=0) as rpc:
        try:
            chain_id = await asyncio.wait_for(rpc.chain_id(), timeout_s)
            if chain_id != venue.chain_id:
                return failed(
                    name,
                    f"{url} serves chain {chain_id}, the settings say {venue.chain_id}",
                    "point venue.chain_rpc_url at the right chain or set venue.chain_id",
                )
            first = head = await asyncio.wait_for(rpc.block_number(), timeout_s)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + HEAD_WAIT_S
            while head <= first and loop.time() < deadline:
                await asyncio.sleep(HEAD_POLL_S)
                head = await asyncio.wait_for(rpc.block_number(), timeout_s)
        except TimeoutError:
            return failed(name, f"no answer from {url} within {timeout_s:g} s", fix)
        except (RpcTransportError, RpcError) as exc:
            reason = one_line(exc)
            if "Connect call failed" in reason or "Connection refused" in reason:
                reason = f"connection refused at {url}"
            else:
                reason = f"{reason} at {url}"
            return failed(name, f"unreachable ({reason})", fix)
    if head <= first:
        return failed(
            name,
            f"chain {chain_id}: head stuck at block {first} for {HEAD_WAIT_S:g} s",
            "use a node that is synced (a local anvil mines only on demand: anvil --block-time 1)",
        )
    return passed(name, f"chain {chain_id} at {url}, head {first} -> {head}")


async def master_key_problem(settings: Settings) -> MasterKeyMissingError | None:
    """The error `polyhunter run` would stop on: no master key, while the database holds secrets
    encrypted with one (read only: no key file is made here)."""
    secrets = settings.secrets
    key_file = Path(secrets.master_key_file)
    has_key = secrets.master_key is not None and bool(secrets.master_key.get_secret_value())
    if has_key or _exists(key_file) or _missing_sqlite_file(settings.db.url) is not None:
        return None
    engine = create_engine(settings.db, pooled=False)
    try:
        async with AsyncSession(engine) as session:
            held = await holds_encrypted_secrets(session)
    except (SQLAlchemyError, OSError):
        return None  # not migrated yet (or unreachable: the database check says so)
    finally:
        await engine.dispose()
    if not held:
        return None
    try:
        secret_box_from_settings(None, str(key_file), create=False)
    except MasterKeyMissingError as exc:
        return exc
    return None


async def check_master_key(settings: Settings) -> CheckResult:
    name = "secrets.master_key"
    problem = await master_key_problem(settings)
    if problem is not None:
        return failed(name, one_line(problem), "restore the key file or set secrets.master_key")
    if settings.secrets.master_key is not None:
        return passed(name, "set (secrets.master_key)")
    key_file = Path(settings.secrets.master_key_file)
    if _exists(key_file):
        return passed(name, f"key file {key_file}")
    return passed(name, f"key file {key_file} is created on first run (no secrets stored yet)")
