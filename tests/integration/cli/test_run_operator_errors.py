"""An operator's first-hour mistakes on `polyhunter run`: each is one line on stderr and exit code 2,
never a traceback (issue 14 point 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "polyhunter.cli", "run"]
LEADER = "0x1111111111111111111111111111111111111111"
COPY = f'[[followers.copies]]\nleader = "{LEADER}"\nsizing = "FIXED_USDC"\nsizing_value = "2"\n'
EOA = f'[[followers]]\nname = "bob"\ncustody = "EOA"\nprivate_key_env = "BOB_KEY"\n{COPY}'
PAPER = f'[[followers]]\nname = "pp"\ncustody = "PAPER"\n{COPY}'


def _run(tmp: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    (tmp / "eoa.toml").write_text(EOA)
    (tmp / "paper.toml").write_text(PAPER)
    (tmp / "typo.toml").write_text("[engine]\nshutdwn_grace_s = 3\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    env.update(
        POLYHUNTER__DB__URL=f"sqlite+aiosqlite:///{tmp / 'x.db'}",
        POLYHUNTER__COORD__BACKEND="memory",
        POLYHUNTER__API__PORT="0",
        **extra_env,
    )
    return subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--config", "eoa.toml"), {"BOB_KEY": "abc"}, "BOB_KEY is not a private key"),
        (("--config", "missing.toml"), {}, "run file not found"),
        (("--config", "paper.toml", "--settings", "typo.toml"), {}, "engine.shutdwn_grace_s"),
        (("--config", "paper.toml", "--set", "venue.clob_url=http://127.0.0.1:1"), {}, "venue.clob"),
        (("--config", "paper.toml", "--set", "guardrails"), {}, "SECTION.KEY=VALUE"),
    ],
    ids=["bad-key", "missing-run-file", "settings-typo", "venue-unreachable", "set-without-equals"],
)
def test_operator_mistake_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    proc = _run(tmp_path, *args, **env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert says in lines[0], lines[0]
    assert proc.stdout == ""
