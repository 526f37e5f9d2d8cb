"""`polyhunter config paused` lists the configs an operator-needed error paused (follower, leader,
reason); `polyhunter config resume ID` clears the pause, and says so when there is none."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.copy_store import SqlCopyStore
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from tests.support.store_factories import new_config

pytestmark = pytest.mark.integration


async def _paused_config(db: DbSettings) -> tuple[int, int, bool]:
    """A paused config, another one not paused; (paused id, other id, whether it reads back paused)."""
    await migrate.upgrade(db)
    engine = create_engine(db, pooled=False)
    try:
        sessions = create_session_factory(engine)
        async with unit_of_work(sessions) as s:
            paused, other = await new_config(s), await new_config(s)
        store = SqlCopyStore(sessions)
        await store.pause_config(paused.config.id, "AUTH_REFUSED: HTTP 401: bad key", datetime.now(UTC))
        again = await store.config(paused.config.id, paused.config.version)
        return paused.config.id, other.config.id, again is not None and again.paused_reason is not None
    finally:
        await engine.dispose()


async def _still_paused(db: DbSettings) -> list[int]:
    engine = create_engine(db, pooled=False)
    try:
        async with create_session_factory(engine)() as s:
            return [p.config_id for p in await CopyConfigRepository(s).paused()]
    finally:
        await engine.dispose()


def test_list_and_resume_paused_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    monkeypatch.delenv("POLYHUNTER_CONFIG", raising=False)
    monkeypatch.setenv("POLYHUNTER__DB__URL", url)
    db = DbSettings(url=url)
    paused_id, other_id, reads_back = asyncio.run(_paused_config(db))
    assert reads_back
    runner = CliRunner()

    listed = runner.invoke(app, ["config", "paused"])
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.strip().splitlines()
    assert line.startswith(f"{paused_id}\t")
    assert line.endswith("\tAUTH_REFUSED: HTTP 401: bad key")

    not_paused = runner.invoke(app, ["config", "resume", str(other_id)])
    assert not_paused.exit_code == 1
    assert "is not paused" in not_paused.output

    resumed = runner.invoke(app, ["config", "resume", str(paused_id)])
    assert resumed.exit_code == 0, resumed.output
    assert asyncio.run(_still_paused(db)) == []
    assert runner.invoke(app, ["config", "paused"]).output.strip() == "no paused configs"
