"""Provisioning a large run file reads what exists in a few queries (a cluster worker provisions the whole
file at start-up: 1,000 followers took over a minute at ~6 queries each), and stays exact: the same file
again changes nothing, a changed copy adds a version, a removed follower's config is deactivated."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, select

from polyhunter.runtime.provision import provision
from polyhunter.runtime.run_file import load_run_file
from polyhunter.secretbox import SecretBox, generate_master_key
from polyhunter.settings import DbSettings
from polyhunter.store import migrate
from polyhunter.store.database import create_engine, create_session_factory, unit_of_work
from polyhunter.store.models import CopyConfig

LEADERS = ["0x" + f"{i:02x}" * 20 for i in range(1, 6)]


def _run_file(path: Path, followers: int, sizing: dict[int, str] | None = None) -> Path:
    sizing = sizing or {}
    path.write_text(
        "\n".join(
            f'[[followers]]\nname = "f{i}"\ncustody = "PAPER"\n[[followers.copies]]\n'
            f'leader = "{LEADERS[i % len(LEADERS)]}"\nsizing = "FIXED_USDC"\nsizing_value = "{sizing.get(i, "5")}"\n'
            for i in range(followers)
        )
    )
    return path


async def test_a_second_start_reads_in_a_few_queries_and_changes_nothing(tmp_path: Path) -> None:
    db = DbSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await migrate.upgrade(db)
    engine = create_engine(db)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        sessions = create_session_factory(engine)
        box = SecretBox(generate_master_key())
        run = load_run_file(_run_file(tmp_path / "run.toml", 600))
        first = await provision(sessions, box, run)
        statements.clear()
        again = await provision(sessions, box, run)
        assert [p.config_ids for p in again] == [p.config_ids for p in first]
        assert [p.wallet.id for p in again] == [p.wallet.id for p in first]
        writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert writes == [], writes[:3]
        assert len(statements) <= 12, len(statements)  # 600 followers: a few chunked reads, not 3,600

        # one copy changed, the last 100 followers gone from the file
        changed = load_run_file(_run_file(tmp_path / "run2.toml", 500, {7: "9"}))
        third = await provision(sessions, box, changed)
        assert third[7].config_ids == first[7].config_ids
        async with unit_of_work(sessions) as session:
            rows = {c.id: c for c in await session.scalars(select(CopyConfig))}
        assert rows[first[7].config_ids[0]].current_version == 2
        assert {rows[p.config_ids[0]].current_version for i, p in enumerate(first[:500]) if i != 7} == {1}
        assert all(rows[p.config_ids[0]].active for p in first[:500])
        assert not any(rows[p.config_ids[0]].active for p in first[500:])
        statements.clear()
        fourth = await provision(sessions, box, load_run_file(tmp_path / "run.toml"))  # they come back
        assert [p.config_ids for p in fourth] == [p.config_ids for p in first]
        async with unit_of_work(sessions) as session:
            assert all(c.active for c in await session.scalars(select(CopyConfig)))
    finally:
        await engine.dispose()
