"""docs/runbook.md names only commands and options that exist: every `polyhunter ...` line of its
fenced shell blocks resolves to a command of the typer app, each of its `--options` is one of that
command's, and `--help` of the command exits 0."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from polyhunter.cli import app

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
FENCE = re.compile(r"^\s*```(sh|bash|shell|console)\s*\n(.*?)^\s*```", re.MULTILINE | re.DOTALL)


def runbook_command_lines() -> list[str]:
    lines = []
    for match in FENCE.finditer(RUNBOOK.read_text()):
        for raw in match.group(2).splitlines():
            line = raw.strip().removeprefix("$ ")
            if line.startswith("polyhunter "):
                lines.append(line)
    return lines


def is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def resolve(tokens: list[str]) -> tuple[list[str], Any]:
    """The command path the tokens name (`["config", "resume"]`) and its (typer's click) command."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    for token in tokens:
        if not is_group(command) or token not in command.commands:
            break
        command = command.commands[token]
        path.append(token)
    return path, command


def test_the_runbook_has_commands() -> None:
    lines = runbook_command_lines()
    assert len(lines) >= 10
    names = {" ".join(resolve(shlex.split(line)[1:])[0]) for line in lines}
    for expected in (
        "doctor",
        "config check",
        "config show",
        "run",
        "config paused",
        "config resume",
        "archive",
    ):
        assert expected in names


@pytest.mark.parametrize("line", runbook_command_lines())
def test_each_runbook_command_exists(line: str) -> None:
    tokens = shlex.split(line)[1:]
    path, command = resolve(tokens)
    assert path, f"{line}: no such polyhunter command"
    runs_alone = getattr(command, "invoke_without_command", False)  # `polyhunter sim` serves by itself
    assert runs_alone or not is_group(command), f"{line}: {' '.join(path)} needs a subcommand"
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}  # --x/--no-x
    for token in tokens[len(path) :]:
        if token.startswith("-"):
            assert token.split("=", 1)[0] in known, f"{line}: {token} is not an option of {' '.join(path)}"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
