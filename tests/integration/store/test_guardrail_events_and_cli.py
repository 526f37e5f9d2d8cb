"""Guardrail events are recorded with their JSON detail; `polyhunter db` migrates the configured database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from polyhunter.cli import app
from polyhunter.domain.states import GuardrailDecision
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.guardrail_events import GuardrailEventRepository
from tests.support.store_factories import new_config, new_key

pytestmark = pytest.mark.integration


async def test_guardrail_event_recorded(sessions: async_sessionmaker[AsyncSession]) -> None:
    key = new_key()
    async with unit_of_work(sessions) as s:
        stored = await new_config(s)
        await GuardrailEventRepository(s).record(
            "USER_DAILY_CAP",
            GuardrailDecision.VETO,
            detail={"notional": "25.5", "spent_today": "4990"},
            user_id=stored.config.user_id,
            config_id=stored.config.id,
            config_version=stored.config.version,
            signal_key=key,
        )
    async with unit_of_work(sessions) as s:
        events = await GuardrailEventRepository(s).for_signal(key)
    assert [(e.rule, e.decision, e.detail) for e in events] == [
        ("USER_DAILY_CAP", GuardrailDecision.VETO, {"notional": "25.5", "spent_today": "4990"})
    ]


def test_db_commands_on_default_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no settings at all, the default URL creates ./var and the database in it."""
    monkeypatch.chdir(tmp_path)
    for name in ("POLYHUNTER_CONFIG", "POLYHUNTER__DB__URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    before = runner.invoke(app, ["db", "current"])
    assert before.exit_code == 0, before.output
    assert "at base, behind" in before.output

    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert (tmp_path / "var" / "polyhunter.db").exists()
    assert "up to date" in runner.invoke(app, ["db", "current"]).output

    down = runner.invoke(app, ["db", "downgrade"])  # one step: the revision before head
    assert down.exit_code == 0, down.output
    assert "at base" not in down.output
    assert "behind" in runner.invoke(app, ["db", "current"]).output

    bottom = runner.invoke(app, ["db", "downgrade", "base"])
    assert bottom.exit_code == 0, bottom.output
    assert "at base" in bottom.output

    again = runner.invoke(app, ["db", "downgrade"])  # nothing below base: a clean error, exit 1
    assert again.exit_code == 1
    assert "error:" in again.output
