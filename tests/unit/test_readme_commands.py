"""The README's commands work as written after `make demo` / `make test`: `polyhunter` is the
project's script in `.venv`, not on the PATH, so every command reads `uv run polyhunter ...`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_readme_command_runs_through_uv() -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    inline = re.sub(r"```.*?```", "", text, flags=re.S)
    commands = re.findall(r"`([^`]*\bpolyhunter [a-z-]+[^`]*)`", inline)
    assert commands, "the README shows polyhunter commands"
    bare = [c for c in commands if not c.startswith("uv run polyhunter ")]
    assert not bare, bare
    lines = [line for block in blocks for line in block.splitlines() if "polyhunter " in line]
    # a shell assignment of a command's output (`ADDRESS=$(uv run polyhunter ...)`) runs it the same way
    lines = [re.sub(r"^[A-Z_]+=\$\(", "", line) for line in lines]
    assert all(line.startswith("uv run polyhunter ") for line in lines), lines


def test_polyhunter_is_the_projects_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["polyhunter"] == "polyhunter.cli:main"
